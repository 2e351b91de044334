import { afterEach, describe, expect, it } from 'vitest';
import type { MigrationParticipant, ParticipantRole } from '../../src/sharding/participant.js';
import { waitFor } from './helpers.js';
import {
  eachLimited,
  FAST_PARTITIONS,
  keys,
  mismatches,
  startPartitionCluster,
  startPartitionNode,
  stopNodes,
  tableProblem,
  waitForReplicasOnly,
  WriteLoop,
  type PartitionNode,
} from './partition-harness.js';

/** A participant with no data whose snapshot stalls, while closed, after its first (empty) chunk: it holds migrations open. */
class Gate implements MigrationParticipant {
  readonly name = 'gate';
  static closed = false;
  private static waiters: (() => void)[] = [];
  static open(): void {
    Gate.closed = false;
    for (const wake of Gate.waiters.splice(0)) wake();
  }
  async *exportChunks(): AsyncIterable<Uint8Array> {
    yield new Uint8Array(0);
    while (Gate.closed) await new Promise<void>((resolve) => Gate.waiters.push(resolve));
  }
  beginCapture(): void {}
  takeDeltas(): Uint8Array[] {
    return [];
  }
  endCapture(): void {}
  applyChunk(): void {}
  applyDelta(): void {}
  finalize(_p: number, _role: ParticipantRole): void {}
  cancel(): void {}
  merge(): void {}
}

let nodes: PartitionNode[] = [];
afterEach(async () => {
  Gate.open();
  await stopNodes(nodes);
  nodes = [];
});

describe('a destination dies mid-migration', () => {
  it('cancels its migrations; the old owners keep serving and nothing is lost', async () => {
    const options = { ...FAST_PARTITIONS, participants: [new Gate()] };
    nodes = await startPartitionCluster(3, options);
    await waitFor(() => tableProblem(nodes) === undefined, 'a complete table on 3 nodes', 20_000);
    const ks = keys(1_000);
    await eachLimited(ks, 64, (k, i) => nodes[i % 3]!.service.kvPut(k, i));

    Gate.closed = true;
    const n4 = await startPartitionNode('n4', [nodes[0]!.node.address], { ...FAST_PARTITIONS, participants: [new Gate()] });
    await waitFor(() => n4.service.migrations().inFlight.length > 0, 'migrations into n4 under way');
    const loop = new WriteLoop(() => nodes[1]!);
    await waitFor(() => loop.count > 200, 'writes while n4 receives');

    await n4.node.stop();
    Gate.open();
    await waitFor(() => tableProblem(nodes) === undefined, 'the 3 nodes settle again', 30_000);
    await loop.stop();

    const after = nodes[0]!.service.table()!;
    // Nothing that needed data ever committed to n4.
    expect(after.assignments.some((a) => a.owner === 'n4' || a.backups.includes('n4'))).toBe(false);
    const cancelled = nodes.flatMap((n) => n.service.migrations().recent).filter((m) => m.destination === 'n4');
    expect(cancelled.length).toBeGreaterThan(0);
    expect(cancelled.every((m) => m.outcome !== 'completed')).toBe(true);
    expect(loop.errors).toEqual([]);
    expect(await mismatches(nodes, new Map(ks.map((k, i) => [k, i])))).toEqual([]);
    expect(await mismatches(nodes, loop.acked)).toEqual([]);
    await waitForReplicasOnly(nodes, 2 * (ks.length + loop.acked.size));
  }, 90_000);
});
