// The node-to-admin-API adapter: members carry their join version from the view,
// partitions come from the table, migration records map onto the API's states, and
// entities and their counters reach /entities, /metrics and `flotilla status` from a
// real node that hosts some.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entityMetrics, toAdminSource } from '../../src/cli/admin-source.js';
import { runStatus } from '../../src/cli/status.js';
import { partitionOf } from '../../src/core/partition.js';
import { defineEntity } from '../../src/entities/index.js';
import { startAdminServer, type AdminServer, type EntitiesReport, type EntityPartitionsReport } from '../../src/gateway/index.js';
import type { EntityServiceStats } from '../../src/entities/entity-service.js';
import type { FlotillaNode } from '../../src/node/index.js';
import type { MigrationRecord } from '../../src/partitions/migration-history.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { parseExposition, value } from '../gateway/exposition.js';
import { Counter, PingA, PingB, startEntityCluster, waitForSettledTable } from '../node/entity-harness.js';
import { startCluster, stopAll, waitFor } from '../node/helpers.js';
import { TEST_ADMIN_TOKEN, TEST_AUTHORIZATION } from '../gateway/http-helpers.js';

const AUTH = { headers: { authorization: TEST_AUTHORIZATION } };

const record = (overrides: Partial<MigrationRecord>): MigrationRecord => ({
  migrationId: 'm1',
  partition: 4,
  source: 'a',
  destination: 'b',
  role: 'owner',
  perspective: 'master',
  state: 'running',
  startedAt: 10,
  ...overrides,
});

function stubNode(): FlotillaNode {
  const member = (nodeId: string, state: 'alive' | 'dead') => ({ nodeId, address: `${nodeId}:1`, state, incarnation: 3, tags: { z: nodeId }, stateChangedAt: 0 });
  return {
    nodeId: 'a',
    members: () => [member('c', 'dead'), { ...member('b', 'alive'), clockOffsetMs: -10_012 }, member('a', 'alive')],
    membersView: () => ({
      version: 5,
      members: [
        { nodeId: 'a', address: 'a:1', joinVersion: 1, status: 'active', incarnation: 3, tags: {} },
        { nodeId: 'b', address: 'b:1', joinVersion: 2, status: 'active', incarnation: 3, tags: {} },
      ],
    }),
    master: () => 'a',
    partitionTable: () => ({ version: 9, partitionCount: 2, assignments: [{ partition: 0, owner: 'a', backups: ['b'], epoch: 2 }, { partition: 1, owner: 'b', backups: ['a'], epoch: 1 }] }),
    migrations: () => ({
      inFlight: [record({})],
      recent: [
        record({ migrationId: 'm2', state: 'finished', finishedAt: 20, outcome: 'completed' }),
        record({ migrationId: 'm3', state: 'finished', finishedAt: 30, outcome: 'timed-out' }),
      ],
    }),
  } as unknown as FlotillaNode;
}

describe('toAdminSource', () => {
  it('lists members oldest first with their join versions (null outside the view) and measured clock offsets', () => {
    expect(toAdminSource(stubNode()).members()).toEqual({
      version: 5,
      master: 'a',
      members: [
        { nodeId: 'a', address: 'a:1', state: 'alive', joinVersion: 1, incarnation: 3, tags: { z: 'a' }, clockOffsetMs: null },
        { nodeId: 'b', address: 'b:1', state: 'alive', joinVersion: 2, incarnation: 3, tags: { z: 'b' }, clockOffsetMs: -10_012 },
        { nodeId: 'c', address: 'c:1', state: 'dead', joinVersion: null, incarnation: 3, tags: { z: 'c' }, clockOffsetMs: null },
      ],
    });
  });

  it('reports the partition table', () => {
    expect(toAdminSource(stubNode()).partitions()).toEqual({
      version: 9,
      partitionCount: 2,
      partitions: [
        { partition: 0, owner: 'a', backups: ['b'], epoch: 2 },
        { partition: 1, owner: 'b', backups: ['a'], epoch: 1 },
      ],
    });
  });

  it('maps migration records onto the API, any unsuccessful end being a cancellation with its reason', () => {
    expect(toAdminSource(stubNode()).migrations()).toEqual({
      inFlight: [{ id: 'm1', partition: 4, source: 'a', destination: 'b', role: 'owner', perspective: 'master', state: 'copying', startedAt: 10 }],
      recent: [
        { id: 'm2', partition: 4, source: 'a', destination: 'b', role: 'owner', perspective: 'master', state: 'finished', startedAt: 10, finishedAt: 20, outcome: 'completed' },
        { id: 'm3', partition: 4, source: 'a', destination: 'b', role: 'owner', perspective: 'master', state: 'finished', startedAt: 10, finishedAt: 30, outcome: 'cancelled', reason: 'timed-out' },
      ],
    });
  });
});

describe('entityMetrics', () => {
  it('maps the entity service counters, latency buckets with their bounds; none without entities', () => {
    expect(entityMetrics(undefined)).toBeUndefined();
    const stats: EntityServiceStats = {
      calls: 9, failedCalls: 2, activations: 4, passivations: 1, evictions: 0, loads: 3, writes: 6, reentrantCalls: 0, dedupedCalls: 0,
      mailboxRejections: 1, staleEpochWrites: 2, callOutcomes: { ok: 7, FLO_HANDLER_FAILED: 2 }, callLatencyCounts: [5, 4, 0], callLatencySumMs: 12,
      callLatencyBoundsMs: [1, 5], activeByType: { A: 3, B: 0 },
    };
    expect(entityMetrics(stats)).toEqual({
      activeByType: { A: 3, B: 0 },
      activations: 4,
      passivations: 1,
      evictions: 0,
      callOutcomes: { ok: 7, FLO_HANDLER_FAILED: 2 },
      mailboxRejections: 1,
      loads: 3,
      writes: 6,
      staleEpochWrites: 2,
      callLatency: { boundsMs: [1, 5], counts: [5, 4, 0], sumMs: 12 },
    });
  });
});

let release: () => void = () => undefined;
let holds = 0;

/** Holds its one-call mailbox busy until the test releases it. */
const Slow = defineEntity('Slow', {
  state: () => ({ n: 0 }),
  mailboxCapacityMax: 1,
  handlers: {
    async hold(ctx) {
      holds++;
      await new Promise<void>((resolve) => (release = resolve));
      ctx.state.n++;
      return ctx.state.n;
    },
  },
});

describe('a real node with entities behind the admin API', () => {
  let nodes: FlotillaNode[] = [];
  let bare: FlotillaNode[] = [];
  let admin: AdminServer;
  let bareAdmin: AdminServer;
  const base = (server: AdminServer): string => `http://127.0.0.1:${server.address().port}`;

  beforeAll(async () => {
    nodes = await startEntityCluster(1, new MemoryStorage(), { entities: [Counter, PingA, PingB, Slow] });
    await waitForSettledTable(nodes);
    bare = await startCluster(1);
    admin = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: toAdminSource(nodes[0]!), host: '127.0.0.1', port: 0 });
    bareAdmin = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: toAdminSource(bare[0]!), host: '127.0.0.1', port: 0 });
  }, 60_000);

  afterAll(async () => {
    await admin?.close();
    await bareAdmin?.close();
    await stopAll([...nodes, ...bare]);
  });

  it('lists the active entities, counts them per partition and exports their counters', async () => {
    const node = nodes[0]!;
    for (const id of ['a', 'b', 'c']) expect(await node.entity(Counter, id).increment(2)).toBe(2);
    await expect(node.entity(Counter, 'a').fail('nope')).rejects.toMatchObject({ code: 'FLO_HANDLER_FAILED' });

    const list = (await (await fetch(`${base(admin)}/entities?type=Counter`, AUTH)).json()) as EntitiesReport;
    expect(list).toEqual({
      nodeId: node.nodeId,
      active: 3,
      types: [{ type: 'Counter', active: 3 }],
      entities: ['a', 'b', 'c'].map((id) => ({ type: 'Counter', id, partition: partitionOf(`Counter/${id}`, 271) })),
      truncated: false,
    });
    const all = (await (await fetch(`${base(admin)}/entities?limit=0`, AUTH)).json()) as EntitiesReport;
    expect(all.types).toEqual([
      { type: 'Counter', active: 3 },
      { type: 'PingA', active: 0 },
      { type: 'PingB', active: 0 },
      { type: 'Slow', active: 0 },
    ]);
    const parts = (await (await fetch(`${base(admin)}/entities/partitions`, AUTH)).json()) as EntityPartitionsReport;
    expect(parts.active).toBe(3);
    expect(parts.partitions.reduce((n, p) => n + p.active, 0)).toBe(3);

    const exp = parseExposition(await (await fetch(`${base(admin)}/metrics`)).text());
    expect(value(exp, 'flotilla_entities_active', { type: 'Counter' })).toBe(3);
    expect(value(exp, 'flotilla_entities_active', { type: 'PingA' })).toBe(0);
    expect(value(exp, 'flotilla_entity_activations_total')).toBe(3);
    expect(value(exp, 'flotilla_entity_calls_total', { outcome: 'ok' })).toBe(3);
    expect(value(exp, 'flotilla_entity_calls_total', { outcome: 'FLO_HANDLER_FAILED' })).toBe(1);
    expect(value(exp, 'flotilla_entity_loads_total')).toBe(3);
    expect(value(exp, 'flotilla_entity_writes_total')).toBe(3);
    expect(value(exp, 'flotilla_entity_call_duration_seconds_count')).toBe(4);

    const status = await runStatus({ token: TEST_ADMIN_TOKEN, url: base(admin) });
    expect(status.output).toMatch(new RegExp(`Entities active on ${node.nodeId}: 3\\nTYPE\\s+ACTIVE\\nCounter\\s+3\\nPingA\\s+0\\nPingB\\s+0\\nSlow\\s+0$`));
  });

  it('counts calls refused by a full mailbox', async () => {
    const node = nodes[0]!;
    const ref = node.entity(Slow, 's');
    const enqueued = (): number => node.entityStats()?.calls ?? 0;
    const running = ref.hold();
    await waitFor(() => holds === 1, 'the first hold to run');
    const before = enqueued();
    const queued = ref.hold();
    await waitFor(() => enqueued() === before + 1, 'the second hold to wait in the mailbox');
    await expect(ref.hold()).rejects.toMatchObject({ code: 'FLO_MAILBOX_FULL' });
    release();
    expect(await running).toBe(1);
    await waitFor(() => holds === 2, 'the queued hold to run');
    release();
    expect(await queued).toBe(2);
    const exp = parseExposition(await (await fetch(`${base(admin)}/metrics`)).text());
    expect(value(exp, 'flotilla_entity_mailbox_rejections_total')).toBe(1);
    expect(value(exp, 'flotilla_entity_calls_total', { outcome: 'FLO_MAILBOX_FULL' })).toBe(1);
  });

  it('exports the map store counters of a node that served writes and reads', async () => {
    const map = nodes[0]!.getMap<number>('metered');
    for (let i = 0; i < 5; i++) await map.set(`k${i}`, i);
    expect(await map.get('k1')).toBe(1);
    expect(await map.get('absent')).toBeUndefined();
    expect(await map.delete('k0')).toBe(true);
    const exp = parseExposition(await (await fetch(`${base(admin)}/metrics`)).text());
    expect(value(exp, 'flotilla_map_writes_total')).toBe(6);
    expect(value(exp, 'flotilla_map_reads_total')).toBe(2);
    expect(value(exp, 'flotilla_map_writes_refused_total', { reason: 'too-few-copies' })).toBe(0);
    expect(value(exp, 'flotilla_map_entries')).toBe(4);
    expect(value(exp, 'flotilla_map_tombstones')).toBe(1);
  });

  it('reports no entity types on a node that hosts none, and status leaves the section out', async () => {
    const answer = await fetch(`${base(bareAdmin)}/entities`, AUTH);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ nodeId: bare[0]!.nodeId, active: 0, types: [], entities: [], truncated: false });
    const exp = parseExposition(await (await fetch(`${base(bareAdmin)}/metrics`)).text());
    expect(exp.samples.filter((s) => s.name === 'flotilla_entities_active')).toEqual([]);
    const status = await runStatus({ token: TEST_ADMIN_TOKEN, url: base(bareAdmin) });
    expect(status.exitCode).toBe(0);
    expect(status.output).not.toContain('Entities');
  });
});
