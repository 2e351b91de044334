// What the real-network tests ask of a cluster through its nodes' admin APIs: views,
// tables, and acknowledged KV writes readable everywhere. Each check returns what is still
// wrong (a sentence) or undefined, so a wait can report the last reason on its deadline.
import { partitionOf } from '../../src/core/partition.js';
import type { NetLab } from './netns.js';

/** A node's members view as `/cluster/members` answers it. */
export interface ViewAnswer {
  readonly version: number;
  readonly master?: string;
  readonly members: readonly { nodeId: string; state: string; joinVersion: number | null }[];
}

/** A node's partition table as `/cluster/partitions` answers it. */
export interface TableAnswer {
  readonly version: number;
  readonly partitionCount: number;
  readonly partitions: readonly { partition: number; owner: string; backups: string[]; epoch: number }[];
}

/** An acknowledged KV write. */
export interface AckedWrite {
  readonly key: string;
  readonly value: string;
  /** Wall time the acknowledgement arrived (ms). */
  readonly ackedAt: number;
}

/** Polls `check` until it returns undefined; throws with its last reason after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<string | undefined>, intervalMs = 100): Promise<number> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  for (;;) {
    let reason: string | undefined;
    try {
      reason = await check();
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    if (reason === undefined) return Date.now() - start;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${reason}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function viewOf(lab: NetLab, name: string): Promise<ViewAnswer> {
  const answer = await lab.admin(name, 'GET', '/cluster/members');
  if (answer.status !== 200) throw new Error(`${name}: /cluster/members answered ${answer.status}`);
  return answer.body as ViewAnswer;
}

/** Whether `name` reports the quorum verdict that makes it refuse writes (`flotilla_quorum_state{state="partitioned"} 1`). */
export async function isReadOnly(lab: NetLab, name: string): Promise<boolean> {
  const answer = await lab.admin(name, 'GET', '/metrics');
  if (answer.status !== 200 || typeof answer.body !== 'string') throw new Error(`${name}: /metrics answered ${answer.status}`);
  return /^flotilla_quorum_state\{[^}]*state="partitioned"[^}]*\} 1$/m.test(answer.body);
}

export async function tableOf(lab: NetLab, name: string): Promise<TableAnswer> {
  const answer = await lab.admin(name, 'GET', '/cluster/partitions');
  if (answer.status !== 200) throw new Error(`${name}: /cluster/partitions answered ${answer.status}`);
  return answer.body as TableAnswer;
}

/**
 * Why `group` is not one cluster of exactly its own nodes: each lists exactly `group` as
 * live members under one master from `group`, and all hold one complete table (same
 * version, every partition owned by a member of `group`, every member owning some).
 */
export async function clusterProblem(lab: NetLab, group: readonly string[]): Promise<string | undefined> {
  const names = new Set(group);
  const masters = new Set<string | undefined>();
  const versions = new Set<number>();
  for (const name of group) {
    const view = await viewOf(lab, name);
    // In the master's view (a join version) and alive here.
    const live = view.members.filter((m) => m.state === 'alive' && m.joinVersion !== null).map((m) => m.nodeId);
    if (live.length !== group.length || !live.every((id) => names.has(id))) return `${name}'s view (v${view.version}) has ${live.join(',')}`;
    masters.add(view.master);
    const table = await tableOf(lab, name);
    versions.add(table.version);
    const owners = new Set(table.partitions.map((p) => p.owner));
    if (table.partitions.length !== table.partitionCount) return `${name} has ${table.partitions.length} of ${table.partitionCount} partitions`;
    for (const owner of owners) if (!names.has(owner)) return `${name}'s table (v${table.version}) has partitions owned by ${owner}`;
    for (const member of group) if (!owners.has(member)) return `${name}'s table (v${table.version}) gives ${member} nothing`;
  }
  if (masters.size !== 1 || !names.has([...masters][0]!)) return `masters ${[...masters].join(',')}`;
  if (versions.size !== 1) return `table versions ${[...versions].join(',')}`;
  return undefined;
}

/**
 * What is wrong with the acknowledged writes: how many reads fail at each reader and, for
 * the first key read wrong, every reader's answer and what each node's table says of its
 * partition (owner, backups, epoch), so one failed run tells a lost write from a stale route.
 */
export async function unreadable(lab: NetLab, readers: readonly string[], writes: ReadonlyMap<string, string>): Promise<string | undefined> {
  const wrongAt = new Map<string, number>();
  let first: { key: string; value: string } | undefined;
  // Readers in parallel, each reading its keys one at a time: a check of a few hundred
  // keys on five nodes then takes a fifth of the time on a loaded machine, and a write that
  // arrives by a handover is seen by the next check rather than one a deadline later.
  await Promise.all(
    readers.map(async (reader) => {
      for (const [key, value] of writes) {
        const answer = await readKey(lab, reader, key);
        if (answer.status === 200 && answer.value === value) continue;
        wrongAt.set(reader, (wrongAt.get(reader) ?? 0) + 1);
        first ??= { key, value };
      }
    }),
  );
  if (first === undefined) return undefined;
  const partition = partitionOf(first.key);
  const seen: string[] = [];
  for (const reader of readers) {
    const answer = await readKey(lab, reader, first.key);
    const row = await tableOf(lab, reader).then(
      (t) => {
        const p = t.partitions.find((x) => x.partition === partition);
        return p === undefined ? `table v${t.version} lacks it` : `table v${t.version} owner ${p.owner} backups ${p.backups.join('+') || '-'} epoch ${p.epoch}`;
      },
      (err: Error) => err.message,
    );
    seen.push(`${reader} reads ${answer.status} ${JSON.stringify(answer.value ?? answer.body)} (${row})`);
  }
  const counts = [...wrongAt].map(([reader, n]) => `${reader} ${n}`).join(', ');
  return `reads wrong per reader: ${counts}; ${first.key} (partition ${partition}) expected ${first.value}: ${seen.join('; ')}`;
}

async function readKey(lab: NetLab, reader: string, key: string): Promise<{ status: number; value?: unknown; body?: unknown }> {
  const answer = await lab.admin(reader, 'GET', `/kv/${encodeURIComponent(key)}`).catch((err: Error) => ({ status: 0, body: err.message }));
  return { status: answer.status, value: (answer.body as { value?: unknown } | undefined)?.value, body: answer.body };
}

/**
 * Records, for every partition, the owner each node's table names at each epoch, and
 * reports the pairs where two nodes name different owners for one partition at one epoch.
 */
export class EpochLedger {
  private readonly owners = new Map<string, { owner: string; node: string; version: number }>();
  readonly conflicts: string[] = [];

  note(node: string, table: TableAnswer): void {
    for (const p of table.partitions) {
      if (p.owner === '') continue;
      const key = `${p.partition}@${p.epoch}`;
      const seen = this.owners.get(key);
      if (seen === undefined) this.owners.set(key, { owner: p.owner, node, version: table.version });
      else if (seen.owner !== p.owner && this.conflicts.length < 20) {
        this.conflicts.push(`partition ${p.partition} epoch ${p.epoch}: ${seen.node} (v${seen.version}) says ${seen.owner}, ${node} (v${table.version}) says ${p.owner}`);
      }
    }
  }

  /**
   * Notes the tables of `names` that may serve writes. A node whose quorum verdict is
   * `partitioned` refuses every write (FLO_READ_ONLY), so the owners its table names serve
   * nothing under those epochs: the invariant is about writers, and during a split both
   * sides can count a partition's epoch up from the same table (the merge raises them
   * apart afterwards), so such a node's table is left out.
   */
  async sample(lab: NetLab, names: readonly string[]): Promise<void> {
    for (const name of names) {
      const [table, readOnly] = await Promise.all([tableOf(lab, name).catch(() => undefined), isReadOnly(lab, name).catch(() => true)]);
      if (table !== undefined && !readOnly) this.note(name, table);
    }
  }
}
