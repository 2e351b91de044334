/**
 * Cost of running the partition coordinator: from a member joining to a quiescent table
 * (every copy made and committed, every node on the final version) in the in-process
 * harness, in virtual time and in real CPU time, for 3 -> 4 and 100 -> 101 members; and
 * the master's CPU time per members view change at 1000 members and 2048 partitions.
 */
import type { MemberRecord, NodeId } from '../src/core/model.js';
import { computeAssignment, MembersView, PartitionCoordinator, type PartitionTableReader } from '../src/partitions/index.js';
import { ClusterPartitionTable } from '../src/partitions/index.js';
import { CoordinatorHarness } from '../test/partitions/coordinator-harness.js';
import { summarize, type Row, type Suite } from './harness.js';

/** Virtual copy time of one migration and network delay of one message. */
const copyMs = 10;
const delayMs = 1;
/** View changes timed at 1000 members. */
const viewChangeRepeats = 20;

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
  const h = new CoordinatorHarness({ partitionCount, backupCount: 1, record: false, copyMs: () => copyMs, delayMs: () => delayMs });
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
    migrations: String(master.status().counters.migrationsStarted - startedBefore),
    'table versions': String(master.table().version - versionBefore),
    'virtual ms': String(h.now - joinedAt),
    'CPU ms (p50)': cpu,
    'CPU ms (p99)': '',
  };
}

function record(i: number): MemberRecord {
  return { nodeId: nodeId(i), address: `10.0.${i >> 8}.${i & 255}:7946`, joinVersion: i, status: 'active', incarnation: 1, tags: { zone: `zone-${i % 3}` } };
}

/** A master of `members` members, past its handover sync, holding the balanced table. */
function activeMaster(view: MembersView, partitionCount: number, table: PartitionTableReader): PartitionCoordinator {
  const c = new PartitionCoordinator({ self: nodeId(0), now: 0, table: table.toData(), config: { partitionCount, backupCount: 1 } });
  c.onMembersView(view, 0);
  c.tick(c.nextDeadline()!);
  while (c.pollTransmit() !== undefined);
  while (c.pollEvent() !== undefined);
  return c;
}

function viewChangeRows(members: number, partitionCount: number): Row[] {
  const view = new MembersView({ version: 1, members: Array.from({ length: members }, (_, i) => record(i)) });
  const table = new ClusterPartitionTable(partitionCount);
  table.applyAssignments(computeAssignment(view.activeMembers(), partitionCount, 1));
  const cases: [string, MembersView][] = [
    ['one member joins', view.withMember(record(members))],
    ['one member crashes', view.without(nodeId(members - 1))],
  ];
  return cases.map(([name, next]) => {
    const samples: number[] = [];
    let transmits = 0;
    let versions = 0;
    let migrations = 0;
    for (let r = 0; r < viewChangeRepeats; r++) {
      const c = activeMaster(view, partitionCount, table);
      const versionBefore = c.table().version;
      transmits = 0;
      samples.push(
        cpuMs(() => {
          c.onMembersView(next, 10_000);
          while (c.pollTransmit() !== undefined) transmits++;
          while (c.pollEvent() !== undefined);
        }),
      );
      versions = c.table().version - versionBefore;
      migrations = c.status().counters.migrationsStarted;
    }
    const t = summarize(samples);
    return {
      case: `master CPU per view change at ${members} members: ${name} (${transmits} messages out)`,
      partitions: String(partitionCount),
      migrations: `${migrations} started`,
      'table versions': String(versions),
      'virtual ms': '',
      'CPU ms (p50)': t.p50,
      'CPU ms (p99)': t.p99,
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
