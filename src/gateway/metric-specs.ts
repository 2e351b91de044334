/**
 * The Flotilla metric catalog: every `flotilla_*` metric the admin server exports, with
 * how its samples are read from a `MetricsSnapshot`. One table, so the names, their help
 * text and the docs cannot drift apart.
 */
import type {
  AdminMemberState,
  EntityMetricsSnapshot,
  MapMetricsSnapshot,
  LatencyHistogramSnapshot,
  MetricsSnapshot,
  MigrationEnd,
  MigrationRole,
  QuorumStateName,
  TrafficCountSnapshot,
  WatchMetricsSnapshot,
} from './admin-source.js';

/** One labelled value of a metric. */
export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** How to export one metric. */
export interface MetricSpec {
  readonly name: string;
  readonly help: string;
  /** Counters are monotonic over the node's life; gauges are current values. */
  readonly kind: 'counter' | 'gauge';
  /** Labels besides `node_id` (which every metric carries). */
  readonly labelNames: readonly string[];
  readonly read: (snapshot: MetricsSnapshot) => readonly MetricSample[];
}

const MEMBER_STATES: readonly AdminMemberState[] = ['alive', 'suspect', 'dead', 'left'];
const QUORUM_STATES: readonly QuorumStateName[] = ['unknown', 'healthy', 'suspect', 'partitioned'];
const MIGRATION_ROLES: readonly MigrationRole[] = ['master', 'source', 'destination'];
const MIGRATION_ENDS: readonly MigrationEnd[] = ['completed', 'cancelled', 'timed-out', 'failed', 'abandoned'];

function one(value: number): readonly MetricSample[] {
  return [{ labels: {}, value }];
}

function scalar(name: string, help: string, kind: MetricSpec['kind'], read: (s: MetricsSnapshot) => number): MetricSpec {
  return { name, help, kind, labelNames: [], read: (s) => one(read(s)) };
}

function byType(pick: (s: MetricsSnapshot) => Readonly<Record<string, TrafficCountSnapshot>>, field: keyof TrafficCountSnapshot) {
  return (s: MetricsSnapshot): MetricSample[] =>
    Object.entries(pick(s)).map(([type, count]) => ({ labels: { type }, value: count[field] }));
}

function byChannel(direction: 'in' | 'out', field: 'frames' | 'bytes') {
  return (s: MetricsSnapshot): MetricSample[] =>
    Object.entries(s.transport.channels).map(([channel, c]) => ({
      labels: { channel, direction },
      value: field === 'frames' ? (direction === 'in' ? c.framesIn : c.framesOut) : direction === 'in' ? c.bytesIn : c.bytesOut,
    }));
}

function bothDirections(field: 'frames' | 'bytes') {
  return (s: MetricsSnapshot): MetricSample[] => [...byChannel('in', field)(s), ...byChannel('out', field)(s)];
}

// Every role (and outcome) is exported from the start, at 0, so rate() and alerts see a
// series before the first migration; a node that keeps no totals exports none.
function migrationsStarted(s: MetricsSnapshot): MetricSample[] {
  const totals = s.migrations.totals;
  return totals === undefined ? [] : MIGRATION_ROLES.map((role) => ({ labels: { role }, value: totals.started[role] }));
}

function migrationsFinished(s: MetricsSnapshot): MetricSample[] {
  const totals = s.migrations.totals;
  if (totals === undefined) return [];
  return MIGRATION_ROLES.flatMap((role) => MIGRATION_ENDS.map((outcome) => ({ labels: { role, outcome }, value: totals.finished[role][outcome] })));
}

function drops(s: MetricsSnapshot): MetricSample[] {
  return Object.entries(s.transport.channels).flatMap(([channel, c]) =>
    Object.entries(c.dropped).map(([reason, value]) => ({ labels: { channel, reason }, value })),
  );
}

const membership: readonly MetricSpec[] = [
  {
    name: 'flotilla_members',
    help: 'Members this node knows, by SWIM state.',
    kind: 'gauge',
    labelNames: ['state'],
    read: (s) => MEMBER_STATES.map((state) => ({ labels: { state }, value: s.membership.members[state] })),
  },
  scalar('flotilla_membership_incarnation', 'This node\'s incarnation number.', 'gauge', (s) => s.membership.incarnation),
  scalar('flotilla_membership_view_version', 'Version of the master\'s members view this node holds.', 'gauge', (s) => s.membership.viewVersion),
  scalar('flotilla_membership_awareness_score', 'Lifeguard local health score (0 is healthy).', 'gauge', (s) => s.membership.awarenessScore),
  scalar('flotilla_probes_total', 'Direct probes sent.', 'counter', (s) => s.membership.probes),
  scalar('flotilla_probe_failures_total', 'Probes that got no ack in time.', 'counter', (s) => s.membership.probeFailures),
  scalar('flotilla_indirect_probes_total', 'Indirect probes requested through other members.', 'counter', (s) => s.membership.indirectProbes),
  scalar('flotilla_suspicions_total', 'Members this node came to suspect.', 'counter', (s) => s.membership.suspicions),
  scalar('flotilla_refutations_total', 'Suspicions of this node that it refuted.', 'counter', (s) => s.membership.refutations),
  scalar('flotilla_deaths_declared_total', 'Members this node declared dead.', 'counter', (s) => s.membership.deathsDeclared),
  {
    name: 'flotilla_member_clock_offset_ms',
    help: 'A member\'s clock minus this node\'s, in ms, from probe round trips (exact within half a round trip).',
    kind: 'gauge',
    labelNames: ['member'],
    read: (s) => Object.entries(s.membership.clockOffsetsMs).map(([member, value]) => ({ labels: { member }, value })),
  },
  scalar('flotilla_clock_skew_warnings_total', 'Warnings about members whose clock is off beyond the warning threshold.', 'counter', (s) => s.membership.clockSkewWarnings),
  scalar('flotilla_clock_skew_refusals_total', 'Joiners this node refused as master for a clock beyond the drift bound (FLO_CLOCK_SKEW).', 'counter', (s) => s.membership.clockSkewRefusals),
];

const messages: readonly MetricSpec[] = [
  { name: 'flotilla_messages_sent_total', help: 'Protocol messages sent, by message type.', kind: 'counter', labelNames: ['type'], read: byType((s) => s.messages.sent, 'messages') },
  { name: 'flotilla_messages_received_total', help: 'Protocol messages received, by message type.', kind: 'counter', labelNames: ['type'], read: byType((s) => s.messages.received, 'messages') },
  { name: 'flotilla_message_bytes_sent_total', help: 'Bytes of protocol messages sent, by message type.', kind: 'counter', labelNames: ['type'], read: byType((s) => s.messages.sent, 'bytes') },
  { name: 'flotilla_message_bytes_received_total', help: 'Bytes of protocol messages received, by message type.', kind: 'counter', labelNames: ['type'], read: byType((s) => s.messages.received, 'bytes') },
];

const transport: readonly MetricSpec[] = [
  {
    name: 'flotilla_transport_connections_open',
    help: 'Open TCP connections, by direction (inbound accepted, outbound pooled).',
    kind: 'gauge',
    labelNames: ['direction'],
    read: (s) => [
      { labels: { direction: 'inbound' }, value: s.transport.connectionsOpen.inbound },
      { labels: { direction: 'outbound' }, value: s.transport.connectionsOpen.outbound },
    ],
  },
  { name: 'flotilla_transport_frames_total', help: 'Datagrams and frames, by channel and direction.', kind: 'counter', labelNames: ['channel', 'direction'], read: bothDirections('frames') },
  { name: 'flotilla_transport_bytes_total', help: 'Bytes on the wire, by channel and direction.', kind: 'counter', labelNames: ['channel', 'direction'], read: bothDirections('bytes') },
  { name: 'flotilla_transport_dropped_total', help: 'Datagrams, frames or connections dropped, by channel and reason.', kind: 'counter', labelNames: ['channel', 'reason'], read: drops },
];

const partitions: readonly MetricSpec[] = [
  scalar('flotilla_partition_table_version', 'Version of the partition table this node holds.', 'gauge', (s) => s.partitions.tableVersion),
  scalar('flotilla_partition_count', 'Number of partitions in the cluster.', 'gauge', (s) => s.partitions.partitionCount),
  scalar('flotilla_partitions_owned', 'Partitions this node owns.', 'gauge', (s) => s.partitions.owned),
  scalar('flotilla_partitions_backed_up', 'Partitions this node holds a backup of.', 'gauge', (s) => s.partitions.backedUp),
  scalar('flotilla_migrations_in_flight', 'Partition migrations in flight that involve this node.', 'gauge', (s) => s.migrations.inFlight),
  scalar('flotilla_migrations_completed_total', 'Partition migrations completed.', 'counter', (s) => s.migrations.completed),
  scalar('flotilla_migrations_cancelled_total', 'Partition migrations cancelled.', 'counter', (s) => s.migrations.cancelled),
  {
    name: 'flotilla_migrations_started_total',
    help: 'Partition migrations this node took part in, by its role (master, source, destination).',
    kind: 'counter',
    labelNames: ['role'],
    read: migrationsStarted,
  },
  {
    name: 'flotilla_migrations_finished_total',
    help: 'Partition migrations that ended, by this node\'s role and outcome (completed, cancelled, timed-out, failed, abandoned).',
    kind: 'counter',
    labelNames: ['role', 'outcome'],
    read: migrationsFinished,
  },
];

const quorum: readonly MetricSpec[] = [
  {
    name: 'flotilla_quorum_state',
    help: 'Quorum detector verdict: 1 for the current state, 0 for the others.',
    kind: 'gauge',
    labelNames: ['state'],
    read: (s) => QUORUM_STATES.map((state) => ({ labels: { state }, value: s.quorum.state === state ? 1 : 0 })),
  },
  scalar('flotilla_quorum_minority', '1 while the live member count is below quorum, else 0.', 'gauge', (s) => (s.quorum.minority ? 1 : 0)),
  scalar('flotilla_quorum_live_members', 'Live members counted by the quorum detector.', 'gauge', (s) => s.quorum.liveMembers),
  scalar('flotilla_quorum_expected_size', 'Expected cluster size the quorum detector compares against.', 'gauge', (s) => s.quorum.expectedSize),
];

// On a node that hosts no entities the labelled entity metrics have no series, and the
// unlabelled counters read 0 (`metrics.ts` gives them a series from the start).
function entityScalar(name: string, help: string, read: (e: EntityMetricsSnapshot) => number): MetricSpec {
  return { name, help, kind: 'counter', labelNames: [], read: (s) => (s.entities === undefined ? [] : one(read(s.entities))) };
}

function entityLabelled(label: string, pick: (e: EntityMetricsSnapshot) => Readonly<Record<string, number>>) {
  return (s: MetricsSnapshot): MetricSample[] =>
    s.entities === undefined ? [] : Object.entries(pick(s.entities)).map(([key, value]) => ({ labels: { [label]: key }, value }));
}

const entities: readonly MetricSpec[] = [
  { name: 'flotilla_entities_active', help: 'Entities active (in memory) on this node, by type.', kind: 'gauge', labelNames: ['type'], read: entityLabelled('type', (e) => e.activeByType) },
  entityScalar('flotilla_entity_activations_total', 'Entities activated on this node.', (e) => e.activations),
  entityScalar('flotilla_entity_passivations_total', 'Idle entities passivated (idle sweep or partition move).', (e) => e.passivations),
  entityScalar('flotilla_entity_evictions_total', 'Idle entities passivated early to stay within activeEntitiesMax.', (e) => e.evictions),
  {
    name: 'flotilla_entity_calls_total',
    help: 'Entity calls run on this node, by outcome (ok, or the error code).',
    kind: 'counter',
    labelNames: ['outcome'],
    read: entityLabelled('outcome', (e) => e.callOutcomes),
  },
  entityScalar('flotilla_entity_mailbox_rejections_total', 'Entity calls refused because the mailbox was full.', (e) => e.mailboxRejections),
  entityScalar('flotilla_entity_loads_total', 'Entity states loaded from storage.', (e) => e.loads),
  entityScalar('flotilla_entity_writes_total', 'Entity state writes sent to storage.', (e) => e.writes),
  entityScalar('flotilla_entity_stale_epoch_writes_total', 'Entity writes refused by storage for a stale partition epoch (a newer owner).', (e) => e.staleEpochWrites),
];

// A node that holds no maps has no relay: these read 0 there (`metrics.ts`).
function watchScalar(name: string, help: string, kind: MetricSpec['kind'], read: (w: WatchMetricsSnapshot) => number): MetricSpec {
  return { name, help, kind, labelNames: [], read: (s) => (s.watch === undefined ? [] : one(read(s.watch))) };
}

const watch: readonly MetricSpec[] = [
  watchScalar('flotilla_watch_polls_parked', 'Subscription relay long polls (kv.watch) parked on this node as owner now.', 'gauge', (w) => w.parked),
  watchScalar('flotilla_watch_parked_bytes', 'Bytes of the long polls parked on this node now (their requests, counted against the parked bound).', 'gauge', (w) => w.parkedBytes),
  watchScalar('flotilla_watch_polls_answered_total', 'Long polls answered by this node as owner, at once or after being parked.', 'counter', (w) => w.answered),
  watchScalar('flotilla_watch_polls_busy_total', 'Long polls answered at once, busy, because the parked bound (count or bytes) was reached.', 'counter', (w) => w.busy),
  watchScalar('flotilla_watch_relays_running', 'Subscription relays this node runs now (one per relayed subscription of a serverUrl client).', 'gauge', (w) => w.relays),
  watchScalar('flotilla_watch_relayed_changes_total', 'Changes this node\'s relays received from owners and handed to their subscriptions.', 'counter', (w) => w.relayedChanges),
];

// A node that holds no maps reads 0 for these too.
function mapScalar(name: string, help: string, kind: MetricSpec['kind'], read: (m: MapMetricsSnapshot) => number): MetricSpec {
  return { name, help, kind, labelNames: [], read: (s) => (s.maps === undefined ? [] : one(read(s.maps))) };
}

const maps: readonly MetricSpec[] = [
  mapScalar('flotilla_map_writes_total', 'Map writes applied on this node as the partition\'s owner.', 'counter', (m) => m.writes),
  {
    name: 'flotilla_map_writes_refused_total',
    help: 'Map writes this node refused as owner before applying them, by reason (hlc-drift, too-few-copies).',
    kind: 'counter',
    labelNames: ['reason'],
    read: (s) =>
      s.maps === undefined
        ? []
        : [
            { labels: { reason: 'hlc-drift' }, value: s.maps.writesRefused },
            { labels: { reason: 'too-few-copies' }, value: s.maps.writesTooFewCopies },
          ],
  },
  mapScalar('flotilla_map_writes_unconfirmed_total', 'Map writes applied here whose backups did not confirm them (answered FLO_UNCONFIRMED).', 'counter', (m) => m.writesUnconfirmed),
  mapScalar('flotilla_map_async_replication_failures_total', 'Backup sends that failed in async backup mode, after the write was acknowledged.', 'counter', (m) => m.asyncReplicationFailures),
  mapScalar('flotilla_map_reads_total', 'Map reads served on this node as the partition\'s owner.', 'counter', (m) => m.reads),
  mapScalar('flotilla_map_reads_held_total', 'Reads answered FLO_PARTITION_SYNCING because data handed over after a merge was still on its way.', 'counter', (m) => m.readsHeld),
  mapScalar('flotilla_map_replicated_total', 'Changes applied on this node as a backup.', 'counter', (m) => m.replicated),
  mapScalar('flotilla_map_replicas_refused_total', 'Changes this node refused as a backup (an owner of an older epoch, or not a replica here).', 'counter', (m) => m.replicasRefused),
  mapScalar('flotilla_map_entries', 'Live map entries held on this node (owned, backed up or arriving), every map.', 'gauge', (m) => m.localEntries),
  mapScalar('flotilla_map_tombstones', 'Delete tombstones held on this node.', 'gauge', (m) => m.localTombstones),
  mapScalar('flotilla_map_tombstones_collected_total', 'Tombstones collected on this node after kv.tombstoneTtlMs.', 'counter', (m) => m.tombstonesCollected),
];

// A node without a client gateway has no series of these (nothing listens for clients).
const clients: readonly MetricSpec[] = [
  {
    name: 'flotilla_client_connections',
    help: 'Smart client connections open on this node\'s gateway, by state (authenticating, authenticated).',
    kind: 'gauge',
    labelNames: ['state'],
    read: (s) =>
      s.clients === undefined
        ? []
        : [
            { labels: { state: 'authenticating' }, value: s.clients.connections - s.clients.authenticated },
            { labels: { state: 'authenticated' }, value: s.clients.authenticated },
          ],
  },
  {
    name: 'flotilla_client_ops_total',
    help: 'Map operations and entity calls the gateway answered, by outcome (ok, or the error code).',
    kind: 'counter',
    labelNames: ['outcome'],
    read: (s) => (s.clients === undefined ? [] : Object.entries(s.clients.ops).map(([outcome, value]) => ({ labels: { outcome }, value }))),
  },
  {
    name: 'flotilla_client_auth_failures_total',
    help: 'Client connections refused or closed by authentication (AUTH_FAIL), by code.',
    kind: 'counter',
    labelNames: ['code'],
    read: (s) => (s.clients === undefined ? [] : Object.entries(s.clients.authFailures).map(([code, value]) => ({ labels: { code }, value }))),
  },
  {
    name: 'flotilla_client_frames_refused_total',
    help: 'Frames of authenticated client connections that could not be read (answered ERROR).',
    kind: 'counter',
    labelNames: [],
    read: (s) => (s.clients === undefined ? [] : one(s.clients.framesRefused)),
  },
];

/** Every Flotilla counter and gauge read from a `MetricsSnapshot`, in export order. */
export const METRIC_SPECS: readonly MetricSpec[] = [...membership, ...messages, ...transport, ...partitions, ...quorum, ...entities, ...watch, ...maps, ...clients];

/** How to export one histogram kept by the node as bucket counts. */
export interface HistogramSpec {
  readonly name: string;
  readonly help: string;
  /** The histogram, in ms; undefined exports no series. */
  readonly read: (snapshot: MetricsSnapshot) => LatencyHistogramSnapshot | undefined;
}

/** Every Flotilla histogram, exported in seconds. */
export const HISTOGRAM_SPECS: readonly HistogramSpec[] = [
  { name: 'flotilla_entity_call_duration_seconds', help: 'Duration of entity calls run on this node, from arrival to outcome.', read: (s) => s.entities?.callLatency },
];
