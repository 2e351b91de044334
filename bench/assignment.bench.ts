/**
 * Cost of partition assignment, which the master runs on every membership change:
 * `computeAssignment` from scratch and with a previous table plus one joining member,
 * for 271 and 2048 partitions at 3, 100 and 1000 members; and the rebalance that follows
 * a 4th member joining 3 (`planRebalance` + `orderMigrations`).
 */
import { computeAssignment, orderMigrations, planRebalance, type ReplicaAssignment } from '../src/partitions/index.js';
import { measureLatencyMs, type Row, type Suite } from './harness.js';

const backupCount = 1;
/** Enough samples for a stable p99 without making the 1000-member cases slow. */
const repeats = 200;
const zonesCount = 3;

interface BenchMember {
  readonly nodeId: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** `n` members spread over three zones, so the zone-aware paths are part of the cost. */
function membersOf(n: number): BenchMember[] {
  return Array.from({ length: n }, (_, i) => ({ nodeId: `node-${String(i).padStart(4, '0')}`, tags: { zone: `zone-${i % zonesCount}` } }));
}

function assignmentRows(partitionCount: number, memberCount: number): Row[] {
  const before = membersOf(memberCount);
  const after = membersOf(memberCount + 1);
  let sink = 0;
  const fromScratch = measureLatencyMs(() => {
    sink += computeAssignment(before, partitionCount, backupCount).length;
  }, repeats);
  const previous = computeAssignment(before, partitionCount, backupCount);
  const withJoin = measureLatencyMs(() => {
    sink += computeAssignment(after, partitionCount, backupCount, previous).length;
  }, repeats);
  if (sink === 0) throw new Error('unreachable: keeps the results alive');
  const row = (kind: string, t: { p50: number; p99: number; max: number }): Row => ({
    case: `computeAssignment, ${kind}`,
    partitions: String(partitionCount),
    members: String(memberCount),
    'p50 ms': t.p50,
    'p99 ms': t.p99,
    'max ms': t.max,
  });
  return [row('from scratch', fromScratch), row('previous + 1 joining', withJoin)];
}

function rebalanceRow(): Row {
  const before: ReplicaAssignment[] = computeAssignment(membersOf(3), 271, backupCount);
  const after = computeAssignment(membersOf(4), 271, backupCount, before);
  let waves = 0;
  let moves = 0;
  const t = measureLatencyMs(() => {
    const plan = planRebalance(before, after);
    moves = plan.length;
    waves = orderMigrations(plan, { parallelPerNodeMax: 2 }).length;
  }, repeats);
  return {
    case: `planRebalance + orderMigrations (${moves} moves, ${waves} waves)`,
    partitions: '271',
    members: '3 -> 4',
    'p50 ms': t.p50,
    'p99 ms': t.p99,
    'max ms': t.max,
  };
}

export const suites: Suite[] = [
  {
    id: 'assignment',
    title: 'Partition assignment and rebalance planning',
    notes: [
      'Time of one `computeAssignment` call (one backup, members spread over three zones), from scratch',
      'and from a previous table with one member joining, over 200 runs each; then the plan and the',
      'migration order for a 4th member joining 3 (271 partitions, at most 2 steps per node per wave).',
      '',
      '**Target:** 2048 partitions at 1000 members well under 20 ms.',
    ].join('\n'),
    run(): Row[] {
      const rows: Row[] = [];
      for (const partitionCount of [271, 2048]) {
        for (const memberCount of [3, 100, 1000]) rows.push(...assignmentRows(partitionCount, memberCount));
      }
      rows.push(rebalanceRow());
      return rows;
    },
  },
];
