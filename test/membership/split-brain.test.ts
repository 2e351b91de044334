import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { resolveSwimConfig } from '../../src/membership/config.js';
import type { ClusterSummary } from '../../src/protocol/messages.js';
import { MASTER_MERGING } from '../../src/membership/join-desk.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { addr, Harness, joinedCluster } from './harness.js';

const names = ['n1', 'n2', 'n3', 'n4', 'n5'];

/** Five nodes cut 2|3 until each side is a cluster of its own with its own master. */
function splitCluster(seed: number): Harness {
  const h = joinedCluster(seed, names);
  h.partition([
    ['n1', 'n2'],
    ['n3', 'n4', 'n5'],
  ]);
  const side = (members: string[], master: string): boolean => members.every((n) => h.node(n).master() === master && h.node(n).membersView()?.members.length === members.length);
  const twoMasters = (): boolean => side(['n1', 'n2'], 'n1') && side(['n3', 'n4', 'n5'], 'n3');
  if (!h.runUntilTrue(twoMasters, 120_000)) throw new Error('the sides did not become two clusters');
  return h;
}

function foreignSummary(clusterId: string): ClusterSummary {
  return { clusterId, masterId: 'x1', masterAddress: addr('x1'), masterJoinVersion: 1, memberCount: 50, viewVersion: 9 };
}

describe('split-brain merge', () => {
  it('the smaller side merges into the larger after the heal, though it holds the older master', () => {
    const h = splitCluster(7);
    h.heal();
    const merged = (): boolean => names.every((n) => h.node(n).master() === 'n3' && h.node(n).membersView()?.members.length === 5);
    expect(h.runUntilTrue(merged, 30_000)).toBe(true);
    for (const n of ['n1', 'n2']) {
      const started = h.eventsOf(n, 'MergeStarted');
      expect(started).toHaveLength(1);
      expect(started[0]!.target.masterId).toBe('n3');
      expect(started[0]!.local).toMatchObject({ masterId: 'n1', memberCount: 2 });
      expect(h.eventsOf(n, 'MergeCompleted').map((e) => e.formed)).toEqual([false]);
    }
    for (const n of ['n3', 'n4', 'n5']) expect(h.eventsOf(n, 'MergeStarted')).toEqual([]);
    // Every member kept its SWIM life: nobody restarted or left.
    for (const n of names) expect(h.node(n).status()).toBe('running');
  });

  it('ignores probes and merge orders of another cluster id, and merge orders not from its master', () => {
    const h = joinedCluster(3, names);
    const master = h.node('n1').master()!;
    const member = names.find((n) => n !== master)!;
    const before = h.sent.length;
    h.act(master, (m, now) => m.handle(addr('x1'), { type: 'SplitBrainProbe', from: 'x1', summary: foreignSummary('other') }, now));
    h.act(master, (m, now) => m.handle(addr('x1'), { type: 'SplitBrainProbeResponse', from: 'x1', summary: foreignSummary('other') }, now));
    h.act(member, (m, now) => m.handle(addr('x1'), { type: 'MergeRequest', from: 'x1', target: foreignSummary('test-cluster'), seeds: [addr('x1')] }, now));
    h.runFor(5_000);
    const answers = h.sent.slice(before).filter((p) => p.to === addr('x1'));
    expect(answers).toEqual([]);
    for (const n of names) expect(h.eventsOf(n, 'MergeStarted')).toEqual([]);
    expect(names.every((n) => h.node(n).master() === master)).toBe(true);
  });

  it('a master answers a probe of its own cluster id with its summary, and stays when it is the larger', () => {
    const h = joinedCluster(5, names);
    const master = h.node('n1').master()!;
    const clusterId = 'test-cluster';
    const small: ClusterSummary = { clusterId, masterId: 'x1', masterAddress: addr('x1'), masterJoinVersion: 1, memberCount: 1, viewVersion: 3 };
    const before = h.sent.length;
    h.act(master, (m, now) => m.handle(addr('x1'), { type: 'SplitBrainProbe', from: 'x1', summary: small }, now));
    const reply = h.sent.slice(before).find((p) => p.to === addr('x1'));
    expect(reply?.message).toMatchObject({ type: 'SplitBrainProbeResponse', from: master, summary: { masterId: master, memberCount: 5, clusterId } });
    h.runFor(2_000);
    expect(h.eventsOf(master, 'MergeStarted')).toEqual([]);
  });
});

describe('a master whose members went on without it', () => {
  it('stops counting the members another master lists as its own: its summary shrinks and it merges into the other', () => {
    const h = joinedCluster(5, names);
    const master = h.node('n1').master()!;
    const others = names.filter((n) => n !== master);
    const clusterId = 'test-cluster';
    // One of its own members masters a cluster of the other four (they removed this
    // master while it was stalled); this master's view still names all five.
    const theirs: ClusterSummary = { clusterId, masterId: others[0]!, masterAddress: addr(others[0]!), masterJoinVersion: 2, memberCount: 4, viewVersion: 40, members: others };
    const before = h.sent.length;
    h.act(master, (m, now) => m.handle(addr(others[0]!), { type: 'SplitBrainProbe', from: others[0]!, summary: theirs }, now));
    const reply = h.sent.slice(before).find((p) => p.to === addr(others[0]!) && p.message.type === 'SplitBrainProbeResponse');
    expect(reply?.message).toMatchObject({ summary: { masterId: master, memberCount: 1, members: [master] } });
    // The loser probes back; the other master's answer is what starts a merge.
    expect(h.sent.slice(before).some((p) => p.to === addr(others[0]!) && p.message.type === 'SplitBrainProbe')).toBe(true);
    h.act(master, (m, now) => m.handle(addr(others[0]!), { type: 'SplitBrainProbeResponse', from: others[0]!, summary: theirs }, now));
    h.runFor(2_000);
    expect(h.eventsOf(master, 'MergeStarted').map((e) => [e.local.memberCount, e.target.masterId])).toEqual([[1, others[0]]]);
  });

  it('a summary without a member list (an older sender) changes nothing', () => {
    const h = joinedCluster(5, names);
    const master = h.node('n1').master()!;
    const other = names.find((n) => n !== master)!;
    const theirs: ClusterSummary = { clusterId: 'test-cluster', masterId: other, masterAddress: addr(other), masterJoinVersion: 2, memberCount: 4, viewVersion: 40 };
    const before = h.sent.length;
    h.act(master, (m, now) => m.handle(addr(other), { type: 'SplitBrainProbe', from: other, summary: theirs }, now));
    const reply = h.sent.slice(before).find((p) => p.to === addr(other) && p.message.type === 'SplitBrainProbeResponse');
    expect(reply?.message).toMatchObject({ summary: { masterId: master, memberCount: 5 } });
    h.runFor(2_000);
    expect(h.eventsOf(master, 'MergeStarted')).toEqual([]);
  });
});

describe('a chain of merges', () => {
  it('a node still joining a cluster that merges on follows it to the new target, and takes no admission from the one it left', () => {
    const h = joinedCluster(3, names);
    const master = h.node('n1').master()!;
    const member = names.find((n) => n !== master)!;
    const first: ClusterSummary = { ...foreignSummary('test-cluster'), masterId: 'x1', masterAddress: addr('x1') };
    const second: ClusterSummary = { ...foreignSummary('test-cluster'), masterId: 'x2', masterAddress: addr('x2') };
    h.act(member, (m, now) => m.handle(h.node(master).localState().address, { type: 'MergeRequest', from: master, target: first, seeds: [addr('x1')] }, now));
    expect(h.eventsOf(member, 'MergeStarted')).toHaveLength(1);
    const before = h.sent.length;
    // x1 merges into x2's cluster before it admitted this node, and tells it so.
    h.act(member, (m, now) => m.handle(addr('x1'), { type: 'MergeRequest', from: 'x1', target: second, seeds: [addr('x2')] }, now));
    const joins = h.sent.slice(before).filter((p) => p.message.type === 'JoinRequest');
    expect(joins.map((p) => p.to)).toEqual([addr('x2')]);
    // x1's late admission (into a view whose master has left) is not taken.
    const staleView = { version: 7, members: [] };
    h.act(member, (m, now) => m.handle(addr('x1'), { type: 'JoinResponse', accepted: true, view: staleView }, now));
    expect(h.eventsOf(member, 'MergeCompleted')).toEqual([]);
  });
});

describe('a master leaving for a merge', () => {
  it('turns joiners away (retryable) instead of admitting them into the view it leaves', () => {
    const h = joinedCluster(3, names);
    const master = h.node('n1').master()!;
    const larger: ClusterSummary = { ...foreignSummary('test-cluster'), masterJoinVersion: 0 };
    // The other master's answer says its cluster is the larger: this master tells its members and will follow.
    h.act(master, (m, now) => m.handle(addr('x1'), { type: 'SplitBrainProbeResponse', from: 'x1', summary: larger }, now));
    const before = h.sent.length;
    h.act(master, (m, now) =>
      m.handle(addr('j1'), { type: 'JoinRequest', node: { nodeId: 'j1', address: addr('j1'), tags: {} }, clusterId: 'test-cluster', protocolVersion: PROTOCOL_VERSION, authToken: '', sentAt: now }, now),
    );
    const answer = h.sent.slice(before).find((p) => p.to === addr('j1') && p.message.type === 'JoinResponse');
    expect(answer?.message).toMatchObject({ type: 'JoinResponse', accepted: false, rejectCode: 'FLO_NO_SEEDS_REACHABLE', reason: MASTER_MERGING });
  });
});

describe('the boundary of a cluster after a split', () => {
  it('a member takes no view from a publisher outside its view; a master probes such a publisher at once', () => {
    const h = splitCluster(11);
    const before = h.sent.length;
    const foreignView = h.node('n3').membersView()!;
    const version = h.node('n2').membersView()!.version;
    // n3's view (of n3, n4, n5) at a version above everything n1's side has seen.
    const newer = { ...foreignView, version: version + 100 };
    h.act('n2', (m, now) => m.handle(addr('n3'), { type: 'MembersUpdate', view: newer }, now));
    h.act('n1', (m, now) => m.handle(addr('n3'), { type: 'MembersUpdate', view: newer }, now));
    expect(h.node('n2').membersView()!.version).toBe(version);
    expect(h.node('n2').master()).toBe('n1');
    expect(h.node('n1').master()).toBe('n1');
    const probes = h.sent.slice(before).filter((p) => p.message.type === 'SplitBrainProbe');
    expect(probes.map((p) => [p.from, p.to])).toEqual([[addr('n1'), addr('n3')]]);
  });

  it('a member takes no accusation of its own members from a sender outside its view, but does from inside', () => {
    const h = splitCluster(12);
    const n3 = h.node('n3');
    const incarnation = n3.member('n5')!.incarnation;
    const dead = { type: 'Dead' as const, node: 'n5', incarnation, from: 'n1', left: false };
    h.act('n3', (m, now) => m.handle(addr('n1'), dead, now));
    h.act('n3', (m, now) => m.handle(addr('n1'), { type: 'Suspect', node: 'n5', incarnation, from: 'n1' }, now));
    h.act('n3', (m, now) => m.handle(addr('n1'), { type: 'Ping', seqNo: 1, from: 'n1', target: 'n3', updates: [dead] }, now));
    h.act('n3', (m, now) => m.handle(addr('n1'), { type: 'Gossip', from: 'n1', updates: [dead] }, now));
    expect(n3.member('n5')!.state).toBe('alive');
    // The same news from a member of its own view counts.
    h.act('n3', (m, now) => m.handle(addr('n4'), { ...dead, from: 'n4' }, now));
    expect(n3.member('n5')!.state).toBe('dead');
  });
});

describe('split-brain config', () => {
  it.each([
    ['a join retry above the join timeout', { mergeJoinRetryMs: 40_000 }],
    ['no probe targets', { splitBrainProbeTargetsMax: 0 }],
    ['a negative master delay', { mergeMasterDelayMs: -1 }],
  ])('rejects %s', (_name, overrides) => {
    let caught: unknown;
    try {
      resolveSwimConfig(overrides);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_CONFIG_INVALID')).toBe(true);
  });

  it('a node that merges takes the winner\'s view as proof of life for the members it still suspected: none of them is declared dead after', () => {
    // Healed while the minority still suspected the majority (its suspicions, with one
    // confirmation, outlast the majority's): the merged nodes' suspicions ran out in the
    // winner's cluster, and their Dead claims had the winner declare its own members dead
    // (before: seeds 1 and 6 of these 10, 600 to 800 ms after the heal).
    const minority = ['n1', 'n2'];
    const majority = ['n3', 'n4', 'n5'];
    const deaths: string[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      const h = joinedCluster(seed, names);
      h.partition([minority, majority]);
      const majorityOwnView = (): boolean => majority.every((n) => h.node(n).membersView()?.members.every((r) => !minority.includes(r.nodeId) || r.status === 'dead') ?? false);
      const minoritySuspects = (): boolean => minority.every((n) => majority.some((m) => h.stateOf(n, m) === 'suspect'));
      expect(h.runUntilTrue(() => majorityOwnView() && minoritySuspects(), 60_000), `seed ${seed}`).toBe(true);
      const healAt = h.now;
      h.heal();
      h.runFor(30_000);
      for (const n of names) {
        for (const e of h.eventsOf(n, 'NodeFailed')) if (e.at >= healAt && majority.includes(e.member.nodeId)) deaths.push(`seed ${seed}: ${n} declared ${e.member.nodeId} dead ${e.at - healAt} ms after the heal`);
      }
    }
    expect(deaths).toEqual([]);
  });
});

