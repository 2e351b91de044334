// Whole nodes with frame authentication (`startNode` derives the key from the cluster
// secret and id): three nodes form and serve; a node with the wrong secret is refused with
// a reason and never listed, also when it formed a cluster of its own first and probes a
// member; forged gossip from a host without the secret is dropped before any machine sees it.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { startNode, type FlotillaNode, type StartNodeOptions } from '../../src/node/index.js';
import type { Alive, Dead, Message } from '../../src/protocol/messages.js';
import { deriveFrameAuthKey } from '../../src/transport/frame-auth.js';
import { ClusterTransport } from '../../src/transport/index.js';
import { converged, nodeOptions, stopAll, waitFor, waitForProbeRounds } from '../node/helpers.js';
import { closedPort, rejection } from './helpers.js';

const WRONG_SECRET = 'not-the-cluster-secret-9876543210';
/** Generous: two cores are shared by several test runs. */
const DEADLINE_MS = 30_000;

const running: FlotillaNode[] = [];
const transports: ClusterTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await stopAll(running.splice(0));
});
afterAll(async () => {
  await stopAll(running.splice(0));
});

async function start(nodeId: string, seeds: readonly string[] = [], extra: StartNodeOptions = {}): Promise<FlotillaNode> {
  const node = await startNode(nodeOptions({ nodeId, seeds, ...extra }));
  running.push(node);
  return node;
}

async function cluster(extra: (i: number) => StartNodeOptions = () => ({})): Promise<FlotillaNode[]> {
  const first = await start('n1', [], extra(0));
  const rest = await Promise.all([start('n2', [first.address], extra(1)), start('n3', [first.address], extra(2))]);
  const nodes = [first, ...rest];
  await waitFor(() => converged(nodes), 'three nodes to converge', DEADLINE_MS);
  return nodes;
}

function authDrops(node: FlotillaNode): { udp: number; tcp: number } {
  const transport = node.stats().transport;
  return { udp: transport?.udp.dropped['auth'] ?? 0, tcp: transport?.tcp.inbound.dropped['auth'] ?? 0 };
}

function nobodyKnows(nodes: readonly FlotillaNode[], nodeId: string): boolean {
  return nodes.every((n) => n.member(nodeId) === undefined && !(n.membersView()?.members ?? []).some((m) => m.nodeId === nodeId));
}

describe('a cluster with authenticated frames', () => {
  it('forms and serves: three nodes agree and share the partitions, nothing refused', async () => {
    const nodes = await cluster(() => ({ partitions: {} }));
    const owners = (n: FlotillaNode): Set<string> => new Set((n.partitionTable()?.assignments ?? []).map((a) => a.owner));
    const oneTable = (): boolean => new Set(nodes.map((n) => n.partitionTable()?.version)).size === 1;
    await waitFor(() => oneTable() && nodes.every((n) => owners(n).size === 3), 'all three nodes to own partitions in one table', DEADLINE_MS);
    for (const node of nodes) expect(authDrops(node)).toEqual({ udp: 0, tcp: 0 });
  });

  it('refuses a node with the wrong secret at its first connection: it fails saying why and is never listed', async () => {
    const nodes = await cluster();
    const err = await rejection(start('intruder', [nodes[0]!.address], { secret: WRONG_SECRET }));
    expect(isFlotillaError(err, 'FLO_AUTH_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/^Authentication failed: .*did not prove the cluster secret/);
    await waitFor(() => authDrops(nodes[0]!).tcp >= 1, 'the refusal to be counted on the seed', DEADLINE_MS);
    await waitForProbeRounds(nodes, 3);
    expect(nobodyKnows(nodes, 'intruder')).toBe(true);
    expect(converged(nodes)).toBe(true);
  });

  it('never lists an intruder that formed its own cluster seeded with a member address and probes it', async () => {
    const memberAddress = `127.0.0.1:${await closedPort()}`;
    const intruderAddress = `127.0.0.1:${await closedPort()}`;
    // Nothing listens on the member address yet, so the intruder forms a cluster of its own.
    await start('intruder', [intruderAddress, memberAddress], { listen: intruderAddress, secret: WRONG_SECRET, swim: { splitBrainProbeIntervalMs: 200 } });
    const nodes = await cluster((i) => (i === 0 ? { listen: memberAddress } : {}));
    expect(nodes[0]!.address).toBe(memberAddress);
    await waitFor(() => authDrops(nodes[0]!).tcp >= 2, "the intruder's probes to be refused", DEADLINE_MS);
    await waitForProbeRounds(nodes, 5);
    expect(nobodyKnows(nodes, 'intruder')).toBe(true);
    expect(converged(nodes)).toBe(true);
  });

  it('drops forged gossip from a host without the secret before any machine sees it', async () => {
    const nodes = await cluster();
    const [n1, n2, n3] = nodes as [FlotillaNode, FlotillaNode, FlotillaNode];
    const rogue = new ClusterTransport({ host: '127.0.0.1', port: 0, authKey: deriveFrameAuthKey(WRONG_SECRET, 'flotilla') });
    transports.push(rogue);
    await rogue.start();
    const rejectedBefore = nodes.map((n) => n.stats().driver.rumoursRejected);
    const alive: Alive = { type: 'Alive', node: 'rogue', incarnation: 1, address: rogue.address(), tags: {} };
    const dead: Dead = { type: 'Dead', node: 'n2', incarnation: (n1.member('n2')?.incarnation ?? 0) + 1_000, from: 'n3', left: false };
    const forged: [FlotillaNode, Message][] = [
      [n1, alive],
      [n1, dead],
      [n3, { type: 'Gossip', from: 'n3', updates: [dead, alive] }],
      [n3, { type: 'Ping', seqNo: 1, from: 'rogue', target: 'n3', updates: [alive, dead] }],
    ];
    for (const [to, message] of forged) await rogue.send({ to: to.address, channel: 'udp', message });
    const err = await rejection(
      rogue.send({ to: n2.address, channel: 'tcp', message: { type: 'PushPull', from: 'rogue', join: true, reply: false, clusterId: 'flotilla', states: [] } }),
    );
    expect(isFlotillaError(err, 'FLO_AUTH_FAILED')).toBe(true);
    await waitFor(() => authDrops(n1).udp === 2 && authDrops(n3).udp === 2 && authDrops(n2).tcp === 1, 'every forgery to be refused', DEADLINE_MS);
    await waitForProbeRounds(nodes, 5);
    expect(nobodyKnows(nodes, 'rogue')).toBe(true);
    for (const node of nodes) expect(node.member('n2')?.state).toBe('alive');
    expect(nodes.map((n) => n.stats().driver.rumoursRejected)).toEqual(rejectedBefore);
    expect(converged(nodes)).toBe(true);
  });
});
