// The history of the Jepsen-style client tests and its checks. Writers write increasing
// counters to keys of their own (one write at a time per key, each awaited, so the last
// acknowledged value of a key is the value it must end with); readers read keys and
// record, per client, the values they saw in order. Checked: every acknowledged write is
// present at the end (a counter key holds its last acknowledged value, or a later one
// that was in flight when the workload stopped), and one client's reads of a key never go
// back in time.
import type { FlotillaClient } from '../../src/client-platform/index.js';
import { isFlotillaError } from '../../src/core/errors.js';

/** Name of the map the workloads write. */
export const JEPSEN_MAP = 'jepsen';

/** One acknowledged write, with the phase of the test it was acknowledged in. */
export interface Ack {
  readonly key: string;
  readonly value: number;
  readonly phase: string;
}

/** What one client saw: its acknowledged writes and, per key, its reads in order. */
export class History {
  readonly acks: Ack[] = [];
  /** Per key, the last acknowledged value. */
  readonly acked = new Map<string, number>();
  readonly reads = new Map<string, number[]>();
  readFailures = 0;

  /** Phase attached to acknowledgements from now on (e.g. `before`, `split`, `healed`). */
  constructor(public phase = 'run') {}

  ack(key: string, value: number): void {
    this.acks.push({ key, value, phase: this.phase });
    this.acked.set(key, value);
  }

  read(key: string, value: number | undefined): void {
    const reads = this.reads.get(key) ?? [];
    reads.push(value ?? 0);
    this.reads.set(key, reads);
  }

  /** Acknowledged writes so far: of keys starting with `prefix`, in `phase` if given. */
  count(prefix = '', phase?: string): number {
    return this.acks.filter((a) => a.key.startsWith(prefix) && (phase === undefined || a.phase === phase)).length;
  }
}

/** Reads `key` through `client` into `history`; a failed read is counted, not thrown, unless the client was closed (the workload is over). */
export async function recordRead(client: FlotillaClient, key: string, history: History): Promise<void> {
  try {
    history.read(key, await client.getMap<number>(JEPSEN_MAP).get(key));
  } catch (error) {
    if (isFlotillaError(error) && error.code === 'FLO_NODE_STOPPED') throw error;
    history.readFailures++;
  }
}

/**
 * Writes increasing counters to `keys` in turn until `running()` is false, reading each
 * key back after its write and, through `alsoRead`, a key another writer writes.
 */
export async function writer(client: FlotillaClient, keys: readonly string[], history: History, running: () => boolean, alsoRead: (seq: number) => string | undefined = () => undefined): Promise<void> {
  const map = client.getMap<number>(JEPSEN_MAP);
  let seq = 0;
  while (running()) {
    const key = keys[seq % keys.length]!;
    const value = ++seq;
    await map.set(key, value);
    history.ack(key, value);
    await recordRead(client, key, history);
    const other = alsoRead(seq);
    if (other !== undefined) await recordRead(client, other, history);
  }
}

/** Reads `keys` in turn until `running()` is false. */
export async function reader(client: FlotillaClient, keys: readonly string[], history: History, running: () => boolean): Promise<void> {
  for (let i = 0; running(); i++) await recordRead(client, keys[i % keys.length]!, history);
}

/** Reads where one client saw a key's counter go down. */
export function backwardReads(histories: readonly History[]): string[] {
  const out: string[] = [];
  for (const [i, h] of histories.entries()) {
    for (const [key, reads] of h.reads) {
      for (let r = 1; r < reads.length; r++) if (reads[r]! < reads[r - 1]!) out.push(`history ${i} ${key}: read ${reads[r - 1]} then ${reads[r]}`);
    }
  }
  return out;
}

/**
 * Keys whose final value (read by `finalOf`, through a client that saw nothing before)
 * lost an acknowledged write: absent, below the last acknowledged value, or above it by
 * more than `inFlightMax` writes that were sent but not acknowledged when the workload stopped.
 */
export async function lostWrites(histories: readonly History[], finalOf: (key: string) => Promise<number | undefined>, inFlightMax = 0): Promise<string[]> {
  const lost: string[] = [];
  for (const h of histories) {
    for (const [key, acked] of h.acked) {
      const final = await finalOf(key);
      if (final === undefined || final < acked || final > acked + inFlightMax) lost.push(`${key}: acked ${acked}, final ${final}`);
    }
  }
  return lost;
}
