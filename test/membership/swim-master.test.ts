import { describe, expect, it } from 'vitest';
import { addr, Harness } from './harness.js';

/** Node ids deliberately not in age order: the master rule uses join versions first. */
const names = ['zulu', 'alpha', 'mike', 'bravo'];

function joined(seed: number): Harness {
  const h = new Harness(seed);
  h.cluster(names);
  const inView = (): boolean => names.every((n) => h.node(n).membersView()?.members.length === names.length);
  expect(h.runUntilTrue(inView, 10_000)).toBe(true);
  h.runFor(2_000);
  return h;
}

describe('SwimMachine: the master and its view', () => {
  it('the master is the oldest member (lowest join version), not the lowest id', () => {
    const h = joined(51);
    for (const n of names) expect(h.node(n).master()).toBe('zulu');
    expect(names.filter((n) => h.node(n).isMaster())).toEqual(['zulu']);
    const view = h.node('alpha').membersView()!;
    const zulu = view.members.find((m) => m.nodeId === 'zulu')!;
    expect(Math.min(...view.members.map((m) => m.joinVersion))).toBe(zulu.joinVersion);
    expect(view.members.every((m) => m.status === 'active')).toBe(true);
  });

  it('when the master dies, the next oldest takes over and publishes a higher version', () => {
    const h = joined(52);
    const view = h.node('alpha').membersView()!;
    const next = [...view.members].sort((a, b) => a.joinVersion - b.joinVersion)[1]!.nodeId;
    const before = Math.max(...names.map((n) => h.node(n).membersView()!.version));
    h.crash('zulu');
    const survivors = names.filter((n) => n !== 'zulu');
    const tookOver = (): boolean =>
      survivors.every((n) => h.node(n).master() === next && !h.node(n).membersView()!.members.some((m) => m.nodeId === 'zulu'));
    expect(h.runUntilTrue(tookOver, 60_000)).toBe(true);
    expect(h.node(next).isMaster()).toBe(true);
    const after = h.node(next).membersView()!;
    expect(after.version).toBeGreaterThan(before);
    for (const n of survivors) {
      expect(h.node(n).membersView()).toEqual(after);
      expect(h.eventsOf(n, 'MasterChanged').at(-1)!.master).toBe(next);
    }
    // The new master keeps join versions going upward.
    h.add('late', { seeds: [addr(survivors[1]!)] });
    h.start('late');
    expect(h.runUntilTrue(() => h.node(next).membersView()!.members.some((m) => m.nodeId === 'late'), 10_000)).toBe(true);
    const jv = h.node(next).membersView()!.members.find((m) => m.nodeId === 'late')!.joinVersion;
    expect(jv).toBeGreaterThan(Math.max(...view.members.map((m) => m.joinVersion)));
  });

  it('the view marks a suspect member suspect, then drops it when dead', () => {
    const h = joined(53);
    h.crash('mike');
    const suspectInView = (): boolean => h.node('zulu').membersView()!.members.find((m) => m.nodeId === 'mike')?.status === 'suspect';
    expect(h.runUntilTrue(suspectInView, 20_000)).toBe(true);
    const gone = (): boolean => names.filter((n) => n !== 'mike').every((n) => !h.node(n).membersView()!.members.some((m) => m.nodeId === 'mike'));
    expect(h.runUntilTrue(gone, 60_000)).toBe(true);
  });

  it('members send heartbeats and complaints to the master', () => {
    const h = joined(54);
    h.runFor(11_000);
    expect(h.sent.filter((p) => p.message.type === 'Heartbeat' && p.to === addr('zulu')).length).toBeGreaterThanOrEqual(3 * 2);
    expect(h.sent.some((p) => p.message.type === 'Heartbeat' && p.from === addr('zulu'))).toBe(false);
    h.crash('bravo');
    expect(h.runUntilTrue(() => h.node('zulu').stats().complaintsReceived > 0, 20_000)).toBe(true);
    expect(h.sent.some((p) => p.message.type === 'HeartbeatComplaint' && p.to === addr('zulu'))).toBe(true);
  });

  it('the master decides on complaints about a node it still sees alive', () => {
    const h = joined(55);
    // alpha and mike complain about bravo, which the master can still reach.
    const complain = (from: string): void =>
      h.act('zulu', (m, now) => m.handle(addr(from), { type: 'HeartbeatComplaint', from, suspect: 'bravo', viewVersion: 1 }, now));
    complain('alpha');
    expect(h.stateOf('zulu', 'bravo')).toBe('alive');
    complain('mike');
    // Two distinct complainers: the master suspects bravo; bravo refutes since it is fine.
    expect(h.stateOf('zulu', 'bravo')).toBe('suspect');
    expect(h.runUntilTrue(() => h.stateOf('zulu', 'bravo') === 'alive', 5_000)).toBe(true);
    expect(h.node('bravo').stats().refutations).toBe(1);
  });

  it('a node outside the master view that keeps talking is told to rejoin', () => {
    const h = joined(56);
    // A stranger that gossips its way in without a JoinRequest.
    h.add('stranger');
    h.start('stranger');
    const stranger = h.node('stranger');
    h.act('zulu', (m, now) =>
      m.handle(addr('stranger'), { type: 'Alive', node: 'stranger', incarnation: stranger.localState().incarnation, address: addr('stranger'), tags: {} }, now),
    );
    h.act('zulu', (m, now) => m.handle(addr('stranger'), { type: 'Heartbeat', from: 'stranger', viewVersion: 0, suspected: [] }, now));
    expect(h.sent.some((p) => p.message.type === 'ExplicitSuspicion' && p.to === addr('stranger'))).toBe(true);
    expect(h.node('zulu').stats().explicitSuspicionsSent).toBe(1);
  });

  it('a member left out of a newer view rejoins', () => {
    const h = joined(57);
    const view = h.node('mike').membersView()!;
    const without = { version: view.version + 1, members: view.members.filter((m) => m.nodeId !== 'mike') };
    h.act('mike', (m, now) => m.handle(addr('zulu'), { type: 'MembersUpdate', view: without }, now));
    expect(h.node('mike').stats().rejoins).toBe(1);
    expect(h.runUntilTrue(() => h.node('mike').membersView()!.members.some((m) => m.nodeId === 'mike'), 5_000)).toBe(true);
  });
});
