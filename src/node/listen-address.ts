/**
 * Parsing of the addresses an operator writes: where to listen (`127.0.0.1:7946`,
 * `[::]:0`), what to advertise (`10.0.0.5` or `10.0.0.5:7946`), and seeds. Every mistake
 * becomes one FLO_CONFIG_INVALID naming the option and what was wrong with it.
 */
import { isIP } from 'node:net';
import { FlotillaError } from '../core/errors.js';
import type { Address } from '../core/model.js';
import { ADDRESS_BYTES_MAX } from '../protocol/limits.js';

/** A host and a port; the host carries no brackets. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

function invalid(option: string, value: unknown, why: string): FlotillaError {
  return new FlotillaError('FLO_CONFIG_INVALID', `${option} ${JSON.stringify(value)}: ${why}`, { option, value });
}

/** Splits `host:port` or `[v6]:port` without judging either part; undefined when there is no port. */
function split(text: string): { host: string; portText: string } | undefined {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return undefined;
    return { host: text.slice(1, close), portText: text.slice(close + 2) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0 || text.indexOf(':') !== colon) return undefined;
  return { host: text.slice(0, colon), portText: text.slice(colon + 1) };
}

function parsePort(option: string, value: string, portText: string, min: number): number {
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= min && port <= 65_535)) throw invalid(option, value, `port must be an integer in ${min}..65535`);
  return port;
}

/** Host names and IP literals: no spaces, no scheme, within the wire's address bound. */
function checkHost(option: string, value: string, host: string): void {
  if (host.length === 0) throw invalid(option, value, 'host is empty');
  if (isIP(host) !== 0) return;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host) || host.length > 253) throw invalid(option, value, 'host is neither an IP address nor a DNS name');
}

/**
 * Where to bind: `ip:port` with an IP literal (the sockets bind addresses, not names);
 * port 0 lets the OS pick.
 */
export function parseListen(value: string, option = 'listen'): HostPort {
  if (typeof value !== 'string') throw invalid(option, value, 'expected "ip:port"');
  const parts = split(value.trim());
  if (parts === undefined) throw invalid(option, value, 'expected "ip:port", e.g. "127.0.0.1:7946"');
  if (isIP(parts.host) === 0) throw invalid(option, value, 'host must be an IP address (use 0.0.0.0 to listen on every interface)');
  return { host: parts.host, port: parsePort(option, value, parts.portText, 0) };
}

/**
 * What peers use to reach this node: a host (IP or DNS name), optionally with the port,
 * which must then be the listening port (the transport advertises the port it bound).
 */
export function parseAdvertise(value: string, listenPort: number, option = 'advertise'): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw invalid(option, value, 'expected a host or "host:port"');
  const text = value.trim();
  const parts = text.startsWith('[') || text.includes(':') ? split(text) : { host: text, portText: '' };
  if (parts === undefined) {
    if (isIP(text) === 6) return text;
    throw invalid(option, value, 'expected a host or "host:port"');
  }
  checkHost(option, value, parts.host);
  if (parts.portText !== '') {
    const port = parsePort(option, value, parts.portText, 1);
    if (port !== listenPort) throw invalid(option, value, `port must be the listening port (${listenPort === 0 ? 'which is picked at start: give only the host' : listenPort})`);
  }
  return parts.host;
}

/** A seed: `host:port` with a real port; a DNS name is allowed. */
export function parseSeed(value: string, option = 'seeds'): Address {
  if (typeof value !== 'string') throw invalid(option, value, 'expected "host:port"');
  const text = value.trim();
  if (text.length > ADDRESS_BYTES_MAX) throw invalid(option, value, `longer than ${ADDRESS_BYTES_MAX} bytes`);
  const parts = split(text);
  if (parts === undefined) throw invalid(option, value, 'expected "host:port", e.g. "10.0.0.1:7946"');
  checkHost(option, value, parts.host);
  parsePort(option, value, parts.portText, 1);
  return text;
}
