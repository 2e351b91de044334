// Whole nodes over mutual TLS (`startNode` with `transport.tls`): two TLS nodes form a
// cluster; a node without TLS and a node with a certificate from another CA cannot join
// it, and never appear in any member list or view.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { startNode, type FlotillaNode, type StartNodeOptions } from '../../src/node/index.js';
import type { TlsMaterial } from '../../src/transport/index.js';
import { converged, nodeOptions, stopAll, waitFor } from '../node/helpers.js';
import { makeTlsFixture, type TlsFixture } from './tls-fixtures.js';

let fx: TlsFixture;
const running: FlotillaNode[] = [];
beforeAll(() => {
  fx = makeTlsFixture();
});
afterEach(async () => {
  await stopAll(running.splice(0));
});
afterAll(() => fx.remove());

/** Generous: two cores are shared by several test runs. */
const DEADLINE_MS = 30_000;

async function start(nodeId: string, tls: TlsMaterial | undefined, seeds: readonly string[] = [], extra: StartNodeOptions = {}): Promise<FlotillaNode> {
  const transport = tls === undefined ? { connectTimeoutMs: 5_000 } : { tls, connectTimeoutMs: 5_000 };
  const options: StartNodeOptions = nodeOptions({ nodeId, seeds, transport, ...extra });
  const node = await startNode(options);
  running.push(node);
  return node;
}

/** Starts a joiner that must be refused; returns the join error. */
async function refusedJoin(nodeId: string, tls: TlsMaterial | undefined, seed: string): Promise<unknown> {
  try {
    running.push(await start(nodeId, tls, [seed]));
  } catch (err) {
    return err;
  }
  throw new Error(`${nodeId} joined a cluster it should have been refused from`);
}

function nobodyKnows(nodes: readonly FlotillaNode[], nodeId: string): boolean {
  return nodes.every((n) => n.member(nodeId) === undefined && !(n.membersView()?.members ?? []).some((m) => m.nodeId === nodeId));
}

describe('a cluster over mutual TLS', () => {
  it('forms: two TLS nodes join, agree, and share the partitions (tables and migrations over TLS)', async () => {
    const tls = fx.material('node');
    const withPartitions: StartNodeOptions = { partitions: {} };
    const first = await start('t1', tls, [], withPartitions);
    const second = await start('t2', tls, [first.address], withPartitions);
    await waitFor(() => converged([first, second]), 'two TLS nodes to converge', DEADLINE_MS);
    const owners = (n: FlotillaNode): Set<string> => new Set((n.partitionTable()?.assignments ?? []).map((a) => a.owner));
    const sameTable = (): boolean => first.partitionTable()?.version === second.partitionTable()?.version;
    await waitFor(() => sameTable() && owners(first).size === 2 && owners(second).size === 2, 'both nodes to own partitions in one table', DEADLINE_MS);
    for (const node of [first, second]) expect(node.stats().transport?.tcp.inbound.dropped['tls-handshake']).toBeUndefined();
  });

  it('refuses a node without TLS: its join fails and it is never a member', async () => {
    const first = await start('t1', fx.material('node'));
    const err = await refusedJoin('plain', undefined, first.address);
    expect(isFlotillaError(err, 'FLO_NO_SEEDS_REACHABLE')).toBe(true);
    expect(first.stats().transport?.tcp.inbound.dropped['tls-handshake'] ?? 0).toBeGreaterThan(0);
    expect(nobodyKnows([first], 'plain')).toBe(true);
  });

  it('refuses a node whose certificate comes from another CA, even if it trusts ours', async () => {
    const tls = fx.material('node');
    const first = await start('t1', tls);
    const second = await start('t2', tls, [first.address]);
    await waitFor(() => converged([first, second]), 'two TLS nodes to converge', DEADLINE_MS);
    const rogue = fx.material('rogue', 'rogue-ca');
    const err = await refusedJoin('rogue', { ...rogue, ca: `${String(rogue.ca)}${String(tls.ca)}` }, first.address);
    expect(isFlotillaError(err, 'FLO_NO_SEEDS_REACHABLE')).toBe(true);
    expect(first.stats().transport?.tcp.inbound.dropped['tls-handshake'] ?? 0).toBeGreaterThan(0);
    expect(nobodyKnows([first, second], 'rogue')).toBe(true);
    expect(converged([first, second])).toBe(true);
  });

  it('refuses bad TLS material before binding anything', async () => {
    const material = { ...fx.material('node'), key: fx.material('rogue').key };
    await expect(start('bad', material)).rejects.toThrow(/transport\.tls\.key is not the private key/);
  });
});
