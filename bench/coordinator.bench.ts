/**
 * Cost of running the partition coordinator: from a member joining to a quiescent table
 * (every copy made and committed, every node on the final version) in the in-process
 * harness, in virtual time and in real CPU time, for 3 -> 4 and 100 -> 101 members; and
 * the master's CPU time per members view change at 1000 members and 2048 partitions,
 * taken on a master past its handover sync, so the view change runs failover, assignment,
 * the plan and the migration starts rather than the sync's early return.
 */
import type { MemberRecord, MembersViewData, NodeId } from '../src/core/model.js';
import { SeededRandom } from '../src/core/random.js';
import type { Transmit } from '../src/core/machine.js';
import type { Message, MigrateReady } from '../src/protocol/messages.js';
import { protocolCodec } from '../src/transport/index.js';
import { ClusterPartitionTable, computeAssignment, MembersView, PartitionCoordinator, type PartitionEvent } from '../src/partitions/index.js';
import { CoordinatorHarness } from '../test/partitions/coordinator-harness.js';
import { summarize, type Row, type Suite } from './harness.js';

/** Virtual copy time of one migration and network delay of one message. */
const copyMs = 10;
const delayMs = 1;
const backupCount = 1;
const zonesCount = 3;
/** View changes timed per case at 1000 members, after untimed warm-up ones (JIT). */
const viewChangeRepeats = 500;
const viewChangeWarmups = 20;
/** Seed of the joiner's zone and of which member dies, per iteration. */
const viewChangeSeed = 0x5eed;
/** The target: master CPU per view change at 1000 members and 2048 partitions, p99. */
const viewChangeTargetP99Ms = 20;

function nodeId(i: number): NodeId {
  return `node-${String(i).padStart(4, '0')}`;
}

/** What one timed call cost: the process's CPU time (every thread) and elapsed time. */
interface Cost {
  readonly cpuMs: number;
  readonly wallMs: number;
}

function measure(fn: () => void): Cost {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  fn();
  const wallMs = performance.now() - wall0;
  const used = process.cpuUsage(cpu0);
  return { cpuMs: (used.user + used.system) / 1000, wallMs };
}

/** Table columns shared by every row of the suite. */
function row(fields: {
  case: string;
  partitions: number;
  started: string;
  versions: string;
  messages?: string;
  virtualMs?: number;
  cpu: { p50: number; p99?: number; max?: number };
  wall?: { p50: number; p99: number };
  target?: string;
}): Row {
  return {
    case: fields.case,
    partitions: String(fields.partitions),
    'migrations started': fields.started,
    'table versions': fields.versions,
    'messages out': fields.messages ?? '',
    'virtual ms': fields.virtualMs === undefined ? '' : String(fields.virtualMs),
    'CPU ms p50': fields.cpu.p50,
    'CPU ms p99': fields.cpu.p99 ?? '',
    'CPU ms max': fields.cpu.max ?? '',
    'wall ms p50': fields.wall?.p50 ?? '',
    'wall ms p99': fields.wall?.p99 ?? '',
    target: fields.target ?? '',
  };
}

function joinRow(members: number, partitionCount: number): Row {
  const h = new CoordinatorHarness({ partitionCount, backupCount, record: false, copyMs: () => copyMs, delayMs: () => delayMs });
  h.start(Array.from({ length: members }, (_, i) => nodeId(i)));
  h.settle();
  const master = h.masterNode().coordinator;
  const versionBefore = master.table().version;
  const startedBefore = master.status().counters.migrationsStarted;
  const joinedAt = h.now;
  const cost = measure(() => {
    h.join(nodeId(members));
    h.settle();
  });
  return row({
    case: `join to quiescent table, ${members} -> ${members + 1} members (one run)`,
    partitions: partitionCount,
    started: String(master.status().counters.migrationsStarted - startedBefore),
    versions: String(master.table().version - versionBefore),
    virtualMs: h.now - joinedAt,
    cpu: { p50: cost.cpuMs },
  });
}

function record(i: number, zone = i % zonesCount): MemberRecord {
  return { nodeId: nodeId(i), address: address(i), joinVersion: i, status: 'active', incarnation: 1, tags: { zone: `zone-${zone}` } };
}

function address(i: number): string {
  return `10.0.${i >> 8}.${i & 255}:7946`;
}

/** Rounds of answering copies and committing after which a rebalance counts as stuck. */
const settleRoundsMax = 10_000;

/** One long-lived master and the cluster around it, moved on by view changes. */
interface Cluster {
  readonly c: PartitionCoordinator;
  view: MembersView;
  now: number;
  nextMember: number;
}

/**
 * A master of `members` members past its handover sync: it starts from the balanced
 * table, every member answers the handover fetch as a member holding that table does
 * (its version, nothing newer), which ends the sync the real way. Throws unless the
 * master is active with nothing pending.
 */
function activeMaster(members: number, partitionCount: number): Cluster {
  const view = new MembersView({ version: 1, members: Array.from({ length: members }, (_, i) => record(i)) });
  const table = new ClusterPartitionTable(partitionCount);
  table.applyAssignments(computeAssignment(view.activeMembers(), partitionCount, backupCount));
  const c = new PartitionCoordinator({ self: nodeId(0), now: 0, table: table.toData(), config: { partitionCount, backupCount } });
  c.onMembersView(view, 0);
  if (c.status().phase !== 'syncing') throw new Error('bench setup: a new master should sync first');
  for (const m of view.members()) {
    if (m.nodeId !== nodeId(0)) c.handle(m.address, { type: 'FetchPartitionTable', from: m.nodeId, knownVersion: table.version }, 1);
  }
  const cluster: Cluster = { c, view, now: 1, nextMember: members };
  settle(cluster);
  const status = c.status();
  if (status.phase !== 'active') throw new Error(`bench setup: master still ${String(status.phase)} after every member answered its sync`);
  if (status.tableVersion !== table.version || status.counters.migrationsStarted !== 0) {
    throw new Error('bench setup: the starting table is not the balanced target of the view');
  }
  return cluster;
}

/**
 * Play the members' part until the master's rebalance is over: every destination answers
 * each copy at once (`MigrateReady`, or `localMigrationReady` when the master is the
 * destination), and time moves 1 ms per round so commits fall due. `held` and `events`
 * are outputs already drained from the master.
 */
function settle(cluster: Cluster, held: Transmit<Message>[] = [], events: PartitionEvent[] = []): void {
  const { c } = cluster;
  for (let round = 0; round < settleRoundsMax; round++) {
    for (let t = c.pollTransmit(); t !== undefined; t = c.pollTransmit()) held.push(t);
    for (let e = c.pollEvent(); e !== undefined; e = c.pollEvent()) events.push(e);
    const readies: { from: string; message: MigrateReady }[] = [];
    for (const { to, message: m } of held) {
      if (m.type === 'MigrateStart' && to === cluster.view.member(m.destination)?.address) {
        readies.push({ from: to, message: { type: 'MigrateReady', migrationId: m.migrationId, partition: m.partition, lastSeq: 0 } });
      }
    }
    const localReady = events.flatMap((e) => (e.type === 'MigrationStart' && e.localRole === 'destination' ? [e.migration.migrationId] : []));
    held = [];
    events = [];
    const status = c.status();
    if (readies.length === 0 && localReady.length === 0 && status.migrationsInFlight === 0 && status.pendingPartitions === 0) return;
    cluster.now += 1;
    for (const r of readies) c.handle(r.from, r.message, cluster.now);
    for (const id of localReady) c.localMigrationReady(id, 0, cluster.now);
    const due = c.nextDeadline();
    if (due !== undefined && due <= cluster.now) c.tick(cluster.now);
  }
  throw new Error('bench: the rebalance did not settle');
}

/** A view change to time, given the settled cluster and a seeded source. */
interface ViewChangeCase {
  readonly name: string;
  readonly next: (cluster: Cluster, random: SeededRandom) => MembersView;
  /** Whether the change must publish a new table at once (a failover) or only start copies. */
  readonly publishes: boolean;
}

const joins: ViewChangeCase = {
  name: 'one member joins',
  next: (cluster, random) => cluster.view.withMember(record(cluster.nextMember++, random.int(zonesCount))),
  publishes: false,
};

const dies: ViewChangeCase = {
  name: 'one member dies',
  next: (cluster, random) => {
    // Any active member but the master: the master's death is another node's takeover, not this path.
    const others = cluster.view.activeMembers().filter((m) => m.nodeId !== nodeId(0));
    return cluster.view.withStatus(others[random.int(others.length)]!.nodeId, 'dead');
  },
  publishes: true,
};

interface ViewChangeSample {
  readonly cost: Cost;
  /** Encoding the messages out for the wire, as the node's TCP transport does, one by one. */
  readonly encodeCost: Cost;
  readonly started: number;
  readonly versions: number;
  readonly transmits: number;
}

/**
 * Time the master's handling of one view change (its outputs drained, not acted on),
 * check that it did the real work, then settle the rebalance it started, untimed.
 */
function timeViewChange(cluster: Cluster, vc: ViewChangeCase, random: SeededRandom): ViewChangeSample {
  const { c } = cluster;
  const before = c.status();
  if (before.phase !== 'active' || before.migrationsInFlight !== 0 || before.pendingPartitions !== 0) throw new Error('bench: master not settled');
  const next = vc.next(cluster, random);
  cluster.view = next;
  // The driver hands the coordinator the membership layer's data form: fresh records each
  // view (their tags frozen, as membership's are), which the coordinator copies and indexes.
  const data: MembersViewData = { version: next.version, members: next.members().map((m) => ({ ...m })) };
  let transmits = 0;
  const held: Transmit<Message>[] = [];
  const events: PartitionEvent[] = [];
  const cost = measure(() => {
    c.onMembersView(data, cluster.now);
    for (let t = c.pollTransmit(); t !== undefined; t = c.pollTransmit()) {
      transmits++;
      held.push(t);
    }
    for (let e = c.pollEvent(); e !== undefined; e = c.pollEvent()) events.push(e);
  });
  const after = c.status();
  const started = after.counters.migrationsStarted - before.counters.migrationsStarted;
  const versions = after.tableVersion - before.tableVersion;
  if (after.viewVersion !== next.version || !after.isMaster) throw new Error('bench: the master did not take the view');
  if (started === 0) throw new Error(`bench: ${vc.name} started no migration`);
  if (vc.publishes && versions === 0) throw new Error(`bench: ${vc.name} published no new table`);
  let bytes = 0;
  const encodeCost = measure(() => {
    for (const t of held) bytes += protocolCodec.encode(t.message).length;
  });
  if (bytes === 0) throw new Error('bench: nothing encoded');
  settle(cluster, held, events);
  return { cost, encodeCost, started, versions, transmits };
}

/** Drop dead members from the view once their partitions have moved, as membership eventually does. */
function forgetDead(cluster: Cluster): void {
  let view = cluster.view;
  for (const m of cluster.view.members()) if (m.status === 'dead') view = view.without(m.nodeId);
  if (view === cluster.view) return;
  cluster.view = view;
  cluster.c.onMembersView(view, cluster.now);
  settle(cluster);
}

/**
 * One master living through `viewChangeWarmups + viewChangeRepeats` rounds of churn at
 * about `members` members: each round a member joins, then one dies, each timed from a
 * settled table; the dead one is then dropped from the view (untimed).
 */
function viewChangeRows(members: number, partitionCount: number): Row[] {
  const cluster = activeMaster(members, partitionCount);
  const random = new SeededRandom(viewChangeSeed);
  const cases = [joins, dies];
  const samples = new Map<ViewChangeCase, ViewChangeSample[]>(cases.map((vc) => [vc, []]));
  for (let r = 0; r < viewChangeWarmups + viewChangeRepeats; r++) {
    for (const vc of cases) {
      const sample = timeViewChange(cluster, vc, random);
      if (r >= viewChangeWarmups) samples.get(vc)!.push(sample);
    }
    forgetDead(cluster);
  }
  return cases.flatMap((vc) => viewChangeCaseRows(vc, samples.get(vc)!, members, partitionCount));
}

/** The coordinator's row for one case, then the row for encoding what it sent. */
function viewChangeCaseRows(vc: ViewChangeCase, samples: readonly ViewChangeSample[], members: number, partitionCount: number): Row[] {
  console.log(`${vc.name}: migrations started per view change: ${samples.map((s) => s.started).join(' ')}`);
  const range = (pick: (s: ViewChangeSample) => number): string => {
    const values = samples.map(pick);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    return lo === hi ? String(lo) : `${lo}-${hi}`;
  };
  const common = {
    partitions: partitionCount,
    started: range((s) => s.started),
    versions: range((s) => s.versions),
    messages: range((s) => s.transmits),
  };
  const cpu = summarize(samples.map((s) => s.cost.cpuMs));
  const encodeCpu = summarize(samples.map((s) => s.encodeCost.cpuMs));
  return [
    row({
      ...common,
      case: `master per view change at ${members} members: ${vc.name} (${samples.length} times)`,
      cpu,
      wall: summarize(samples.map((s) => s.cost.wallMs)),
      target: `CPU p99 < ${viewChangeTargetP99Ms} ms: ${cpu.p99 < viewChangeTargetP99Ms ? 'met' : 'missed'}`,
    }),
    row({
      ...common,
      case: `... then encoding its messages out (TCP codec, one by one)`,
      cpu: encodeCpu,
      wall: summarize(samples.map((s) => s.encodeCost.wallMs)),
    }),
  ];
}

export const suites: Suite[] = [
  {
    id: 'coordinator',
    title: 'Partition coordinator: joins and view changes',
    notes: [
      'Join to quiescence: the in-process harness (one `PartitionCoordinator` per node, per-link FIFO',
      `delivery after ${delayMs} ms, a fake driver that answers each migration after ${copyMs} ms of virtual time,`,
      'one backup, at most 2 copies per node at once) from the view with the new member until every copy',
      'is committed and every node holds the final table. Virtual ms is the simulated duration (dominated',
      'by copies queued on the joiner, 2 at a time); CPU ms is the real cost of simulating every node, one run.',
      '',
      'View change: one master of about 1000 members (three zones), 2048 partitions, one backup, living',
      'through churn. It starts from the balanced table and ends its handover sync the real way (every member',
      'answers the fetch; the bench checks it is active with nothing pending). Then, each round, a member joins',
      'and then a member other than the master dies (zone and victim drawn from seed ' + `0x${viewChangeSeed.toString(16)}` + '); each change is',
      'timed from a settled table (no migration in flight): the master gets the view in its data form, as from',
      'the driver, and builds its `MembersView`, then runs failover, `computeAssignment`, the plan and its wave',
      'order, the migration starts and the publish; the outbox is drained. Untimed between changes,',
      'the bench answers every copy, lets the master commit, and drops the dead member from the view. It fails',
      'unless every change started migrations and every death published a table. ' + `${viewChangeWarmups} rounds warm up, ${viewChangeRepeats} are timed.`,
      'CPU ms is `process.cpuUsage()` around the change: every thread of the process, so it includes the',
      "garbage collector's helpers and the optimizing compiler when they run meanwhile, and the kernel adds up",
      "other threads' time in scheduler ticks (Node 20 has no per-thread CPU clock); wall ms is elapsed time on",
      'the main thread, which other processes on a shared machine inflate.',
      'Migrations started: the joiner takes at most 2 copies at once (`migrationsParallelPerNodeMax`), the others',
      "wait for those; a death starts the copies that rebuild the dead member's backups. The row under each case",
      "times encoding every message that change sent with the transport's TCP codec, one call per message as the",
      'TCP transport makes them (framing and socket writes not included): a publish is one table update per member.',
      '',
      `**Target:** a view change at 1000 members and 2048 partitions under ${viewChangeTargetP99Ms} ms of master CPU at p99.`,
    ].join('\n'),
    run(): Row[] {
      return [joinRow(3, 271), joinRow(100, 271), ...viewChangeRows(1000, 2048)];
    },
  },
];
