// Bind and advertise apart: a node bound to every interface that advertises one address
// is joined through it; an advertised address that does not lead back to the node (a
// port nobody serves, an address of no host, a name that does not resolve) fails the
// start with FLO_ADVERTISE_UNREACHABLE and leaves nothing bound.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { startNode, type FlotillaNode } from '../../src/node/index.js';
import { checkAdvertised } from '../../src/node/advertise-check.js';
import { converged, nodeOptions, stopAll, waitFor } from './helpers.js';

const started: FlotillaNode[] = [];

afterEach(async () => {
  await stopAll(started.splice(0));
});

async function startFailure(options: Parameters<typeof startNode>[0]): Promise<Error> {
  try {
    started.push(await startNode(options));
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected startNode to fail');
}

/** A TCP port nothing listens on right now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('advertise apart from the bind address', () => {
  it('binds 0.0.0.0, advertises 127.0.0.1, and a peer joins through the advertised address', async () => {
    const a = await startNode(nodeOptions({ nodeId: 'a', listen: '0.0.0.0:0', advertise: '127.0.0.1' }));
    started.push(a);
    expect(a.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const b = await startNode(nodeOptions({ nodeId: 'b', seeds: [a.address] }));
    started.push(b);
    await waitFor(() => converged([a, b]), 'a and b see each other');
    expect(b.member('a')?.address).toBe(a.address);
  });

  it.each([
    ['127.0.0.2', '127.0.0.1:0', /ECONNREFUSED/],
    ['no-such-host.invalid', '0.0.0.0:0', /ENOTFOUND|EAI_AGAIN/],
  ])('refuses to start advertising %s while bound to %s', async (advertise, listen, reason) => {
    const err = await startFailure(nodeOptions({ nodeId: 'x', listen, advertise, lifecycle: { advertiseCheckTimeoutMs: 5_000 } }));
    expect(isFlotillaError(err, 'FLO_ADVERTISE_UNREACHABLE')).toBe(true);
    expect(err.message).toMatch(reason);
    expect(err.message).toContain('does not reach this node');
  });

  it('gives up on an address that never answers after advertiseCheckTimeoutMs', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never routed, so the dial hangs or fails at once.
    const err = await startFailure(nodeOptions({ nodeId: 'y', listen: '0.0.0.0:0', advertise: '192.0.2.1', lifecycle: { advertiseCheckTimeoutMs: 300 } }));
    expect(isFlotillaError(err, 'FLO_ADVERTISE_UNREACHABLE')).toBe(true);
  });

  it('leaves the port free after a refused start, so a corrected start can bind it', async () => {
    const port = await closedPort();
    const err = await startFailure(nodeOptions({ nodeId: 'z', listen: `127.0.0.1:${port}`, advertise: '127.0.0.2' }));
    expect(isFlotillaError(err, 'FLO_ADVERTISE_UNREACHABLE')).toBe(true);
    const node = await startNode(nodeOptions({ nodeId: 'z', listen: `127.0.0.1:${port}` }));
    started.push(node);
    expect(node.address).toBe(`127.0.0.1:${port}`);
  });

  it('skips the check when advertiseCheck is false (NAT without hairpin)', async () => {
    const node = await startNode(nodeOptions({ nodeId: 'w', listen: '127.0.0.1:0', advertise: '127.0.0.2', advertiseCheck: false }));
    started.push(node);
    expect(node.address).toMatch(/^127\.0\.0\.2:/);
  });

  it('checkAdvertised accepts an address that dials the listener and refuses a closed port', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await expect(checkAdvertised({ advertised: `localhost:${port}`, listenHost: '127.0.0.1' }, 2_000)).resolves.toBeUndefined();
    await new Promise((resolve) => server.close(resolve));
    await expect(checkAdvertised({ advertised: `localhost:${port}`, listenHost: '127.0.0.1' }, 2_000)).rejects.toMatchObject({ code: 'FLO_ADVERTISE_UNREACHABLE' });
  });
});
