/**
 * Migration ordering: turns a rebalance plan into waves that run one after another, so
 * that no partition ever has fewer live replicas than it had before or will have after
 * (copy before drop, promote before the old owner lets go), and no node takes part in
 * more than a bounded number of migrations at once.
 */
import { assert, FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { RebalanceMove } from './rebalance.js';

/** Options of `orderMigrations`. */
export interface MigrationOrderOptions {
  /**
   * Most steps one node takes part in (as source, destination or data source) within a
   * wave. Default 2. Higher finishes a rebalance in fewer waves but loads each node more.
   */
  readonly parallelPerNodeMax?: number;
}

/** A move placed in a wave; every step of wave `k` runs after all steps of wave `k - 1` finish. */
export interface MigrationStep extends RebalanceMove {
  readonly wave: number;
}

/**
 * Stages within one partition, in order:
 * 0. data copies whose data source keeps its replica until the end;
 * 1. a `move` that releases the data source itself (after every other copy read from it);
 * 2. the promotion of an existing replica to owner;
 * 3. demotions, shifts, vacated slots and drops.
 * Stages 1 and 2 start only once every earlier data stage has finished (a strictly
 * earlier wave); stage 3 may share the wave of stage 2, applied after it.
 */
function stageOf(move: RebalanceMove): number {
  if (move.needsData) return move.releasesSource && move.source === move.dataSource ? 1 : 0;
  return move.kind === 'promote' ? 2 : 3;
}

const stageCount = 4;

/** Nodes a step occupies. */
function participants(move: RebalanceMove): NodeId[] {
  const nodes = new Set<NodeId>();
  if (move.source !== undefined) nodes.add(move.source);
  if (move.destination !== undefined) nodes.add(move.destination);
  if (move.needsData && move.dataSource !== undefined) nodes.add(move.dataSource);
  return [...nodes];
}

/** Scheduling state of one partition's moves. */
interface PartitionProgress {
  /** Per stage, the moves not yet placed, each with the nodes it occupies. */
  readonly stages: { readonly move: RebalanceMove; readonly nodes: readonly NodeId[] }[][];
  /** Per stage, the last wave a step of that stage was placed in (-1: none yet). */
  readonly lastWave: number[];
  remaining: number;
}

/**
 * Order `moves` (from `planRebalance`) into waves. Within a partition: copies to new
 * replicas come before anything that drops one, and a promotion comes before the old
 * owner is demoted or drops its replica, so the live replica count never falls below
 * `min(before, after)`. Within a wave no node occupies more than `parallelPerNodeMax`
 * steps. Steps inside a wave are sorted by partition, then stage, then replica index,
 * which is also a safe order to apply them in.
 *
 * @throws FlotillaError FLO_INVALID_ARGUMENT when `parallelPerNodeMax` is not a positive integer.
 */
export function orderMigrations(moves: readonly RebalanceMove[], options: MigrationOrderOptions = {}): MigrationStep[][] {
  const parallelPerNodeMax = options.parallelPerNodeMax ?? 2;
  if (!Number.isSafeInteger(parallelPerNodeMax) || parallelPerNodeMax < 1) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `parallelPerNodeMax must be a positive integer, got ${String(parallelPerNodeMax)}`);
  }
  let pending = groupByPartition(moves);
  const waves: MigrationStep[][] = [];
  // Every wave places at least one step (the first pending partition's next step always fits an empty wave).
  const waveCountMax = moves.length;
  while (pending.length > 0) {
    const wave = waves.length;
    assert(wave < waveCountMax, 'migration ordering made no progress');
    const load = new Map<NodeId, number>();
    const steps: MigrationStep[] = [];
    for (const progress of pending) scheduleWave(progress, wave, load, parallelPerNodeMax, steps);
    waves.push(steps);
    pending = pending.filter((p) => p.remaining > 0);
  }
  return waves;
}

function groupByPartition(moves: readonly RebalanceMove[]): PartitionProgress[] {
  const byPartition = new Map<number, PartitionProgress>();
  for (const move of moves) {
    let progress = byPartition.get(move.partition);
    if (progress === undefined) {
      progress = { stages: Array.from({ length: stageCount }, () => []), lastWave: new Array<number>(stageCount).fill(-1), remaining: 0 };
      byPartition.set(move.partition, progress);
    }
    progress.stages[stageOf(move)]!.push({ move, nodes: participants(move) });
    progress.remaining++;
  }
  for (const progress of byPartition.values()) for (const stage of progress.stages) stage.sort((a, b) => a.move.replicaIndex - b.move.replicaIndex);
  return [...byPartition.entries()].sort((a, b) => a[0] - b[0]).map(([, progress]) => progress);
}

/** Place what this partition can in `wave`, stage by stage, stopping at the first stage not finished. */
function scheduleWave(progress: PartitionProgress, wave: number, load: Map<NodeId, number>, parallelPerNodeMax: number, out: MigrationStep[]): void {
  for (let stage = 0; stage < stageCount; stage++) {
    const queue = progress.stages[stage]!;
    if (queue.length === 0) continue;
    if (!stageMayStart(progress, stage, wave)) return;
    for (let i = 0; i < queue.length; ) {
      const { move, nodes } = queue[i]!;
      if (nodes.some((node) => (load.get(node) ?? 0) >= parallelPerNodeMax)) {
        i++;
        continue;
      }
      for (const node of nodes) load.set(node, (load.get(node) ?? 0) + 1);
      out.push({ ...move, wave });
      queue.splice(i, 1);
      progress.lastWave[stage] = wave;
      progress.remaining--;
    }
    if (queue.length > 0) return;
  }
}

function stageMayStart(progress: PartitionProgress, stage: number, wave: number): boolean {
  for (let earlier = 0; earlier < stage; earlier++) {
    if (progress.stages[earlier]!.length > 0) return false;
    const last = progress.lastWave[earlier]!;
    // Data stages must have finished in an earlier wave; a promotion may share the wave of the steps after it.
    const mustPrecede = earlier <= 1 || stage <= 2;
    if (mustPrecede && last >= wave) return false;
  }
  return true;
}
