/**
 * Adapts a running node to the admin API's `AdminSource`: the gateway reads, the node
 * answers. It lives here because the CLI is the layer that imports both the node and
 * the gateway (the gateway may not depend on how a node is built, nor the node on HTTP).
 */
import type {
  AdminEntities,
  AdminMember,
  AdminSource,
  ChannelSnapshot,
  EntityMetricsSnapshot,
  MembersReport,
  MetricsSnapshot,
  MigrationInfo,
  MigrationsReport,
  PartitionsReport,
} from '../gateway/admin-source.js';
import { compareCodeUnits } from '../core/text.js';
import type { ClientGatewayStats } from '../gateway/client-gateway-stats.js';
import type { EntityServiceStats } from '../entities/entity-service.js';
import type { FlotillaNode, NodeStats } from '../node/node-api.js';
import type { MigrationRecord } from '../partitions/migration-history.js';
import { sumTraffic, type TrafficStats } from '../transport/counters.js';

/**
 * The admin API's view of `node`. Every read is synchronous and cheap; `kv` (when the node
 * has one) goes to the key's owner. `entities` is always there: a node hosting none
 * reports no types and no active entities. `clients` reads the node's client gateway, which
 * may start after the admin API (undefined while there is none).
 */
export function toAdminSource(node: FlotillaNode, clients: () => ClientGatewayStats | undefined = () => undefined): AdminSource {
  return {
    nodeId: node.nodeId,
    health: () => node.health(),
    members: () => membersReport(node),
    partitions: () => partitionsReport(node),
    migrations: () => migrationsReport(node),
    metricsSnapshot: () => withClients(metricsSnapshot(node), clients()),
    entities: adminEntities(node),
    ...(node.kv === undefined ? {} : { kv: node.kv }),
  };
}

function adminEntities(node: FlotillaNode): AdminEntities {
  return {
    types: () => Object.keys(node.entityStats()?.activeByType ?? {}),
    active: () => node.activeEntities(),
  };
}

/** The entity counters as the metrics read them; undefined when the node hosts no entities. */
export function entityMetrics(stats: EntityServiceStats | undefined): EntityMetricsSnapshot | undefined {
  if (stats === undefined) return undefined;
  return {
    activeByType: stats.activeByType,
    activations: stats.activations,
    passivations: stats.passivations,
    evictions: stats.evictions,
    callOutcomes: stats.callOutcomes,
    mailboxRejections: stats.mailboxRejections,
    loads: stats.loads,
    writes: stats.writes,
    staleEpochWrites: stats.staleEpochWrites,
    callLatency: { boundsMs: stats.callLatencyBoundsMs, counts: stats.callLatencyCounts, sumMs: stats.callLatencySumMs },
  };
}

function membersReport(node: FlotillaNode): MembersReport {
  const view = node.membersView();
  const joinVersions = new Map((view?.members ?? []).map((r) => [r.nodeId, r.joinVersion]));
  const members = node.members().map(
    (m): AdminMember => ({
      nodeId: m.nodeId,
      address: m.address,
      state: m.state,
      joinVersion: joinVersions.get(m.nodeId) ?? null,
      incarnation: m.incarnation,
      tags: m.tags,
      clockOffsetMs: m.clockOffsetMs ?? null,
    }),
  );
  members.sort((a, b) => (a.joinVersion ?? Infinity) - (b.joinVersion ?? Infinity) || compareCodeUnits(a.nodeId, b.nodeId));
  return { version: view?.version ?? 0, master: node.master() ?? null, members };
}

function partitionsReport(node: FlotillaNode): PartitionsReport {
  const table = node.partitionTable();
  if (table === undefined) return { version: 0, partitionCount: 0, partitions: [] };
  return {
    version: table.version,
    partitionCount: table.partitionCount,
    partitions: table.assignments.map((a) => ({ partition: a.partition, owner: a.owner, backups: a.backups, epoch: a.epoch })),
  };
}

function migrationInfo(record: MigrationRecord): MigrationInfo {
  const base: MigrationInfo = {
    id: record.migrationId,
    partition: record.partition,
    source: record.source,
    destination: record.destination,
    role: record.role,
    perspective: record.perspective,
    state: record.state === 'running' ? 'copying' : record.state,
    startedAt: record.startedAt,
  };
  if (record.state !== 'finished') return base;
  const completed = record.outcome === 'completed';
  const reason = completed ? undefined : (record.reason ?? record.outcome);
  return {
    ...base,
    ...(record.finishedAt === undefined ? {} : { finishedAt: record.finishedAt }),
    outcome: completed ? 'completed' : 'cancelled',
    ...(reason === undefined ? {} : { reason }),
  };
}

function migrationsReport(node: FlotillaNode): MigrationsReport {
  const { inFlight, recent } = node.migrations();
  return { inFlight: inFlight.map(migrationInfo), recent: recent.map(migrationInfo) };
}

function channel(parts: readonly TrafficStats[]): ChannelSnapshot {
  const { framesIn, framesOut, bytesIn, bytesOut, dropped } = sumTraffic(parts);
  const counts: Record<string, number> = {};
  for (const [reason, count] of Object.entries(dropped)) if (count !== undefined) counts[reason] = count;
  return { framesIn, framesOut, bytesIn, bytesOut, dropped: counts };
}

function transportSnapshot(stats: NodeStats): MetricsSnapshot['transport'] {
  const t = stats.transport;
  if (t === undefined) return { connectionsOpen: { inbound: 0, outbound: 0 }, channels: {} };
  const udp: TrafficStats = { framesIn: t.udp.datagramsIn, framesOut: t.udp.datagramsOut, bytesIn: t.udp.bytesIn, bytesOut: t.udp.bytesOut, dropped: t.udp.dropped };
  return {
    connectionsOpen: { inbound: t.tcp.inbound.open, outbound: t.tcp.pool.open },
    channels: { udp: channel([udp]), tcp: channel([t.tcp.inbound, t.tcp.pool]) },
  };
}

/** The measured clock offset of every live member that has one. */
function clockOffsets(node: FlotillaNode): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of node.members()) if (m.clockOffsetMs !== undefined && (m.state === 'alive' || m.state === 'suspect')) out[m.nodeId] = m.clockOffsetMs;
  return out;
}

function withClients(snapshot: MetricsSnapshot, clients: ClientGatewayStats | undefined): MetricsSnapshot {
  return clients === undefined ? snapshot : { ...snapshot, clients };
}

function metricsSnapshot(node: FlotillaNode): MetricsSnapshot {
  const stats = node.stats();
  const m = stats.membership;
  const table = node.partitionTable();
  const migrations = node.migrations();
  let owned = 0;
  let backedUp = 0;
  for (const a of table?.assignments ?? []) {
    if (a.owner === node.nodeId) owned++;
    else if (a.backups.includes(node.nodeId)) backedUp++;
  }
  const finished = migrations.recent.filter((r) => r.state === 'finished');
  const entities = entityMetrics(node.entityStats());
  const watch = node.kv?.watchStats();
  const maps = node.kv?.status();
  return {
    membership: {
      members: m.members,
      incarnation: m.incarnation,
      viewVersion: m.viewVersion,
      awarenessScore: m.awarenessScore,
      probes: m.probes,
      probeFailures: m.probeFailures,
      indirectProbes: m.indirectProbes,
      suspicions: m.suspicions,
      refutations: m.refutations,
      deathsDeclared: m.deathsDeclared,
      clockOffsetsMs: clockOffsets(node),
      clockSkewWarnings: m.clockSkewWarnings,
      clockSkewRefusals: m.clockSkewRefusals,
    },
    messages: { sent: { ...m.sent }, received: { ...m.received } },
    transport: transportSnapshot(stats),
    partitions: { tableVersion: table?.version ?? 0, partitionCount: table?.partitionCount ?? 0, owned, backedUp },
    migrations: {
      inFlight: migrations.inFlight.length,
      completed: finished.filter((r) => r.outcome === 'completed').length,
      cancelled: finished.filter((r) => r.outcome !== 'completed').length,
      ...(migrations.totals === undefined ? {} : { totals: migrations.totals }),
    },
    quorum: {
      state: stats.quorum.kind,
      minority: stats.quorum.minority,
      readOnly: node.isReadOnly(),
      liveMembers: stats.quorum.liveMembers,
      expectedSize: stats.quorum.expectedSize,
    },
    ...(entities === undefined ? {} : { entities }),
    ...(watch === undefined ? {} : { watch }),
    ...(maps === undefined ? {} : { maps }),
  };
}
