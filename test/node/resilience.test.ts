// What a hostile or broken peer can do to a running cluster over real sockets: garbage
// on the UDP and TCP port is counted and dropped, and rumours about a node the master
// never admitted do not put it in anybody's member list.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alive } from '../../src/protocol/messages.js';
import { ClusterTransport, deriveFrameAuthKey } from '../../src/transport/index.js';
import { parseAddress } from '../../src/transport/address.js';
import type { FlotillaNode } from '../../src/node/index.js';
import { converged, SECRET, startCluster, stopAll, waitFor, waitForProbeRounds } from './helpers.js';

function droppedTotal(dropped: Readonly<Partial<Record<string, number>>>): number {
  return Object.values(dropped).reduce<number>((sum, n) => sum + (n ?? 0), 0);
}

async function sendUdpGarbage(address: string, datagrams: readonly Buffer[]): Promise<void> {
  const { host, port } = parseAddress(address);
  const socket = createSocket('udp4');
  try {
    for (const datagram of datagrams) await new Promise<void>((resolve, reject) => socket.send(datagram, port, host, (err) => (err ? reject(err) : resolve())));
  } finally {
    socket.close();
  }
}

async function sendTcpGarbage(address: string, bytes: Buffer): Promise<void> {
  const { host, port } = parseAddress(address);
  await new Promise<void>((resolve) => {
    const socket = connect(port, host, () => socket.end(bytes));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}

describe('a cluster under garbage and forged rumours', () => {
  let nodes: FlotillaNode[] = [];
  let rogue: ClusterTransport;

  beforeAll(async () => {
    nodes = await startCluster(3);
    await waitFor(() => converged(nodes), 'three nodes to converge');
    // The rogue holds the cluster secret (its frames pass authentication) but no master
    // ever admitted it: what is left to stop its rumours is the admission guard.
    rogue = new ClusterTransport({ host: '127.0.0.1', port: 0, authKey: deriveFrameAuthKey(SECRET, 'flotilla') });
    await rogue.start();
  });

  afterAll(async () => {
    await rogue.close();
    await stopAll(nodes);
  });

  it('counts and drops garbage on the UDP and TCP port without disturbing the members', async () => {
    const target = nodes[1]!;
    const before = target.stats().transport!;
    const garbage = Array.from({ length: 40 }, (_, i) => randomBytes(1 + ((i * 37) % 300)));
    garbage.push(Buffer.alloc(2_000, 0xff), Buffer.from([0x00]), Buffer.from('{"type":"Ping"}'));
    await sendUdpGarbage(target.address, garbage);
    // A length prefix claiming a huge frame, then plain noise on a second connection.
    await sendTcpGarbage(target.address, Buffer.concat([Buffer.from([0x7f, 0xff, 0xff, 0xff]), randomBytes(64)]));
    await sendTcpGarbage(target.address, randomBytes(512));
    await waitFor(() => {
      const udp = target.stats().transport!.udp;
      return droppedTotal(udp.dropped) - droppedTotal(before.udp.dropped) >= garbage.length;
    }, 'every garbage datagram to be counted as dropped');
    await waitFor(() => droppedTotal(target.stats().transport!.tcp.inbound.dropped) > droppedTotal(before.tcp.inbound.dropped), 'the garbage TCP frames to be counted');
    await waitForProbeRounds(nodes, 5);
    expect(converged(nodes)).toBe(true);
    expect(target.stats().driver.turnFailures).toBe(0);
  });

  it('does not let a never-admitted node in through Alive, gossip, probes or push-pull', async () => {
    const rogueAlive: Alive = { type: 'Alive', node: 'rogue', incarnation: 1, address: rogue.address(), tags: {} };
    const [n1, n2, n3] = nodes as [FlotillaNode, FlotillaNode, FlotillaNode];
    await rogue.send({ to: n1.address, channel: 'udp', message: rogueAlive });
    await rogue.send({ to: n2.address, channel: 'udp', message: { type: 'Gossip', from: 'rogue', updates: [rogueAlive] } });
    await rogue.send({ to: n3.address, channel: 'udp', message: { type: 'Ping', seqNo: 1, from: 'rogue', target: 'n3', updates: [rogueAlive] } });
    await rogue.send({
      to: n1.address,
      channel: 'tcp',
      message: {
        type: 'PushPull',
        from: 'rogue',
        join: true,
        reply: false,
        clusterId: 'flotilla',
        states: [{ nodeId: 'rogue', address: rogue.address(), incarnation: 1, state: 'alive', tags: {} }],
      },
    });
    await waitFor(() => nodes.reduce((sum, n) => sum + n.stats().driver.rumoursRejected, 0) >= 4, 'the four rumours to be stripped');
    await waitForProbeRounds(nodes, 10);
    for (const node of nodes) expect(node.member('rogue')).toBeUndefined();
    expect(converged(nodes)).toBe(true);
  });

  it('counts messages no service takes and drops them', async () => {
    await rogue.send({ to: nodes[0]!.address, channel: 'tcp', message: { type: 'MigrateCancel', migrationId: 'm', partition: 1, reason: 'x' } });
    await waitFor(() => nodes[0]!.stats().driver.unrouted.MigrateCancel === 1, 'the unrouted message to be counted');
  });
});
