// Cluster data over real `flotilla start` processes on 127.0.0.1, reached through each
// node's admin API (`/kv`, `/cluster/*`, `/metrics`): three nodes agree on one master and
// one table; a fourth joins and takes about a quarter of the partitions with their data;
// a node leaves on SIGTERM under write load without losing an acknowledged write; and a
// kill -9 of a key's owner promotes its backup with the data intact. One cluster runs
// through the steps in order, as an operator would see it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/core/partition.js';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import type { MembersReport, MigrationsReport, PartitionsReport } from '../../src/gateway/admin-source.js';
import { adminCall, adminUrlOf, metricSum, pollUntil, randomSecret, startNodeProcess, type AdminAnswer, type NodeProcess } from './cli-process.js';

const SECRET = randomSecret();
const PARTITIONS = 271;
/** Keys written before the fourth node joins. */
const KEY_COUNT = 2_000;
/** Admin requests in flight at once while filling or checking the store. */
const CONCURRENCY = 16;
/** Retries of one write answered with NOT_OWNER (each through the next node). */
const NOT_OWNER_RETRIES_MAX = 20;
/** How long a step may take to settle on a loaded machine. */
const SETTLE_MS = 45_000;

interface Node {
  readonly process: NodeProcess;
  url: string;
}

const nodes = new Map<string, Node>();
let seed = '';

async function launch(name: string): Promise<Node> {
  const address = `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
  seed ||= address;
  const process = startNodeProcess({ name, address, seed, secret: SECRET });
  const node: Node = { process, url: '' };
  nodes.set(name, node);
  await pollUntil(() => (node.url = adminUrlOf(process) ?? '') !== '', `${name}'s admin API`, SETTLE_MS, () => process.proc.stderr.join('\n'));
  return node;
}

const node = (name: string): Node => nodes.get(name)!;

async function getJson<T>(name: string, path: string): Promise<T> {
  const answer = await adminCall(node(name).url, 'GET', path);
  if (answer.status !== 200) throw new Error(`${name} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as T;
}

interface ClusterView {
  readonly members: MembersReport;
  readonly table: PartitionsReport;
  readonly migrations: MigrationsReport;
}

const views = new Map<string, ClusterView>();

async function viewOf(name: string): Promise<ClusterView> {
  const [members, table, migrations] = await Promise.all([
    getJson<MembersReport>(name, '/cluster/members'),
    getJson<PartitionsReport>(name, '/cluster/partitions'),
    getJson<MigrationsReport>(name, '/cluster/migrations'),
  ]);
  const view = { members, table, migrations };
  views.set(name, view);
  return view;
}

/** Why `view` is not the settled state of a cluster of `ids`, or undefined when it is. */
function unsettled(view: ClusterView, ids: readonly string[]): string | undefined {
  const alive = view.members.members.filter((m) => m.state === 'alive').map((m) => m.nodeId).sort();
  if (alive.join() !== [...ids].sort().join()) return `alive ${alive.join()}`;
  if (view.members.master !== ids[0]) return `master ${view.members.master}`;
  if (view.migrations.inFlight.length > 0) return `${view.migrations.inFlight.length} migrations in flight`;
  if (view.table.partitions.length !== PARTITIONS) return `${view.table.partitions.length} partitions`;
  const owned = new Map(ids.map((id) => [id, 0]));
  for (const p of view.table.partitions) {
    if (p.owner === null || !owned.has(p.owner)) return `partition ${p.partition} owned by ${p.owner}`;
    owned.set(p.owner, owned.get(p.owner)! + 1);
    const [backup, ...more] = p.backups;
    if (backup === undefined || more.length > 0 || backup === p.owner || !owned.has(backup)) return `partition ${p.partition} backups ${p.backups.join()}`;
  }
  const counts = [...owned.values()];
  if (Math.max(...counts) - Math.min(...counts) > 1) return `unbalanced ${counts.join()}`;
  return undefined;
}

/** Waits until every node in `ids` (the oldest first) sees the same settled cluster of `ids`. */
async function settled(ids: readonly string[]): Promise<PartitionsReport> {
  let why = '';
  await pollUntil(
    async () => {
      const all = await Promise.all(ids.map((id) => viewOf(id)));
      const reasons = all.map((v, i) => (unsettled(v, ids) === undefined ? undefined : `${ids[i]}: ${unsettled(v, ids)}`)).filter((r) => r !== undefined);
      const tables = new Set(all.map((v) => JSON.stringify(v.table)));
      why = reasons.join('; ') || (tables.size > 1 ? 'tables differ' : '');
      return why === '';
    },
    `a settled cluster of ${ids.join(', ')}`,
    SETTLE_MS,
    () => why,
    250,
  );
  return views.get(ids[0]!)!.table;
}

const keyOf = (i: number): string => `key-${i}`;
const valueOf = (i: number): { i: number; text: string } => ({ i, text: `value of ${i}` });

/** Runs `task` over 0..count-1 with `CONCURRENCY` in flight. */
async function forEachIndex(count: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

function expectOk(answer: AdminAnswer, what: string): void {
  if (answer.status !== 200) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
}

/** Reads every key in `expected` through the nodes in turn; returns the keys missing or wrong. */
async function readBack(expected: ReadonlyMap<string, unknown>, through: readonly string[], offset = 0): Promise<string[]> {
  const keys = [...expected.keys()];
  const wrong: string[] = [];
  await forEachIndex(keys.length, async (i) => {
    const key = keys[i]!;
    const answer = await adminCall(node(through[(i + offset) % through.length]!).url, 'GET', `/kv/${encodeURIComponent(key)}`);
    if (answer.status !== 200 || JSON.stringify(answer.body) !== JSON.stringify({ key, value: expected.get(key) })) wrong.push(`${key}: ${answer.status} ${JSON.stringify(answer.body)}`);
  });
  return wrong;
}

/** Every write acknowledged so far, by key: what a read must find. */
const acknowledged = new Map<string, unknown>();

describe('a cluster of flotilla processes', () => {
  beforeAll(async () => {
    await launch('p1');
    await Promise.all([launch('p2'), launch('p3')]);
  }, SETTLE_MS * 2);

  afterAll(async () => {
    for (const n of nodes.values()) n.process.proc.child.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((n) => n.process.proc.exited));
  });

  it('three nodes agree on one master and one table: every partition has an owner and one backup', async () => {
    const table = await settled(['p1', 'p2', 'p3']);
    expect(table.partitionCount).toBe(PARTITIONS);
    for (const name of ['p2', 'p3']) expect(views.get(name)!.members.master).toBe('p1');
  }, SETTLE_MS + 10_000);

  it('a fourth node takes about a quarter of the partitions, with their data', async () => {
    const through = ['p1', 'p2', 'p3'];
    await forEachIndex(KEY_COUNT, async (i) => {
      const answer = await adminCall(node(through[i % 3]!).url, 'PUT', `/kv/${keyOf(i)}`, valueOf(i));
      expectOk(answer, `PUT ${keyOf(i)}`);
      acknowledged.set(keyOf(i), valueOf(i));
    });
    expect(await adminCall(node('p2').url, 'GET', '/kv')).toEqual({ status: 200, body: { size: KEY_COUNT } });
    const before = views.get('p1')!.table;

    await launch('p4');
    const after = await settled(['p1', 'p2', 'p3', 'p4']);
    const gained = after.partitions.filter((p) => p.owner === 'p4').length;
    const moved = after.partitions.filter((p) => p.owner !== before.partitions[p.partition]!.owner);
    expect([Math.floor(PARTITIONS / 4), Math.ceil(PARTITIONS / 4)]).toContain(gained);
    // Minimal movement: the only owners that changed are the partitions p4 took.
    expect(moved.every((p) => p.owner === 'p4')).toBe(true);
    expect(moved).toHaveLength(gained);

    expect(await readBack(acknowledged, ['p1', 'p2', 'p3', 'p4'], 1)).toEqual([]);
    expect(await adminCall(node('p4').url, 'GET', '/kv')).toEqual({ status: 200, body: { size: KEY_COUNT } });

    const [master, joiner] = await Promise.all([adminCall(node('p1').url, 'GET', '/metrics'), adminCall(node('p4').url, 'GET', '/metrics')]);
    const received = metricSum(String(joiner.body), 'flotilla_migrations_finished_total', { role: 'destination', outcome: 'completed' });
    expect(received).toBeGreaterThanOrEqual(gained);
    expect(metricSum(String(joiner.body), 'flotilla_migrations_started_total', { role: 'destination' })).toBeGreaterThanOrEqual(received);
    expect(metricSum(String(master.body), 'flotilla_migrations_finished_total', { role: 'master', outcome: 'completed' })).toBeGreaterThanOrEqual(received);

    // The master was also the source of moves to p4: each part it played is listed once,
    // named, so one migration id appears at most once per part.
    const listed = views.get('p1')!.migrations.recent;
    expect(listed.length).toBeGreaterThan(0);
    const parts = listed.map((m) => `${m.id}/${m.perspective}`);
    expect(new Set(parts).size, parts.join(' ')).toBe(parts.length);
    expect(listed.every((m) => ['master', 'source', 'destination'].includes(m.perspective))).toBe(true);
    expect(listed.some((m) => m.perspective === 'master')).toBe(true);
  }, SETTLE_MS * 2);

  it('a node leaving on SIGTERM under write load loses no acknowledged write; the writer sees at most NOT_OWNER', async () => {
    const writers = ['p1', 'p3', 'p4'];
    const unexpected: string[] = [];
    let stop = false;
    let written = 0;
    const writer = async (w: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const key = `load-${w}-${n}`;
        const value = { w, n };
        for (let attempt = 0; ; attempt++) {
          const answer = await adminCall(node(writers[(w + n + attempt) % writers.length]!).url, 'PUT', `/kv/${key}`, value);
          if (answer.status === 200) {
            acknowledged.set(key, value);
            written++;
            break;
          }
          const body = answer.body as { code?: string; retryable?: boolean };
          if (body.code !== 'FLO_NOT_OWNER' || body.retryable !== true || attempt >= NOT_OWNER_RETRIES_MAX) {
            unexpected.push(`${key}: ${answer.status} ${JSON.stringify(answer.body)}`);
            break;
          }
        }
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, (_, w) => writer(w)));
    try {
      await pollUntil(() => written >= 100, 'writes before the leave', SETTLE_MS);
      node('p2').process.proc.child.kill('SIGTERM');
      expect(await node('p2').process.proc.exited).toBe(0);
      await settled(['p1', 'p3', 'p4']);
      const settledAt = written;
      await pollUntil(() => written >= settledAt + 100, 'writes after the leave', SETTLE_MS);
    } finally {
      stop = true;
      await load;
    }
    expect(unexpected).toEqual([]);
    expect(await readBack(acknowledged, ['p4', 'p3', 'p1'])).toEqual([]);
  }, SETTLE_MS * 3);

  it('kill -9 of a key\'s owner: its backup is promoted and serves the key; nothing acknowledged is lost', async () => {
    const before = views.get('p1')!.table;
    const key = Array.from({ length: KEY_COUNT }, (_, i) => keyOf(i)).find((k) => before.partitions[partitionOf(k, PARTITIONS)]!.owner === 'p3')!;
    const partition = before.partitions[partitionOf(key, PARTITIONS)]!;
    expectOk(await adminCall(node('p1').url, 'PUT', `/kv/${key}`, 'written before the kill'), `PUT ${key}`);
    acknowledged.set(key, 'written before the kill');

    node('p3').process.proc.child.kill('SIGKILL');
    // The first owner after p3 is its backup, promoted at once (a later rebalance may move it on).
    let firstOwner: string | null = 'p3';
    await pollUntil(
      async () => {
        firstOwner = (await viewOf('p1')).table.partitions[partition.partition]!.owner;
        return firstOwner !== 'p3';
      },
      `a new owner of partition ${partition.partition}`,
      SETTLE_MS,
      undefined,
      50,
    );
    expect(firstOwner).toBe(partition.backups[0]);
    const after = await settled(['p1', 'p4']);
    const owner = after.partitions[partition.partition]!;
    expect(owner.epoch).toBeGreaterThan(partition.epoch);
    expect(await adminCall(node(owner.owner!).url, 'GET', `/kv/${key}`)).toEqual({ status: 200, body: { key, value: 'written before the kill' } });
    expect(await readBack(acknowledged, ['p1', 'p4'])).toEqual([]);
  }, SETTLE_MS * 2);
});
