import { describe, expect, it } from 'vitest';
import type { Millis } from '../../src/core/clock.js';
import type { SansIoMachine, Transmit } from '../../src/core/machine.js';
import type { Address } from '../../src/core/model.js';
import type { HeartbeatEvent } from '../../sim/machines/heartbeat.js';
import { SIM_EPOCH_MS } from '../../sim/scheduler.js';
import { heartbeatSimulation } from '../../sim/scenarios/ping.js';
import { Simulation, SimulationError, simAddress } from '../../sim/simulation.js';

/** Runs a fixed chaos script on a heartbeat cluster and returns its trace digest. */
function chaosDigest(seed: number): { digest: string; records: number } {
  const sim = heartbeatSimulation({ nodes: 6, seed }, { trace: true, lossProbability: 0.05 });
  sim.network.setDefaults({ duplicateProbability: 0.05, reorderProbability: 0.05, jitterMs: 3 });
  sim.runFor(5_000);
  sim.act('node-001', (m) => m.send(simAddress(2), 'tcp', 'hello'));
  sim.pause('node-003', 2_000);
  sim.partition(['node-000', 'node-001'], ['node-004']);
  sim.runFor(6_000);
  sim.crash('node-005');
  sim.heal();
  sim.runFor(4_000);
  sim.restart('node-005');
  sim.runFor(5_000);
  return { digest: sim.traceDigest(), records: sim.traceTail().records };
}

/** A machine whose deadlines are set by the test, recording when it is ticked. */
class ScriptedMachine implements SansIoMachine<string, string> {
  deadline: Millis | undefined;
  readonly ticks: Millis[] = [];
  readonly handled: { from: Address; message: string; at: Millis }[] = [];
  readonly out: Transmit<string>[] = [];
  readonly evs: string[] = [];
  constructor(readonly self: Address) {}
  handle(from: Address, message: string, now: Millis): void {
    this.handled.push({ from, message, at: now });
    this.evs.push(`got ${message}`);
  }
  tick(now: Millis): void {
    this.ticks.push(now);
    this.deadline = undefined;
  }
  nextDeadline(): Millis | undefined {
    return this.deadline;
  }
  pollTransmit(): Transmit<string> | undefined {
    return this.out.shift();
  }
  pollEvent(): string | undefined {
    return this.evs.shift();
  }
}

function scripted(nodes = 2, seed = 1): Simulation<string, string, ScriptedMachine> {
  const sim = new Simulation<string, string, ScriptedMachine>({
    seed,
    network: { link: { latencyMs: 10, jitterMs: 0 }, typeOf: () => 'msg' },
    factory: (ctx) => new ScriptedMachine(ctx.address),
  });
  sim.addNodes(nodes);
  return sim;
}

describe('Simulation determinism', () => {
  it('replays the same trace from the same seed and a different one from another', () => {
    const a = chaosDigest(11);
    const b = chaosDigest(11);
    const c = chaosDigest(12);
    expect(a.records).toBeGreaterThan(1_000);
    expect(b).toEqual(a);
    expect(c.digest).not.toBe(a.digest);
  });
});

describe('Simulation ticks', () => {
  it('ticks a machine at exactly its deadline, re-read after every input', () => {
    const sim = scripted();
    const m = sim.machine('node-000');
    sim.act('node-000', (machine, now) => (machine.deadline = now + 500));
    sim.act('node-000', (machine, now) => (machine.deadline = now + 200));
    sim.runFor(100);
    sim.act('node-000', (machine, now) => (machine.deadline = now + 300));
    sim.runFor(1_000);
    expect(m.ticks).toEqual([SIM_EPOCH_MS + 400]);
  });

  it('keeps at most one live pending tick per node when its deadline keeps moving', () => {
    const sim = scripted(1);
    for (let i = 0; i < 1_000; i++) sim.act('node-000', (machine, now) => (machine.deadline = now + 1_000 + i));
    expect(sim.scheduler.pending).toBe(1);
    sim.runFor(5_000);
    expect(sim.machine('node-000').ticks).toEqual([SIM_EPOCH_MS + 1_999]);
  });

  it('wraps what a machine throws with the seed, time and node', () => {
    const sim = scripted(1, 99);
    sim.act('node-000', (m, now) => {
      m.deadline = now + 5;
      m.tick = () => {
        throw new Error('boom');
      };
    });
    expect(() => sim.runFor(10)).toThrow(SimulationError);
    expect(() => scripted(1, 99).act('node-000', () => {
      throw new Error('boom');
    })).toThrow(/boom \(seed 99, t=\+0ms, node node-000\)/);
  });
});

describe('Simulation lifecycle', () => {
  it('queues inputs to a paused node and delivers them, as sent, when it resumes; timers fire late', () => {
    const sim = scripted();
    const target = sim.machine('node-001');
    sim.act('node-001', (m, now) => (m.deadline = now + 100));
    sim.pause('node-001', 1_000);
    sim.act('node-000', (m) => m.out.push({ to: simAddress(1), channel: 'udp', message: 'one' }, { to: simAddress(1), channel: 'tcp', message: 'two' }));
    sim.runFor(999);
    expect(target.handled).toHaveLength(0);
    expect(target.ticks).toHaveLength(0);
    sim.runFor(1);
    expect(target.handled).toEqual([
      { from: simAddress(0), message: 'one', at: SIM_EPOCH_MS + 1_000 },
      { from: simAddress(0), message: 'two', at: SIM_EPOCH_MS + 1_000 },
    ]);
    expect(target.ticks).toEqual([SIM_EPOCH_MS + 1_000]);
    expect(sim.events('node-001').map((e) => e.event)).toEqual(['got one', 'got two']);
    expect(sim.stats().deliveredMessages).toBe(2);
  });

  it('drops what overflows a paused node inbox', () => {
    const sim = new Simulation<string, string, ScriptedMachine>({
      seed: 1,
      pausedInboxMax: 3,
      factory: (ctx) => new ScriptedMachine(ctx.address),
    });
    sim.addNodes(2);
    sim.pause('node-001', 100);
    sim.act('node-000', (m) => {
      for (let i = 0; i < 5; i++) m.out.push({ to: simAddress(1), channel: 'tcp', message: `m${i}` });
    });
    sim.runFor(200);
    expect(sim.machine('node-001').handled.map((h) => h.message)).toEqual(['m0', 'm1', 'm2']);
    expect(sim.stats().dropped.overflow).toBe(2);
  });

  it('drops messages in flight to a crashed node, even after it restarts', () => {
    const sim = scripted();
    sim.act('node-000', (m) => m.out.push({ to: simAddress(1), channel: 'tcp', message: 'lost' }));
    sim.runFor(5);
    sim.crash('node-001');
    const dead = sim.machine('node-001');
    sim.restart('node-001');
    sim.runFor(100);
    expect(dead.handled).toHaveLength(0);
    expect(sim.machine('node-001').handled).toHaveLength(0);
    expect(sim.stats().dropped.down).toBe(1);
    sim.act('node-000', (m) => m.out.push({ to: simAddress(1), channel: 'tcp', message: 'kept' }));
    sim.runFor(100);
    expect(sim.machine('node-001').handled.map((h) => h.message)).toEqual(['kept']);
  });

  it('stops the timers of a crashed node and gives a restarted one a fresh machine at the restart time', () => {
    const contexts: { now: number; generation: number; seeds: readonly string[] }[] = [];
    const sim = new Simulation<string, string, ScriptedMachine>({
      seed: 3,
      seedCount: 2,
      factory: (ctx) => {
        contexts.push({ now: ctx.now, generation: ctx.generation, seeds: ctx.seeds });
        return new ScriptedMachine(ctx.address);
      },
    });
    sim.addNodes(3);
    sim.act('node-002', (m, now) => (m.deadline = now + 100));
    const old = sim.machine('node-002');
    sim.crash('node-002');
    sim.runFor(500);
    expect(old.ticks).toHaveLength(0);
    sim.restart('node-002');
    expect(sim.machine('node-002')).not.toBe(old);
    expect(contexts).toEqual([
      { now: SIM_EPOCH_MS, generation: 0, seeds: [] },
      { now: SIM_EPOCH_MS, generation: 0, seeds: [simAddress(0)] },
      { now: SIM_EPOCH_MS, generation: 0, seeds: [simAddress(0), simAddress(1)] },
      { now: SIM_EPOCH_MS + 500, generation: 1, seeds: [simAddress(0), simAddress(1)] },
    ]);
    expect(() => sim.act('node-009', () => undefined)).toThrow(/unknown node/);
  });

  it('refuses to act on a node that is not running', () => {
    const sim = scripted();
    sim.crash('node-001');
    expect(() => sim.act('node-001', () => undefined)).toThrow(/down node/);
  });

  it('bounds the per-node event log and tells observers about every event', () => {
    const seen: string[] = [];
    const sim = new Simulation<string, string, ScriptedMachine>({
      seed: 1,
      eventLogMax: 3,
      onEvent: (id, e) => seen.push(`${id}:${e}`),
      factory: (ctx) => new ScriptedMachine(ctx.address),
    });
    sim.addNodes(1);
    sim.act('node-000', (m) => m.evs.push('a', 'b', 'c', 'd', 'e'));
    expect(sim.events('node-000').map((e) => e.event)).toEqual(['c', 'd', 'e']);
    expect(seen).toHaveLength(5);
  });
});

describe('Simulation with the heartbeat machine', () => {
  it('detects a crash, sees the restart, and raises no false alarm under 5% loss', () => {
    const sim = heartbeatSimulation({ nodes: 5, seed: 4 }, { lossProbability: 0.05 });
    const downs: { by: string; e: HeartbeatEvent }[] = [];
    sim.observe((by, e) => {
      if (e.type === 'peer-down') downs.push({ by, e });
    });
    sim.runFor(30_000);
    expect(downs).toEqual([]);
    sim.crash('node-004');
    sim.runFor(5_000);
    expect(downs.map((d) => d.by).sort()).toEqual(['node-000', 'node-001', 'node-002', 'node-003']);
  });

  it('delivers TCP data in order and complete under UDP loss, duplication and jitter', () => {
    const sim = heartbeatSimulation({ nodes: 2, seed: 5 }, { lossProbability: 0.3 });
    sim.network.setDefaults({ jitterMs: 20, duplicateProbability: 0.2 });
    for (let i = 0; i < 200; i++) {
      sim.act('node-000', (m) => m.send(simAddress(1), 'tcp', `p${i}`));
      sim.runFor(1);
    }
    sim.runFor(1_000);
    const data = sim.events('node-001').flatMap((e) => (e.event.type === 'data' ? [e.event.seq] : []));
    expect(data).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });
});
