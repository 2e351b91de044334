// startNode end to end over real sockets on 127.0.0.1: a cluster forms and agrees on its
// master and members, the cluster secret keeps strangers out, and bad options fail fast.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { startNode, type FlotillaNode, type StartNodeOptions } from '../../src/node/index.js';
import { converged, nodeOptions, startCluster, stopAll, waitFor, waitForProbeRounds } from './helpers.js';

async function startError(options: StartNodeOptions): Promise<unknown> {
  try {
    const node = await startNode(options);
    await node.stop();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('a three-node cluster', () => {
  let nodes: FlotillaNode[] = [];

  beforeAll(async () => {
    nodes = await startCluster(3);
    await waitFor(() => converged(nodes), 'three nodes to converge');
  });

  afterAll(() => stopAll(nodes));

  it('agrees on one master, the oldest member, and on the members', () => {
    expect(nodes.map((n) => n.master())).toEqual(['n1', 'n1', 'n1']);
    expect(nodes.map((n) => n.isMaster())).toEqual([true, false, false]);
    for (const node of nodes) {
      expect(node.state()).toBe('running');
      expect(node.members().map((m) => m.nodeId).sort()).toEqual(['n1', 'n2', 'n3']);
      expect(node.isReadOnly()).toBe(false);
    }
  });

  it('spreads tag updates and answers tag queries', async () => {
    nodes[1]!.updateTags({ zone: 'b', role: 'web' });
    await waitFor(() => nodes.every((n) => n.member('n2')?.tags.zone === 'b'), 'the tag to reach every node');
    expect(nodes[0]!.nodesWithTag('zone', 'b').map((m) => m.nodeId)).toEqual(['n2']);
    expect(nodes[2]!.nodesWithAllTags({ zone: 'b', role: 'web' }).map((m) => m.nodeId)).toEqual(['n2']);
    nodes[1]!.removeTag('role');
    await waitFor(() => nodes.every((n) => n.member('n2')?.tags.role === undefined), 'the removal to reach every node');
    expect(() => nodes[0]!.updateTag('health', 'ok')).toThrow(/reserved/);
  });

  it('refuses a node with the wrong secret, which never appears in any member list', async () => {
    const err = await startError(nodeOptions({ nodeId: 'intruder', secret: 'not-the-cluster-secret', seeds: [nodes[1]!.address] }));
    expect(isFlotillaError(err, 'FLO_AUTH_FAILED')).toBe(true);
    // Several protocol periods on every node: enough for any rumour of it to have spread.
    await waitForProbeRounds(nodes, 10);
    for (const node of nodes) {
      expect(node.member('intruder')).toBeUndefined();
      expect(node.membersView()?.members.some((m) => m.nodeId === 'intruder')).toBe(false);
    }
    expect(converged(nodes)).toBe(true);
  });

  it('reports stats of every layer', () => {
    const stats = nodes[0]!.stats();
    expect(stats.nodeId).toBe('n1');
    expect(stats.membership.members.alive).toBe(3);
    expect(stats.membership.probes).toBeGreaterThan(0);
    expect(stats.transport?.udp.datagramsOut).toBeGreaterThan(0);
    expect(stats.driver.turns).toBeGreaterThan(0);
    expect(stats.driver.turnFailures).toBe(0);
    expect(stats.quorum.kind).toBe('healthy');
    expect(stats.health).toBe('ok');
  });
});

describe('startNode failures', () => {
  it('rejects with FLO_NO_SEEDS_REACHABLE when no seed answers, after closing its sockets', async () => {
    const err = await startError(nodeOptions({ nodeId: 'lonely', seeds: ['127.0.0.1:9'], swim: { joinAttemptsMax: 2, joinBackoffMaxMs: 100 } }));
    expect(isFlotillaError(err, 'FLO_NO_SEEDS_REACHABLE')).toBe(true);
  });

  it('rejects with FLO_CONFIG_INVALID when the address is taken', async () => {
    const node = await startNode(nodeOptions({ nodeId: 'first' }));
    try {
      const err = await startError(nodeOptions({ nodeId: 'second', listen: node.address }));
      expect(isFlotillaError(err, 'FLO_CONFIG_INVALID')).toBe(true);
    } finally {
      await node.stop();
    }
  });

  const invalid: [string, StartNodeOptions, RegExp][] = [
    ['no secret', { listen: '127.0.0.1:0' }, /secret is required/],
    ['a short secret', { listen: '127.0.0.1:0', secret: 'short' }, /at least 16/],
    ['a listen address without port', nodeOptions({ listen: '127.0.0.1' }), /listen/],
    ['a listen host name', nodeOptions({ listen: 'localhost:7946' }), /IP address/],
    ['a wildcard listen without advertise', nodeOptions({ listen: '0.0.0.0:0' }), /advertise/],
    ['an advertise port that is not the listen port', nodeOptions({ listen: '127.0.0.1:7000', advertise: '10.0.0.1:7001' }), /listening port/],
    ['a bad seed', nodeOptions({ seeds: ['127.0.0.1:99999'] }), /seeds/],
    ['an empty node id', nodeOptions({ nodeId: '' }), /nodeId/],
    ['a node id with spaces', nodeOptions({ nodeId: 'a b' }), /nodeId/],
    ['an unknown swim setting', nodeOptions({ swim: { probeIntervalMillis: 5 } as never }), /swim\.probeIntervalMillis/],
    ['a swim rule violation', nodeOptions({ swim: { probeIntervalMs: 100, probeTimeoutMs: 100 } }), /probeTimeoutMs/],
    ['the reserved health tag', nodeOptions({ tags: { health: 'ok' } }), /reserved/],
    ['oversized tags', nodeOptions({ tags: { big: 'x'.repeat(600) } }), /tags/],
    ['a bad log level', nodeOptions({ logLevel: 'loud' as never }), /logLevel/],
    ['transport.host', nodeOptions({ transport: { host: '0.0.0.0' } as never }), /transport\.host/],
    ['a transport rule violation', nodeOptions({ transport: { idleTimeoutMs: 100_000 } }), /readIdleTimeoutMs/],
    ['a leave bound below the SWIM one', nodeOptions({ lifecycle: { leaveTimeoutMs: 10 } }), /leaveTimeoutMs/],
    ['a bad partition setting', nodeOptions({ partitions: { partitionCount: 0 } }), /partitionCount/],
    ['two services with one name', nodeOptions({ services: [svc('a'), svc('a')] }), /named a/],
  ];

  it.each(invalid)('refuses %s with FLO_CONFIG_INVALID', async (_name, options, message) => {
    const err = await startError(options);
    expect(isFlotillaError(err, 'FLO_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });
});

function svc(name: string): import('../../src/node/index.js').NodeService {
  return { name, messageTypes: [], start: () => undefined, onMessage: () => undefined, stop: () => undefined };
}
