/**
 * Parsing and formatting of cluster addresses (`host:port`, `[v6]:port`). Every socket
 * call in this layer goes through here, so a malformed address fails once, with a
 * catalogued error, instead of deep inside `node:net`.
 */
import { isIP } from 'node:net';
import type { Address } from '../core/model.js';
import { FlotillaError } from '../core/errors.js';

/** A parsed `host:port`. `host` carries no brackets, even for IPv6. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Longest address accepted: a DNS name (253) plus brackets, colon and port. */
export const addressLengthMax = 262;

/** Parse `host:port` or `[v6]:port`; throws FLO_INVALID_ARGUMENT when it is not one. */
export function parseAddress(address: Address): HostPort {
  if (typeof address !== 'string' || address.length === 0 || address.length > addressLengthMax) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'address must be a non-empty host:port string', { address });
  }
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0 || address[close + 1] !== ':') {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `bad IPv6 address ${address}`, { address });
    }
    host = address.slice(1, close);
    portText = address.slice(close + 2);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon <= 0 || address.indexOf(':') !== colon) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `address ${address} is not host:port`, { address });
    }
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (host.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `address ${address} has no valid host and port`, { address });
  }
  return { host, port };
}

/** Format a host and port as an `Address`, bracketing IPv6 literals. */
export function formatAddress(host: string, port: number): Address {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
