// The sharded simulation is a pure function of its seed, although the production code it
// runs is asynchronous: the same seed gives the same trace (every delivery, event and
// lifecycle change), another seed another, and delivering codec-decoded copies of every
// message changes nothing the nodes do.
import { describe, expect, it } from 'vitest';
import type { ScenarioResult } from '../../sim/scenario.js';
import { killOwnerMidMigration } from '../../sim/scenarios/sharding-crashes.js';
import { TRACE_NOTE_PREFIX, type StageOptions } from '../../sim/sharding/shard-kit.js';

async function digestOf(seed: number, options: StageOptions = {}): Promise<{ digest: string; result: ScenarioResult }> {
  const result = await killOwnerMidMigration({ nodes: 5, seed }, { ...options, trace: true });
  const note = result.notes?.find((n) => n.startsWith(TRACE_NOTE_PREFIX));
  expect(note).toBeDefined();
  return { digest: note!.slice(TRACE_NOTE_PREFIX.length), result };
}

describe('sharded simulation determinism', () => {
  it('gives the same trace for the same seed, and another for another seed', async () => {
    const a = await digestOf(7);
    const b = await digestOf(7);
    const c = await digestOf(8);
    expect(a.result.ok).toBe(true);
    expect(b.digest).toBe(a.digest);
    expect(b.result.measurements).toEqual(a.result.measurements);
    expect(c.digest).not.toBe(a.digest);
  });

  it('runs the same with every message encoded and decoded by the real codec', async () => {
    const plain = await digestOf(9);
    const coded = await digestOf(9, { codecRoundTrip: true });
    expect(coded.result.ok).toBe(true);
    expect(coded.digest).toBe(plain.digest);
  });
});
