/**
 * The membership record in the data directory: that this node was a member of its cluster,
 * and the peer addresses it last knew. A restarted member reads it to rejoin that cluster
 * instead of forming a new one beside it (which would answer 404 for every existing key);
 * the node rewrites it whenever the members view changes, through a temporary file and a
 * rename, so a crash mid-write leaves the old record or the new one, never half of one.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { Address, MembersViewData } from '../core/model.js';
import { parseSeed } from './listen-address.js';
import type { NodeLogger } from './service.js';

/** The record's file name inside the data directory. */
export const MEMBERSHIP_RECORD_FILE = 'membership.json';

/** Version of the record's layout; a record of another version is refused, not guessed at. */
export const MEMBERSHIP_RECORD_FORMAT = 1;

/**
 * Most peer addresses one record keeps. Every join attempt asks each of them, so this
 * bounds a restart's fan-out; the master's view lists the oldest members first, and those
 * are the likeliest still to be there.
 */
export const KNOWN_ADDRESSES_MAX = 32;

/** Largest record file read, in bytes (32 addresses take about 10 KiB). */
export const MEMBERSHIP_RECORD_BYTES_MAX = 64 * 1024;

/** What the record says. */
export interface MembershipRecord {
  readonly format: typeof MEMBERSHIP_RECORD_FORMAT;
  readonly clusterId: string;
  readonly nodeId: string;
  /** Cluster addresses of the other members in the last view this node saw, oldest member first. */
  readonly addresses: readonly Address[];
  /** Wall-clock time of the view, in ms since the epoch (for operators reading the file). */
  readonly savedAt: Millis;
}

/**
 * The record in `dataDir`, or undefined when there is none (a node that never joined).
 * Rejects with FLO_CONFIG_INVALID when the file cannot be read or is not a record: a node
 * that cannot tell whether it was a member must not guess.
 */
export async function readMembershipRecord(dataDir: string): Promise<MembershipRecord | undefined> {
  const path = join(dataDir, MEMBERSHIP_RECORD_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw unreadable(path, code ?? String(err));
  }
  if (Buffer.byteLength(text, 'utf8') > MEMBERSHIP_RECORD_BYTES_MAX) throw unreadable(path, `larger than ${MEMBERSHIP_RECORD_BYTES_MAX} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw unreadable(path, 'not JSON');
  }
  return parseRecord(raw, path);
}

function parseRecord(raw: unknown, path: string): MembershipRecord {
  if (typeof raw !== 'object' || raw === null) throw unreadable(path, 'not an object');
  const r = raw as Record<string, unknown>;
  if (r.format !== MEMBERSHIP_RECORD_FORMAT) throw unreadable(path, `format ${JSON.stringify(r.format)} is not ${MEMBERSHIP_RECORD_FORMAT}`);
  if (typeof r.clusterId !== 'string' || typeof r.nodeId !== 'string') throw unreadable(path, 'clusterId and nodeId must be strings');
  if (!Array.isArray(r.addresses) || r.addresses.length > KNOWN_ADDRESSES_MAX) throw unreadable(path, `addresses must be an array of at most ${KNOWN_ADDRESSES_MAX}`);
  const addresses: Address[] = [];
  for (const address of r.addresses as unknown[]) {
    try {
      addresses.push(parseSeed(address as string, 'addresses'));
    } catch {
      throw unreadable(path, `address ${JSON.stringify(address)} is not "host:port"`);
    }
  }
  const savedAt = typeof r.savedAt === 'number' && Number.isFinite(r.savedAt) ? r.savedAt : 0;
  return { format: MEMBERSHIP_RECORD_FORMAT, clusterId: r.clusterId, nodeId: r.nodeId, addresses, savedAt };
}

function unreadable(path: string, why: string): FlotillaError {
  return new FlotillaError('FLO_CONFIG_INVALID', `membership record ${path}: ${why}; remove the file only if this node's cluster is gone (or start with forceForm)`, { path });
}

/** How a node starts joining: through which addresses, and whether it may form a new cluster. */
export interface RejoinPlan {
  readonly seeds: readonly Address[];
  readonly formAllowed: boolean;
  /** Why the record was not used, when there is one that was not (for the start log). */
  readonly ignored?: string;
}

/**
 * The join of a node with `record`: the configured seeds plus the addresses it last knew,
 * without forming, when it was a member of this cluster with peers. A record of another
 * cluster id, one that knew no peer (this node was alone, so forming again is re-forming
 * its own cluster), or `forceForm` leaves the configured seeds and the usual rule.
 */
export function rejoinPlan(record: MembershipRecord | undefined, seeds: readonly Address[], clusterId: string, forceForm: boolean): RejoinPlan {
  if (record === undefined) return { seeds, formAllowed: true };
  if (forceForm) return { seeds, formAllowed: true, ignored: 'forceForm' };
  if (record.clusterId !== clusterId) return { seeds, formAllowed: true, ignored: `recorded for cluster ${record.clusterId}` };
  if (record.addresses.length === 0) return { seeds, formAllowed: true };
  return { seeds: [...new Set([...seeds, ...record.addresses])], formAllowed: false };
}

/** The peer addresses of `view` as a record keeps them: not this node, not the dead, bounded. */
export function knownAddresses(view: MembersViewData, selfNodeId: string): Address[] {
  const out: Address[] = [];
  for (const member of view.members) {
    if (member.nodeId === selfNodeId || member.status === 'dead' || out.includes(member.address)) continue;
    out.push(member.address);
    if (out.length === KNOWN_ADDRESSES_MAX) break;
  }
  return out;
}

/**
 * Keeps the record in step with the members view: one write at a time, and while one runs
 * only the newest view waits (older ones are superseded), so a burst of view changes costs
 * at most two writes. A failed write is logged and retried with the next view.
 */
export class MembershipRecorder {
  private readonly path: string;
  /** The addresses of the record on disk (or being written), to skip writes that change nothing. */
  private written: string | undefined;
  private next: MembershipRecord | undefined;
  private writing: Promise<void> | undefined;
  private sequence = 0;

  constructor(
    dataDir: string,
    private readonly clusterId: string,
    private readonly nodeId: string,
    private readonly log: NodeLogger,
    private readonly clock: () => Millis,
  ) {
    this.path = join(dataDir, MEMBERSHIP_RECORD_FILE);
  }

  /** Records `view` (from a ViewChanged event): writes unless its peer addresses are unchanged. */
  noteView(view: MembersViewData): void {
    const addresses = knownAddresses(view, this.nodeId);
    const key = addresses.join(',');
    if (key === this.written) return;
    this.written = key;
    this.next = { format: MEMBERSHIP_RECORD_FORMAT, clusterId: this.clusterId, nodeId: this.nodeId, addresses, savedAt: this.clock() };
    this.writing ??= this.drain();
  }

  /** Resolves once every noted view is on disk (or failed to be written). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async drain(): Promise<void> {
    for (let record = this.next; record !== undefined; record = this.next) {
      this.next = undefined;
      await this.write(record);
    }
    this.writing = undefined;
  }

  private async write(record: MembershipRecord): Promise<void> {
    const temp = `${this.path}.${process.pid}.${this.sequence++}.tmp`;
    try {
      const file = await open(temp, 'w', 0o600);
      try {
        await file.writeFile(`${JSON.stringify(record)}\n`);
        // On disk before the rename: after a power cut the name holds a whole record.
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
    } catch (err) {
      // The next view tries again; until then a restart works from the older record.
      this.written = undefined;
      await rm(temp, { force: true }).catch(() => undefined);
      this.log.warn({ path: this.path, error: (err as NodeJS.ErrnoException).code ?? String(err) }, 'membership record not written');
    }
  }
}
