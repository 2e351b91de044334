import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareIncarnation } from '../../src/core/incarnation.js';
import { SeededRandom } from '../../src/core/random.js';
import { Harness } from './harness.js';

const names = Array.from({ length: 8 }, (_, i) => `n${i}`);

describe('SwimMachine: under loss and churn', () => {
  it('10 % datagram loss for five minutes causes no false deaths', () => {
    for (const seed of [301, 302, 303]) {
      const h = new Harness(seed);
      h.cluster(names);
      h.runFor(10_000);
      const loss = new SeededRandom(seed);
      h.drop = (p) => p.channel === 'udp' && loss.next() < 0.1;
      h.runFor(300_000);
      for (const n of names) expect(h.eventsOf(n, 'NodeFailed')).toEqual([]);
    }
  });

  it('keeps its invariants across random crashes, stalls, leaves and loss', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.record({ at: fc.integer({ min: 1_000, max: 60_000 }), node: fc.integer({ min: 1, max: 7 }), kind: fc.constantFrom('crash', 'stall', 'leave', 'tag') }), { maxLength: 4 }),
        (seed, faults) => {
          const h = new Harness(seed);
          h.cluster(names);
          h.runFor(8_000);
          const loss = new SeededRandom(seed);
          h.drop = (p) => p.channel === 'udp' && loss.next() < 0.05;
          const incarnations = new Map<string, Map<string, number>>();
          const check = (): void => {
            for (const o of names) {
              if (!h.isUp(o) || h.node(o).hasLeft()) continue;
              const m = h.node(o);
              expect(m.localState().state).toBe('alive');
              const seen = incarnations.get(o) ?? new Map<string, number>();
              incarnations.set(o, seen);
              for (const member of m.members()) {
                const before = seen.get(member.nodeId);
                if (before !== undefined) expect(compareIncarnation(member.incarnation, before)).toBeGreaterThanOrEqual(0);
                seen.set(member.nodeId, member.incarnation);
              }
            }
          };
          const sorted = [...faults].sort((a, b) => a.at - b.at);
          const start = h.now;
          for (const f of sorted) {
            h.runUntil(start + f.at);
            check();
            const name = names[f.node]!;
            if (!h.isUp(name) || h.node(name).status() !== 'running') continue;
            if (f.kind === 'crash') h.crash(name);
            else if (f.kind === 'stall') h.stall(name);
            else if (f.kind === 'leave') h.act(name, (m, now) => m.leave(now));
            else h.act(name, (m) => m.updateTag('k', String(f.at)));
          }
          for (const name of names) if (h.machines.has(name)) h.resume(name);
          h.runFor(120_000);
          check();
          // Every running node agrees on who is alive, and on one master.
          const running = names.filter((n) => h.isUp(n) && h.node(n).status() === 'running');
          const aliveSet = (n: string): string => h.node(n).members().filter((m) => m.state === 'alive').map((m) => m.nodeId).sort().join(',');
          for (const n of running) expect(aliveSet(n)).toBe(aliveSet(running[0]!));
          const masters = new Set(running.map((n) => h.node(n).master()));
          expect(masters.size).toBe(1);
        },
      ),
      { seed: 42, numRuns: 12 },
    );
  });
});
