// The Prometheus side of the admin server: /metrics parses as exposition text, every
// Flotilla metric is there with its type and the node_id label, values follow the
// snapshot from one scrape to the next, and registries of two nodes do not clash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics, METRIC_SPECS, startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import { FixtureSource, fixtureSnapshot } from './fixture.js';
import { parseExposition, value, type Exposition } from './exposition.js';
import { TEST_ADMIN_TOKEN, request } from './http-helpers.js';

const source = new FixtureSource();
let server: AdminServer;
let port: number;

async function scrape(p = port): Promise<Exposition> {
  const answer = await request(p, '/metrics');
  expect(answer.status).toBe(200);
  expect(answer.headers['content-type']).toBe(server.metrics.contentType);
  return parseExposition(answer.body);
}

beforeAll(async () => {
  server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source, port: 0, requestTimeoutMs: 2_000 });
  port = server.address().port;
});

afterAll(async () => {
  await server.close();
});

describe('GET /metrics', () => {
  it('serves Prometheus text with the registry content type', () => {
    expect(server.metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('exports every catalogued metric with its type, prefixed flotilla_ and labelled node_id', async () => {
    const exp = await scrape();
    for (const spec of METRIC_SPECS) expect(exp.types.get(spec.name), spec.name).toBe(spec.kind);
    for (const name of ['seconds', 'min_seconds', 'max_seconds', 'p50_seconds', 'p90_seconds', 'p99_seconds']) {
      expect(exp.types.get(`flotilla_eventloop_lag_${name}`)).toBe('gauge');
    }
    expect(exp.samples.length).toBeGreaterThan(METRIC_SPECS.length);
    for (const sample of exp.samples) {
      expect(sample.name).toMatch(/^flotilla_/);
      expect(Number.isFinite(sample.value), sample.name).toBe(true);
      expect(sample.labels.node_id, sample.name).toBe('n1');
    }
  });

  it('reads labelled values from the snapshot', async () => {
    const exp = await scrape();
    expect(value(exp, 'flotilla_members', { state: 'alive' })).toBe(2);
    expect(value(exp, 'flotilla_members', { state: 'suspect' })).toBe(1);
    expect(value(exp, 'flotilla_members', { state: 'left' })).toBe(0);
    expect(value(exp, 'flotilla_messages_sent_total', { type: 'Ping' })).toBe(100);
    expect(value(exp, 'flotilla_message_bytes_received_total', { type: 'Ack' })).toBe(2_910);
    expect(value(exp, 'flotilla_transport_connections_open', { direction: 'inbound' })).toBe(2);
    expect(value(exp, 'flotilla_transport_frames_total', { channel: 'udp', direction: 'out' })).toBe(210);
    expect(value(exp, 'flotilla_transport_bytes_total', { channel: 'tcp', direction: 'in' })).toBe(3_000);
    expect(value(exp, 'flotilla_transport_dropped_total', { channel: 'udp', reason: 'FLO_DECODE_MALFORMED' })).toBe(4);
    expect(value(exp, 'flotilla_partitions_owned')).toBe(91);
    expect(value(exp, 'flotilla_partitions_backed_up')).toBe(90);
    expect(value(exp, 'flotilla_partition_table_version')).toBe(9);
    expect(value(exp, 'flotilla_migrations_in_flight')).toBe(1);
    expect(value(exp, 'flotilla_migrations_cancelled_total')).toBe(1);
    expect(value(exp, 'flotilla_migrations_started_total', { role: 'master' })).toBe(6);
    expect(value(exp, 'flotilla_migrations_started_total', { role: 'destination' })).toBe(3);
    expect(value(exp, 'flotilla_migrations_finished_total', { role: 'source', outcome: 'failed' })).toBe(1);
    expect(value(exp, 'flotilla_migrations_finished_total', { role: 'destination', outcome: 'timed-out' })).toBe(1);
    expect(value(exp, 'flotilla_migrations_finished_total', { role: 'master', outcome: 'abandoned' })).toBe(0);
    expect(value(exp, 'flotilla_quorum_state', { state: 'healthy' })).toBe(1);
    expect(value(exp, 'flotilla_quorum_state', { state: 'partitioned' })).toBe(0);
    expect(value(exp, 'flotilla_quorum_minority')).toBe(0);
    const lag = value(exp, 'flotilla_eventloop_lag_p99_seconds');
    expect(lag).toBeGreaterThanOrEqual(0);
  });

  it('follows the snapshot between scrapes and forgets label sets that disappeared', async () => {
    source.snapshot = fixtureSnapshot();
    const before = await scrape();
    expect(value(before, 'flotilla_probes_total')).toBe(100);
    const next = fixtureSnapshot();
    source.snapshot = {
      ...next,
      membership: { ...next.membership, probes: 150, members: { alive: 1, suspect: 0, dead: 2, left: 0 } },
      messages: { ...next.messages, sent: { Ack: { messages: 91, bytes: 2_730 } } },
      quorum: { state: 'partitioned', minority: true, readOnly: true, liveMembers: 1, expectedSize: 3 },
    };
    const after = await scrape();
    expect(value(after, 'flotilla_probes_total')).toBe(150);
    expect(value(after, 'flotilla_members', { state: 'dead' })).toBe(2);
    expect(value(after, 'flotilla_messages_sent_total', { type: 'Ping' })).toBeUndefined();
    expect(value(after, 'flotilla_messages_sent_total', { type: 'Ack' })).toBe(91);
    expect(value(after, 'flotilla_quorum_state', { state: 'partitioned' })).toBe(1);
    expect(value(after, 'flotilla_quorum_state', { state: 'healthy' })).toBe(0);
    expect(value(after, 'flotilla_quorum_minority')).toBe(1);
    source.snapshot = fixtureSnapshot();
  });

  it('exports no migration totals for a node that keeps none', async () => {
    const next = fixtureSnapshot();
    source.snapshot = { ...next, migrations: { inFlight: 0, completed: 0, cancelled: 0 } };
    const exp = await scrape();
    expect(exp.types.get('flotilla_migrations_started_total')).toBe('counter');
    expect(exp.samples.filter((s) => s.name.startsWith('flotilla_migrations_started') || s.name.startsWith('flotilla_migrations_finished'))).toEqual([]);
    source.snapshot = fixtureSnapshot();
  });

  it('exports the subscription relay numbers, and 0 for a node that holds no maps', async () => {
    const bare = await scrape();
    for (const name of ['flotilla_watch_polls_parked', 'flotilla_watch_polls_busy_total', 'flotilla_watch_relays_running']) expect(value(bare, name), name).toBe(0);
    source.snapshot = { ...fixtureSnapshot(), watch: { parked: 3, parkedBytes: 312, answered: 40, busy: 2, relays: 1, relayedChanges: 17 } };
    const exp = await scrape();
    expect(value(exp, 'flotilla_watch_polls_parked')).toBe(3);
    expect(value(exp, 'flotilla_watch_parked_bytes')).toBe(312);
    expect(value(exp, 'flotilla_watch_polls_answered_total')).toBe(40);
    expect(value(exp, 'flotilla_watch_polls_busy_total')).toBe(2);
    expect(value(exp, 'flotilla_watch_relays_running')).toBe(1);
    expect(value(exp, 'flotilla_watch_relayed_changes_total')).toBe(17);
    source.snapshot = fixtureSnapshot();
  });

  it('exports the map store numbers, and 0 for a node that holds no maps', async () => {
    const bare = await scrape();
    expect(value(bare, 'flotilla_map_writes_total')).toBe(0);
    expect(value(bare, 'flotilla_map_writes_refused_total', { reason: 'too-few-copies' })).toBeUndefined();
    const maps = { writes: 120, writesRefused: 1, writesTooFewCopies: 7, reads: 300, readsHeld: 2, replicated: 90, replicasRefused: 3, asyncReplicationFailures: 0, writesUnconfirmed: 4, localEntries: 210, localTombstones: 5, tombstonesCollected: 6 };
    source.snapshot = { ...fixtureSnapshot(), maps };
    const exp = await scrape();
    expect(exp.types.get('flotilla_map_entries')).toBe('gauge');
    expect(exp.types.get('flotilla_map_writes_refused_total')).toBe('counter');
    expect(value(exp, 'flotilla_map_writes_total')).toBe(120);
    expect(value(exp, 'flotilla_map_writes_refused_total', { reason: 'hlc-drift' })).toBe(1);
    expect(value(exp, 'flotilla_map_writes_refused_total', { reason: 'too-few-copies' })).toBe(7);
    expect(value(exp, 'flotilla_map_writes_unconfirmed_total')).toBe(4);
    expect(value(exp, 'flotilla_map_reads_total')).toBe(300);
    expect(value(exp, 'flotilla_map_reads_held_total')).toBe(2);
    expect(value(exp, 'flotilla_map_replicated_total')).toBe(90);
    expect(value(exp, 'flotilla_map_replicas_refused_total')).toBe(3);
    expect(value(exp, 'flotilla_map_entries')).toBe(210);
    expect(value(exp, 'flotilla_map_tombstones')).toBe(5);
    expect(value(exp, 'flotilla_map_tombstones_collected_total')).toBe(6);
    source.snapshot = fixtureSnapshot();
  });

  it('exports the client gateway numbers, and no series of them on a node without one', async () => {
    const bare = await scrape();
    expect(bare.samples.filter((s) => s.name === 'flotilla_client_connections' || s.name === 'flotilla_client_ops_total')).toEqual([]);
    source.snapshot = { ...fixtureSnapshot(), clients: { connections: 5, authenticated: 3, ops: { ok: 40, FLO_NOT_OWNER: 2 }, authFailures: { FLO_TOKEN_EXPIRED: 1 }, framesRefused: 4 } };
    const exp = await scrape();
    expect(value(exp, 'flotilla_client_connections', { state: 'authenticated' })).toBe(3);
    expect(value(exp, 'flotilla_client_connections', { state: 'authenticating' })).toBe(2);
    expect(value(exp, 'flotilla_client_ops_total', { outcome: 'ok' })).toBe(40);
    expect(value(exp, 'flotilla_client_ops_total', { outcome: 'FLO_NOT_OWNER' })).toBe(2);
    expect(value(exp, 'flotilla_client_auth_failures_total', { code: 'FLO_TOKEN_EXPIRED' })).toBe(1);
    expect(value(exp, 'flotilla_client_frames_refused_total')).toBe(4);
    source.snapshot = fixtureSnapshot();
  });

  it('reads the snapshot exactly once per scrape', async () => {
    const reads = source.snapshotReads;
    await scrape();
    expect(source.snapshotReads).toBe(reads + 1);
  });

  it('keeps two nodes in one process apart', async () => {
    const other = new FixtureSource();
    Object.assign(other, { nodeId: 'n2' });
    other.snapshot = { ...fixtureSnapshot(), partitions: { tableVersion: 9, partitionCount: 271, owned: 7, backedUp: 8 } };
    const second = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: other, port: 0 });
    try {
      const mine = await scrape();
      const theirs = await scrape(second.address().port);
      expect(value(mine, 'flotilla_partitions_owned')).toBe(91);
      expect(value(theirs, 'flotilla_partitions_owned')).toBe(7);
      expect(theirs.samples.every((s) => s.labels.node_id === 'n2')).toBe(true);
    } finally {
      await second.close();
    }
  });
});

describe('createAdminMetrics', () => {
  it('adds process metrics under prom-client\'s names, labelled node_id, only when asked', async () => {
    const plain = createAdminMetrics(source);
    const withProcess = createAdminMetrics(source, { processMetrics: true });
    try {
      expect(parseExposition(await plain.scrape()).samples.some((s) => s.name.startsWith('process_'))).toBe(false);
      const exp = parseExposition(await withProcess.scrape());
      const cpu = exp.samples.find((s) => s.name === 'process_cpu_user_seconds_total');
      expect(cpu?.labels.node_id).toBe('n1');
      expect(exp.types.get('process_cpu_user_seconds_total')).toBe('counter');
      expect(value(exp, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(value(exp, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      expect(value(exp, 'nodejs_heap_space_size_used_bytes', { space: 'new' })).toBeGreaterThanOrEqual(0);
    } finally {
      plain.close();
      withProcess.close();
    }
  });
});
