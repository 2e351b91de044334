// etcd mode against a real etcd: runners register under a lease and find each other
// there (no seeds), every owned partition's lock is taken on the owner's lease, a runner
// whose lease is lost refuses writes (FLO_DETACHED), leaves placement, and comes back
// once it registers again; with etcd killed, every runner detaches, and re-registers
// when etcd returns.
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../../src/core/errors.js';
import type { RunningNode } from '../../../src/node/running-node.js';
import { EtcdServer, etcdBinary } from '../../helpers/etcd-server.js';
import { keys, startPartitionNode, stopNodes, FAST_PARTITIONS, type PartitionNode, type ShardingTestOptions } from '../partition-harness.js';
import { waitFor } from '../helpers.js';

const ENDPOINTS = process.env.FLOTILLA_TEST_ETCD_ENDPOINTS ?? '';
const skip = ENDPOINTS === '' || etcdBinary() === undefined;
if (skip) process.stderr.write('etcd mode tests skipped: no etcd (FLOTILLA_TEST_ETCD_ENDPOINTS unset or no etcd binary)\n');

/** Short lease so loss and return take seconds: keep-alive every 1 s, give up 0.5 s early. */
const LEASE = { leaseTtlSec: 3, keepAliveIntervalMs: 1_000, detachMarginMs: 500, requestTimeoutMs: 800, retryIntervalMs: 200 };
/** Long enough for etcd, the join and the locks under a loaded machine. */
const WAIT_MS = 60_000;

let clusterSeq = 0;
const nodes: PartitionNode[] = [];

function options(endpoint: string, clusterId: string, extra: Partial<ShardingTestOptions> = {}): ShardingTestOptions {
  return { ...FAST_PARTITIONS, ...extra, etcd: { endpoints: [endpoint], ...LEASE }, clusterId };
}

async function start(id: string, endpoint: string, clusterId: string, extra?: Partial<ShardingTestOptions>): Promise<PartitionNode> {
  const node = await startPartitionNode(id, [], options(endpoint, clusterId, extra));
  nodes.push(node);
  return node;
}

function running(n: PartitionNode): RunningNode {
  return n.node as RunningNode;
}

/** key -> value under `prefix` in etcd. */
async function read(client: Etcd3, prefix: string): Promise<Record<string, string>> {
  return client.getAll().prefix(prefix).strings();
}

/** Why the locks in etcd do not match the owners of `n`'s table (undefined when they do). */
async function lockProblem(client: Etcd3, clusterId: string, n: PartitionNode): Promise<string | undefined> {
  const table = n.service.table();
  if (table === undefined) return 'no table';
  const locks = await read(client, `/flotilla/${clusterId}/locks/`);
  for (const a of table.assignments) {
    const holder = locks[`/flotilla/${clusterId}/locks/${a.partition}`];
    if (holder !== a.owner) return `partition ${a.partition}: lock ${holder ?? '(none)'} but owner ${a.owner}`;
  }
  return undefined;
}

async function eventually(check: () => Promise<string | undefined>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  let last: string | undefined = 'not checked';
  while (last !== undefined) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${last}`);
    last = await check().catch((error: unknown) => String(error));
    if (last !== undefined) await new Promise((r) => setTimeout(r, 50));
  }
}

/** Writes every key through `n`, each within the routing deadline; resolves the failures' codes. */
async function writeAll(n: PartitionNode, names: readonly string[], value: string): Promise<string[]> {
  const failures: string[] = [];
  for (const key of names) {
    try {
      await n.service.kvPut(key, value);
    } catch (error) {
      failures.push(isFlotillaError(error) ? `${error.code}:${String(error.details?.lastError ?? '')}` : String(error));
    }
  }
  return failures;
}

afterEach(async () => {
  await stopNodes(nodes.splice(0));
});

describe.skipIf(skip)('etcd mode: registry, discovery, locks', () => {
  let client: Etcd3;
  beforeAll(() => {
    client = new Etcd3({ hosts: ENDPOINTS });
  });
  afterAll(() => client.close());

  it('finds peers in etcd without seeds, and every owner holds its partitions\' locks', async () => {
    const clusterId = `etcd-registry-${process.pid}-${++clusterSeq}`;
    const n1 = await start('n1', ENDPOINTS, clusterId);
    const n2 = await start('n2', ENDPOINTS, clusterId);
    const n3 = await start('n3', ENDPOINTS, clusterId);
    await waitFor(() => [n1, n2, n3].every((n) => n.node.members().filter((m) => m.state === 'alive').length === 3), 'three members found through etcd', WAIT_MS);
    const runners = await read(client, `/flotilla/${clusterId}/runners/`);
    expect(Object.keys(runners).sort()).toEqual(['n1', 'n2', 'n3'].map((id) => `/flotilla/${clusterId}/runners/${id}`));
    expect(JSON.parse(runners[`/flotilla/${clusterId}/runners/n2`]!)).toEqual({ nodeId: 'n2', address: n2.node.address });
    await eventually(async () => {
      const owners = new Set(n1.service.table()?.assignments.map((a) => a.owner));
      if (owners.size !== 3) return `owners ${[...owners].join(',')}`;
      return lockProblem(client, clusterId, n1);
    }, 'locks held by the owners of the balanced table');
    expect(await writeAll(n3, keys(40), 'v1')).toEqual([]);
    for (const key of keys(40)) expect(await n1.service.kvGet(key)).toBe('v1');

    // A graceful stop revokes the lease: the registration goes at once, not after the TTL.
    await n3.node.leave();
    nodes.splice(nodes.indexOf(n3), 1);
    expect(Object.keys(await read(client, `/flotilla/${clusterId}/runners/`)).sort()).toEqual(['n1', 'n2'].map((id) => `/flotilla/${clusterId}/runners/${id}`));
    await eventually(() => lockProblem(client, clusterId, n1), 'locks following the table after n3 left');
  }, 180_000);

  it('detaches a runner whose lease is revoked, moves its partitions away, and brings it back', async () => {
    const clusterId = `etcd-revoke-${process.pid}-${++clusterSeq}`;
    const n1 = await start('n1', ENDPOINTS, clusterId);
    const n2 = await start('n2', ENDPOINTS, clusterId);
    await eventually(async () => ((n1.service.table()?.assignments.some((a) => a.owner === 'n2') ?? false) ? lockProblem(client, clusterId, n1) : 'n2 owns nothing yet'), 'n2 owning partitions with locks');
    const lease = running(n2).etcdStatus()!.session.leaseId!;
    await client.leaseClient.leaseRevoke({ ID: lease });
    await waitFor(() => (running(n2).etcdStatus()?.session.detachments ?? 0) >= 1, 'n2 detached', WAIT_MS);
    // While n2 is out, every key can still be written (n1 takes the partitions over).
    expect(await writeAll(n1, keys(30, 'during'), 'x')).toEqual([]);
    // n2 registers again under a new lease and is given partitions again.
    await waitFor(() => {
      const status = running(n2).etcdStatus()!.session;
      return status.attached && status.leaseId !== lease && status.registrations >= 2;
    }, 'n2 registered again', WAIT_MS);
    await eventually(async () => ((n1.service.table()?.assignments.some((a) => a.owner === 'n2') ?? false) ? lockProblem(client, clusterId, n1) : 'n2 owns nothing again yet'), 'n2 owning partitions again');
    expect(n1.node.member('n2')?.tags.placement).toBeUndefined();
    expect(await writeAll(n2, keys(30, 'after'), 'y')).toEqual([]);
  }, 180_000);
});

describe.skipIf(skip)('etcd mode: etcd goes away and comes back', () => {
  let server: EtcdServer;
  beforeAll(async () => {
    server = await EtcdServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps serving while the lease surely lives, then refuses writes with FLO_DETACHED, and serves again once etcd is back', async () => {
    const clusterId = `etcd-outage-${process.pid}-${++clusterSeq}`;
    const extra = { routing: { ...FAST_PARTITIONS.routing, opTimeoutMs: 3_000 } };
    const n1 = await start('n1', server.endpoint, clusterId, extra);
    const n2 = await start('n2', server.endpoint, clusterId, extra);
    const client = new Etcd3({ hosts: server.endpoint });
    try {
      await eventually(async () => ((n1.service.table()?.assignments.some((a) => a.owner === 'n2') ?? false) ? lockProblem(client, clusterId, n1) : 'n2 owns nothing yet'), 'balanced, locked');
    } finally {
      client.close();
    }
    await server.kill();
    // The lease was acknowledged within the last keep-alive interval, so it is still surely alive.
    const failures = await writeAll(n1, keys(5, 'at-kill'), 'k');
    const stillAttached = running(n1).etcdStatus()!.session.attached && running(n2).etcdStatus()!.session.attached;
    if (stillAttached) expect(failures).toEqual([]);
    await waitFor(() => [n1, n2].every((n) => !running(n).etcdStatus()!.session.attached), 'both runners detached', WAIT_MS);
    const refused = await writeAll(n1, keys(5, 'detached'), 'd');
    expect(refused).toHaveLength(5);
    for (const f of refused) expect(f).toBe('FLO_TIMEOUT:FLO_DETACHED');
    // Every runner is out of placement; the master keeps a table with an owner for every partition.
    await waitFor(() => n1.node.member('n2')?.tags.placement === 'none' && n2.node.member('n1')?.tags.placement === 'none', 'both out of placement', WAIT_MS);
    for (const a of n1.service.table()!.assignments) expect(['n1', 'n2']).toContain(a.owner);

    await server.resume();
    await waitFor(() => [n1, n2].every((n) => running(n).etcdStatus()!.session.attached), 'both runners registered again', WAIT_MS);
    await eventually(async () => {
      const failed = await writeAll(n2, keys(20, 'back'), 'b');
      return failed.length === 0 ? undefined : failed[0];
    }, 'writes served again');
    await waitFor(() => n1.node.member('n2')?.tags.placement === undefined && n2.node.member('n1')?.tags.placement === undefined, 'placement tags gone', WAIT_MS);
  }, 240_000);
});
