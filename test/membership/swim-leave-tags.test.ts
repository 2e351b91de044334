import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { TAGS_BYTES_MAX } from '../../src/protocol/limits.js';
import { SwimMachine } from '../../src/membership/swim.js';
import { SeededRandom } from '../../src/core/random.js';
import { Harness, joinedCluster } from './harness.js';

const names = ['n1', 'n2', 'n3', 'n4'];
const others = (n: string): string[] => names.filter((x) => x !== n);

const joined = (seed: number): Harness => joinedCluster(seed, names);

describe('SwimMachine: graceful leave', () => {
  it('others record the node as left (NodeLeft), never failed, and it stops', () => {
    const h = joined(21);
    h.act('n3', (m, now) => m.leave(now));
    expect(h.node('n3').status()).toBe('leaving');
    expect(h.runUntilTrue(() => h.node('n3').hasLeft(), 6_000)).toBe(true);
    expect(h.node('n3').nextDeadline()).toBeUndefined();
    expect(h.runUntilTrue(() => others('n3').every((o) => h.stateOf(o, 'n3') === 'left'), 5_000)).toBe(true);
    h.runFor(30_000);
    for (const o of others('n3')) {
      expect(h.stateOf(o, 'n3')).toBe('left');
      expect(h.eventsOf(o, 'NodeLeft').map((e) => e.member.nodeId)).toEqual(['n3']);
      expect(h.eventsOf(o, 'NodeFailed')).toHaveLength(0);
      expect(h.node(o).membersView()!.members.map((m) => m.nodeId)).not.toContain('n3');
    }
  });

  it('a leave completes quickly once the announcement reached enough members', () => {
    const h = joined(22);
    const start = h.now;
    h.act('n2', (m, now) => m.leave(now));
    h.runUntilTrue(() => h.node('n2').hasLeft(), 6_000);
    expect(h.now - start).toBeLessThan(1_000);
  });

  it('a leave finishes by the timeout when nobody can be reached', () => {
    const h = joined(23);
    h.drop = () => true;
    const start = h.now;
    h.act('n4', (m, now) => m.leave(now));
    // Datagrams are "sent" (the machine cannot know they are lost), so the fan-out target is met.
    expect(h.runUntilTrue(() => h.node('n4').hasLeft(), 10_000)).toBe(true);
    expect(h.now - start).toBeLessThanOrEqual(h.node('n4').config.leaveTimeoutMs);
  });

  it('the master leaving hands over to the next oldest', () => {
    const h = joined(24);
    const version = h.node('n2').membersView()!.version;
    h.act('n1', (m, now) => m.leave(now));
    expect(h.runUntilTrue(() => others('n1').every((o) => h.node(o).master() === 'n2'), 5_000)).toBe(true);
    expect(h.runUntilTrue(() => others('n1').every((o) => (h.node(o).membersView()?.version ?? 0) > version), 5_000)).toBe(true);
    expect(h.node('n2').isMaster()).toBe(true);
  });
});

describe('SwimMachine: tags', () => {
  it('a tag change raises the incarnation and reaches every node', () => {
    const h = joined(31);
    const before = h.node('n2').localState().incarnation;
    h.act('n2', (m) => m.updateTag('zone', 'eu-1'));
    expect(h.node('n2').localState().incarnation).toBeGreaterThan(before);
    const seen = (): boolean => names.every((o) => h.node(o).member('n2')?.tags['zone'] === 'eu-1');
    expect(h.runUntilTrue(seen, 5_000)).toBe(true);
    for (const o of others('n2')) {
      expect(h.eventsOf(o, 'NodeTagsUpdated').map((e) => e.member.nodeId)).toEqual(['n2']);
      expect(h.node(o).nodesWithTag('zone', 'eu-1').map((m) => m.nodeId)).toEqual(['n2']);
    }
    h.act('n3', (m) => m.updateTags({ zone: 'eu-1', role: 'db' }));
    expect(h.runUntilTrue(() => h.node('n1').nodesWithTag('zone', 'eu-1').length === 2, 5_000)).toBe(true);
    expect(h.node('n1').nodesWithAllTags({ zone: 'eu-1', role: 'db' }).map((m) => m.nodeId)).toEqual(['n3']);
    h.act('n3', (m) => m.removeTag('role'));
    expect(h.runUntilTrue(() => h.node('n1').nodesWithAllTags({ role: 'db' }).length === 0, 5_000)).toBe(true);
    // The master's view carries the tags too.
    expect(h.runUntilTrue(() => h.node('n4').membersView()!.members.find((m) => m.nodeId === 'n2')?.tags['zone'] === 'eu-1', 5_000)).toBe(true);
  });

  it('tag queries answer alive nodes only', () => {
    const h = joined(32);
    h.act('n4', (m) => m.updateTag('role', 'cache'));
    expect(h.runUntilTrue(() => h.node('n1').nodesWithTag('role', 'cache').length === 1, 5_000)).toBe(true);
    h.crash('n4');
    expect(h.runUntilTrue(() => h.stateOf('n1', 'n4') !== 'alive', 20_000)).toBe(true);
    expect(h.node('n1').nodesWithTag('role', 'cache')).toEqual([]);
  });

  it('tags over the size limit are refused with FLO_TAGS_TOO_LARGE', () => {
    const h = joined(33);
    const before = h.node('n1').localState();
    let caught: unknown;
    try {
      h.node('n1').updateTag('blob', 'x'.repeat(TAGS_BYTES_MAX));
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_TAGS_TOO_LARGE')).toBe(true);
    expect(h.node('n1').localState()).toEqual(before);
    expect(() =>
      new SwimMachine({
        self: { nodeId: 'big', address: 'big:1', tags: { blob: 'x'.repeat(TAGS_BYTES_MAX) } },
        clusterId: 'c',
        seeds: [],
        random: new SeededRandom(1),
        now: 0,
      }),
    ).toThrow(/tags exceed/i);
  });

  it('tags cannot change after leaving', () => {
    const h = joined(34);
    h.act('n2', (m, now) => m.leave(now));
    let caught: unknown;
    try {
      h.node('n2').updateTag('a', 'b');
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_NODE_STOPPED')).toBe(true);
  });
});
