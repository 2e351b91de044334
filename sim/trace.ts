/**
 * A running digest of everything that happened in a simulation (deliveries, events,
 * lifecycle changes), so two runs can be compared for determinism without keeping
 * millions of records in memory.
 */
import { createHash, type Hash } from 'node:crypto';

/** Records kept verbatim for debugging a diverging run; older ones are discarded. */
export const TRACE_TAIL_MAX = 200;

/** Incremental SHA-256 over trace records, plus the last few records in clear. */
export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private readonly tail: string[] = [];

  /** Append one record. */
  record(kind: string, at: number, ...parts: readonly unknown[]): void {
    let line = `${kind} ${at}`;
    for (const p of parts) line += ' ' + (typeof p === 'string' ? p : stableJson(p));
    this.hash.update(line);
    this.hash.update('\n');
    this.count++;
    this.tail.push(line);
    if (this.tail.length > TRACE_TAIL_MAX) this.tail.shift();
  }

  /** Number of records so far. */
  get records(): number {
    return this.count;
  }

  /** The most recent records, oldest first. */
  recent(): readonly string[] {
    return this.tail;
  }

  /** Hex digest of every record so far (the trace stays usable afterwards). */
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}

/** JSON that also accepts bigint, Map and Set, so any message or event can be traced. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Map) return { map: [...v.entries()] };
    if (v instanceof Set) return { set: [...v.values()] };
    if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('base64') };
    return v;
  }) ?? 'undefined';
}
