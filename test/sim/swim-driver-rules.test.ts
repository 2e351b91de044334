// Two rules that used to live in the node driver and now live in the membership machine,
// checked on whole clusters in the simulator: a Ping that came over TCP is answered over
// TCP, and rumours about nodes no master admitted are stripped.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/messages.js';
import { MembershipRecorder } from '../../sim/swim/recorder.js';
import { formCluster, swimSimulation } from '../../sim/swim/swim-simulation.js';

describe('membership rules in the simulator', () => {
  it.each([1, 2, 3])('a member whose UDP is blocked stays alive through TCP fallback probes answered over TCP (seed %i)', (seed) => {
    const sim = swimSimulation({ seed });
    const rec = new MembershipRecorder(sim);
    expect(formCluster(sim, 5)).toBeDefined();
    const cut = sim.nodes()[4]!;
    const acks: string[] = [];
    sim.network.tap((from, _to, channel, message) => {
      if (from === cut.address && message.type === 'Ack') acks.push(channel);
    });
    // Every datagram to or from the member is lost; TCP still works.
    for (const other of sim.nodes()) if (other !== cut) sim.network.setLink(cut.address, other.address, { lossProbability: 1 });
    const since = sim.now;
    sim.runFor(60_000);
    expect(rec.deathsOf(cut.nodeId, since)).toEqual([]);
    expect(cut.machine.stats().tcpAcksSent).toBeGreaterThan(0);
    expect(acks.length).toBeGreaterThan(0);
    expect(new Set(acks)).toEqual(new Set(['tcp']));
    for (const n of sim.nodes()) expect(n.machine.member(cut.nodeId)?.state).not.toBe('dead');
  });

  it('rumours about a node no master admitted are stripped everywhere, while real joiners still get in', () => {
    const sim = swimSimulation({ seed: 11 });
    expect(formCluster(sim, 4)).toBeDefined();
    const rogue = '10.9.9.9:7946';
    const alive: Message = { type: 'Alive', node: 'rogue', incarnation: 5, address: rogue, tags: {} };
    const gossip: Message = { type: 'Gossip', from: 'rogue', updates: [alive] };
    const ping: Message = { type: 'Ping', seqNo: 1, from: 'rogue', target: sim.nodes()[1]!.nodeId, updates: [alive] };
    sim.network.send(rogue, sim.nodes()[0]!.address, 'udp', alive);
    sim.network.send(rogue, sim.nodes()[1]!.address, 'udp', ping);
    sim.network.send(rogue, sim.nodes()[2]!.address, 'udp', gossip);
    sim.runFor(5_000);
    // A real joiner arrives through the master meanwhile, and is listed everywhere.
    const joiner = sim.addNode();
    sim.runFor(20_000);
    for (const n of sim.nodes()) {
      expect(n.machine.member('rogue')).toBeUndefined();
      expect(n.machine.member(joiner.nodeId)?.state).toBe('alive');
    }
    const rejected = sim.nodes().reduce((sum, n) => sum + n.machine.stats().rumoursRejected, 0);
    // At least the three rumours; a joiner's own Alive is also held back where it outruns the view.
    expect(rejected).toBeGreaterThanOrEqual(3);
  });
});
