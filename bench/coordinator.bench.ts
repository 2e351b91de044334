/**
 * Cost of running the partition coordinator: from a member joining to a quiescent table
 * (every copy made and committed, every node on the final version) in the in-process
 * harness, in virtual time and in real CPU time, for 3 -> 4 and 100 -> 101 members; and
 * the master's CPU time per members view change at 1000 members and 2048 partitions,
 * taken on a master past its handover sync, so the view change runs failover, assignment,
 * the plan and the migration starts rather than the sync's early return.
 */
import type { MemberRecord, NodeId } from '../src/core/model.js';
import { SeededRandom } from '../src/core/random.js';
import { ClusterPartitionTable, computeAssignment, MembersView, PartitionCoordinator, type PartitionTableReader } from '../src/partitions/index.js';
import { CoordinatorHarness } from '../test/partitions/coordinator-harness.js';
import { summarize, type Row, type Suite } from './harness.js';

/** Virtual copy time of one migration and network delay of one message. */
const copyMs = 10;
const delayMs = 1;
const backupCount = 1;
const zonesCount = 3;
/** View changes timed per case at 1000 members, after untimed warm-up ones (JIT). */
const viewChangeRepeats = 200;
const viewChangeWarmups = 10;
/** Seed of the joiner's zone and of which member dies, per iteration. */
const viewChangeSeed = 0x5eed;

function nodeId(i: number): NodeId {
  return `node-${String(i).padStart(4, '0')}`;
}

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function joinRow(members: number, partitionCount: number): Row {
  const h = new CoordinatorHarness({ partitionCount, backupCount, record: false, copyMs: () => copyMs, delayMs: () => delayMs });
  h.start(Array.from({ length: members }, (_, i) => nodeId(i)));
  h.settle();
  const master = h.masterNode().coordinator;
  const versionBefore = master.table().version;
  const startedBefore = master.status().counters.migrationsStarted;
  const joinedAt = h.now;
  const cpu = cpuMs(() => {
    h.join(nodeId(members));
    h.settle();
  });
  return {
    case: `join to quiescent table, ${members} -> ${members + 1} members`,
    partitions: String(partitionCount),
    'migrations started': String(master.status().counters.migrationsStarted - startedBefore),
    'table versions': String(master.table().version - versionBefore),
    'messages out': '',
    'virtual ms': String(h.now - joinedAt),
    'CPU ms (p50)': cpu,
    'CPU ms (p99)': '',
    'CPU ms (max)': '',
  };
}

function record(i: number, zone = i % zonesCount): MemberRecord {
  return { nodeId: nodeId(i), address: address(i), joinVersion: i, status: 'active', incarnation: 1, tags: { zone: `zone-${zone}` } };
}

function address(i: number): string {
  return `10.0.${i >> 8}.${i & 255}:7946`;
}

/**
 * A master of `view` past its handover sync: every member answers the handover fetch as
 * a member holding `table` does (its version, nothing newer), which ends the sync and runs
 * the first reconcile; the outputs of that are drained. Throws unless the master is active
 * and the table is still `table` (the balanced target of `view`, so nothing is pending).
 */
function activeMaster(view: MembersView, partitionCount: number, table: PartitionTableReader): PartitionCoordinator {
  const c = new PartitionCoordinator({ self: nodeId(0), now: 0, table: table.toData(), config: { partitionCount, backupCount } });
  c.onMembersView(view, 0);
  for (const m of view.members()) {
    if (m.nodeId === nodeId(0)) continue;
    c.handle(m.address, { type: 'FetchPartitionTable', from: m.nodeId, knownVersion: table.version }, 1);
  }
  while (c.pollTransmit() !== undefined);
  while (c.pollEvent() !== undefined);
  const status = c.status();
  if (status.phase !== 'active') throw new Error(`bench setup: master still ${String(status.phase)} after every member answered its sync`);
  if (status.tableVersion !== table.version || status.pendingPartitions !== 0 || status.counters.migrationsStarted !== 0) {
    throw new Error('bench setup: the starting table is not the balanced target of the view');
  }
  return c;
}

/** One view change to time: the next view, given the settled one and a seeded source. */
interface ViewChangeCase {
  readonly name: string;
  readonly next: (view: MembersView, random: SeededRandom) => MembersView;
  /** Whether the change must publish a new table at once (a failover) or only start copies. */
  readonly publishes: boolean;
}

const viewChangeCases: readonly ViewChangeCase[] = [
  {
    name: 'one member joins',
    next: (view, random) => view.withMember(record(view.size, random.int(zonesCount))),
    publishes: false,
  },
  {
    name: 'one member dies',
    // Any member but the master (index 0): its death is another node's takeover, not this path.
    next: (view, random) => view.withStatus(nodeId(1 + random.int(view.size - 1)), 'dead'),
    publishes: true,
  },
];

interface ViewChangeSample {
  readonly cpuMs: number;
  readonly started: number;
  readonly versions: number;
  readonly transmits: number;
}

/** Time the master's handling of one view change, and check that it did the real work. */
function timeViewChange(c: PartitionCoordinator, next: MembersView, publishes: boolean): ViewChangeSample {
  const before = c.status();
  let transmits = 0;
  const cpu = cpuMs(() => {
    c.onMembersView(next, 10_000);
    while (c.pollTransmit() !== undefined) transmits++;
    while (c.pollEvent() !== undefined);
  });
  const after = c.status();
  const started = after.counters.migrationsStarted - before.counters.migrationsStarted;
  const versions = after.tableVersion - before.tableVersion;
  if (after.viewVersion !== next.version || !after.isMaster) throw new Error('bench: the master did not take the view');
  if (started === 0) throw new Error('bench: the view change started no migration');
  if (publishes && versions === 0) throw new Error('bench: a death published no new table');
  return { cpuMs: cpu, started, versions, transmits };
}

function viewChangeRows(members: number, partitionCount: number): Row[] {
  const view = new MembersView({ version: 1, members: Array.from({ length: members }, (_, i) => record(i)) });
  const table = new ClusterPartitionTable(partitionCount);
  table.applyAssignments(computeAssignment(view.activeMembers(), partitionCount, backupCount));
  return viewChangeCases.map((vc) => {
    const random = new SeededRandom(viewChangeSeed);
    const samples: ViewChangeSample[] = [];
    for (let r = 0; r < viewChangeWarmups + viewChangeRepeats; r++) {
      const sample = timeViewChange(activeMaster(view, partitionCount, table), vc.next(view, random), vc.publishes);
      if (r >= viewChangeWarmups) samples.push(sample);
    }
    console.log(`${vc.name}: migrations started per iteration: ${samples.map((s) => s.started).join(' ')}`);
    const cpu = summarize(samples.map((s) => s.cpuMs));
    const range = (pick: (s: ViewChangeSample) => number): string => {
      const values = samples.map(pick);
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      return lo === hi ? String(lo) : `${lo}-${hi}`;
    };
    return {
      case: `master CPU per view change at ${members} members: ${vc.name}`,
      partitions: String(partitionCount),
      'migrations started': range((s) => s.started),
      'table versions': range((s) => s.versions),
      'messages out': range((s) => s.transmits),
      'virtual ms': '',
      'CPU ms (p50)': cpu.p50,
      'CPU ms (p99)': cpu.p99,
      'CPU ms (max)': cpu.max,
    };
  });
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
      'by copies queued on the joiner, 2 at a time); CPU ms is the real cost of simulating every node.',
      '',
      'View change: CPU time of the master alone (failover, `computeAssignment`, plan, migration starts,',
      'the publish to every member) for one view change at 1000 members, 2048 partitions, three zones.',
      '',
      '**Target:** a view change at 1000 members and 2048 partitions well under 50 ms of master CPU.',
    ].join('\n'),
    run(): Row[] {
      return [joinRow(3, 271), joinRow(100, 271), ...viewChangeRows(1000, 2048)];
    },
  },
];
