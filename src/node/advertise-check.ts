/**
 * The start-time check of an advertised address: peers dial the address a node
 * advertises, so a node whose advertised address does not lead back to its own socket
 * (a typo, an address of another host, a name that does not resolve) would join half-way
 * and then look dead to everyone. Dialling it once before joining turns that into one
 * clear FLO_ADVERTISE_UNREACHABLE.
 */
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { FlotillaError } from '../core/errors.js';
import type { Address } from '../core/model.js';

/** Where the node listens and what it advertises. */
export interface AdvertisedAddress {
  /** The advertised cluster address, `host:port` (or `[v6]:port`). */
  readonly advertised: Address;
  /** The host the sockets are bound to (`0.0.0.0`, `::` or an IP). */
  readonly listenHost: string;
}

/** This host's interface addresses, for the error message (what could be advertised). */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4' || !i.address.startsWith('fe80'))
    .map((i) => i.address);
}

function splitAddress(address: Address): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(colon + 1)) };
}

/** Connects to `host:port` within `timeoutMs`; resolves undefined on success, else the reason. */
function dial(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reason: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`no connection within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/**
 * Dials the advertised address over TCP; rejects with FLO_ADVERTISE_UNREACHABLE when it
 * does not connect within `timeoutMs`. A node advertising the very address it binds needs
 * no check.
 */
export async function checkAdvertised({ advertised, listenHost }: AdvertisedAddress, timeoutMs: number): Promise<void> {
  const { host, port } = splitAddress(advertised);
  if (host === listenHost) return;
  const reason = await dial(host, port, timeoutMs);
  if (reason === undefined) return;
  const local = localAddresses();
  throw new FlotillaError(
    'FLO_ADVERTISE_UNREACHABLE',
    `dialling ${advertised} failed (${reason}) while this node listens on ${listenHost}:${port}, so peers could not reach it. ` +
      `Advertise an address of this host that reaches the listener (interfaces: ${local.join(', ')}), or a forwarded address that reaches it`,
    { advertised, listen: `${listenHost}:${port}`, reason },
  );
}
