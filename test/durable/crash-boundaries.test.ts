// A 20-step workflow whose node dies right after each of its commits in turn (the
// creation, every step, the completion): a new node on the same store resumes it, and
// every step ran exactly once. The "death" is a store that applies the commit and then
// never answers again, so the dead node can neither learn the outcome nor write more.
import { afterAll, describe, expect, it } from 'vitest';
import { defineWorkflow } from '../../src/durable/workflow-definition.js';
import { startNode } from '../../src/node/index.js';
import type { RunningNode } from '../../src/node/running-node.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { CommitResult, DurableCommit } from '../../src/storage/durable.js';
import type { Storage } from '../../src/storage/storage.js';
import { RecordingStorage } from '../node/fixtures/recording-storage.js';
import { FAST_TABLE } from '../node/entity-harness.js';
import { nodeOptions, waitFor } from '../node/helpers.js';

const STEPS = 20;
/** Commits of one execution: its creation, each step, its completion. */
const COMMITS = STEPS + 2;

const runs = new Map<string, number>();

const twenty = defineWorkflow('twenty-steps', async (ctx, input: { run: string }) => {
  let sum = 0;
  for (let i = 0; i < STEPS; i++) {
    sum += await ctx.activity(`step-${i}`, () => {
      const key = `${input.run}:${i}`;
      runs.set(key, (runs.get(key) ?? 0) + 1);
      return i;
    });
  }
  return sum;
});

/** A store that dies after its `limit`-th durable commit: that commit applies, nothing answers after. */
class DyingStorage extends RecordingStorage {
  private commits = 0;
  private dead = false;

  constructor(
    inner: Storage,
    private readonly limit: number,
  ) {
    super(inner);
  }

  override async commitDurable(commits: readonly DurableCommit[]): Promise<CommitResult[]> {
    if (this.dead) return never();
    const results = await super.commitDurable(commits);
    this.commits += commits.length;
    if (this.commits >= this.limit) {
      this.dead = true;
      return never();
    }
    return results;
  }
}

function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

describe('a workflow dying at every commit boundary', () => {
  const started: RunningNode[] = [];
  afterAll(async () => {
    await Promise.all(started.map((n) => n.stop()));
  });

  async function start(nodeId: string, storage: Storage): Promise<RunningNode> {
    const node = (await startNode(nodeOptions({ nodeId, forceForm: true, partitions: FAST_TABLE, workflows: [twenty], storage }))) as RunningNode;
    started.push(node);
    await waitFor(() => (node.partitionTable()?.version ?? 0) > 0, 'a table');
    return node;
  }

  it(`dies after commit k for every k in 1..${COMMITS}; resumed elsewhere, every step runs once`, async () => {
    for (let k = 1; k <= COMMITS; k++) {
      const store = new MemoryStorage();
      const run = `k${k}`;
      const first = await start(`dying-${k}`, new DyingStorage(store, k));
      void first.workflows!.run(twenty, run, { run }).catch(() => undefined);
      // The store stops answering once it applied commit k: wait until the run sent it.
      await waitFor(() => first.durable!.commitStats()?.commits !== undefined && first.durable!.commitStats()!.commits >= k, `commit ${k} sent`);
      await first.stop();
      const second = await start(`heir-${k}`, store);
      expect(await second.workflows!.run(twenty, run, { run })).toBe((STEPS * (STEPS - 1)) / 2);
      const counts = Array.from({ length: STEPS }, (_, i) => runs.get(`${run}:${i}`) ?? 0);
      expect(counts, `crash after commit ${k}`).toEqual(Array.from({ length: STEPS }, () => 1));
      const stored = await second.workflows!.describe(run);
      expect(stored?.stepsCompleted).toHaveLength(STEPS);
      await second.stop();
    }
  }, 240_000);
});
