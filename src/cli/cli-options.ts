/**
 * Parsing of the `flotilla` command-line values that are more than a string: tag lists,
 * seed lists, admin HTTP addresses, SWIM overrides, counts, TLS files, the PostgreSQL
 * URL. Each mistake becomes a
 * `UsageError`, which the entry point prints as one line before exiting with status 2.
 */
import { isIP } from 'node:net';
import { DEFAULT_SWIM_CONFIG, type SwimConfig } from '../membership/config.js';
import { DEFAULT_KV_CONFIG, type KvConfig } from '../grid/kv-config.js';
import { parseSeed } from '../node/listen-address.js';
import { normalizeEndpoint } from '../node/etcd/etcd-config.js';
import { loadTlsFiles, type TlsMaterial } from '../transport/index.js';

/** Exit status of a usage error: bad flags, bad values, an address that cannot be used. */
export const USAGE_EXIT_CODE = 2;

/** A mistake in the command line or environment; its message is one line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `k=v,k2=v2` -> `{ k: 'v', k2: 'v2' }`; an empty string is no tags. */
export function parseTagList(text: string, option = '--tags'): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const item of splitList(text)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${option}: expected key=value, got ${JSON.stringify(item)}`);
    const key = item.slice(0, eq).trim();
    // Own keys only: `in` sees the prototype's ("constructor"), and `__proto__` must stay a plain key.
    if (Object.hasOwn(tags, key)) throw new UsageError(`${option}: tag ${JSON.stringify(key)} given twice`);
    Object.defineProperty(tags, key, { value: item.slice(eq + 1).trim(), enumerable: true, writable: true, configurable: true });
  }
  return tags;
}

/** `host:port,host:port` -> the seed addresses, each checked. */
export function parseSeedList(text: string, option = '--seeds'): string[] {
  return splitList(text).map((seed) => {
    try {
      return parseSeed(seed, option);
    } catch (err) {
      throw new UsageError(oneLine(err));
    }
  });
}

/** Where the admin API listens: `8080`, `:8080`, `0.0.0.0:8080` or `[::1]:8080`. Host defaults to 127.0.0.1. */
export function parseHttpAddress(text: string, option = '--http'): { host: string; port: number } {
  const value = text.trim();
  let host = '127.0.0.1';
  let portText = value;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (bracket !== null) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else if (value.includes(':')) {
    const colon = value.lastIndexOf(':');
    if (colon > 0) host = value.slice(0, colon);
    portText = value.slice(colon + 1);
  }
  if (host !== 'localhost' && isIP(host) === 0) throw new UsageError(`${option}: host ${JSON.stringify(host)} must be an IP address or localhost`);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) throw new UsageError(`${option}: expected [host:]port with a port in 0..65535, got ${JSON.stringify(text)}`);
  return { host, port };
}

/**
 * `k=v,...` -> overrides of the settings whose defaults are `defaults`: keys must be its
 * fields, values take the type of the default (numbers, true/false, else text, which the
 * node's own validation checks with the ranges).
 */
function parseOverrides<T extends object>(text: string, option: string, defaults: T, what: string): Partial<T> {
  const out: Record<string, number | boolean | string> = {};
  for (const [key, raw] of Object.entries(parseTagList(text, option))) {
    if (!Object.hasOwn(defaults, key)) throw new UsageError(`${option}: ${key} is not a ${what} setting`);
    const kind = typeof defaults[key as keyof T];
    if (kind === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`${option}: ${key} must be true or false`);
      out[key] = raw === 'true';
    } else if (kind === 'number') {
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value)) throw new UsageError(`${option}: ${key} must be a number, got ${JSON.stringify(raw)}`);
      out[key] = value;
    } else {
      out[key] = raw;
    }
  }
  return out as Partial<T>;
}

/** `probeIntervalMs=200,tcpFallbackProbe=false` -> SWIM overrides; keys and value types are checked. */
export function parseSwimOverrides(text: string, option = '--swim'): Partial<SwimConfig> {
  return parseOverrides(text, option, DEFAULT_SWIM_CONFIG, 'SWIM');
}

/** `writeCopiesMin=2,backupMode=sync` -> map store overrides; keys and value types are checked. */
export function parseKvOverrides(text: string, option = '--kv'): Partial<KvConfig> {
  return parseOverrides(text, option, DEFAULT_KV_CONFIG, 'map store (kv)');
}

/** A whole number in [min, max]. */
export function parseCount(text: string, option: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`${option}: expected a whole number in ${min}..${max}, got ${JSON.stringify(text)}`);
  return value;
}

/** The three TLS flags as given (after environment fallbacks); empty strings count as absent. */
export interface TlsFlags {
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly tlsCa?: string | undefined;
}

const TLS_FLAG_NAMES = [
  ['tlsCert', '--tls-cert', 'FLOTILLA_TLS_CERT'],
  ['tlsKey', '--tls-key', 'FLOTILLA_TLS_KEY'],
  ['tlsCa', '--tls-ca', 'FLOTILLA_TLS_CA'],
] as const;

/**
 * Reads and checks the PEM files of `--tls-cert`, `--tls-key` and `--tls-ca`: all three
 * or none (mutual TLS needs the CA as much as the identity). Undefined when none is given.
 */
export function loadTlsFlags(flags: TlsFlags): TlsMaterial | undefined {
  const given = TLS_FLAG_NAMES.filter(([field]) => (flags[field] ?? '') !== '');
  if (given.length === 0) return undefined;
  const missing = TLS_FLAG_NAMES.filter(([field]) => (flags[field] ?? '') === '');
  if (missing.length > 0) {
    const names = missing.map(([, flag, env]) => `${flag} (${env})`).join(' and ');
    throw new UsageError(`--tls-cert, --tls-key and --tls-ca go together: ${names} missing`);
  }
  try {
    return loadTlsFiles({ cert: flags.tlsCert!, key: flags.tlsKey!, ca: flags.tlsCa! });
  } catch (err) {
    throw new UsageError(oneLine(err));
  }
}

/** `host:port` or `http(s)://host:port`, comma-separated: the etcd endpoints of `--etcd`. */
export function parseEtcdEndpoints(text: string, option = '--etcd'): string[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new UsageError(`${option}: expected host:port[,host:port...]`);
  try {
    return parts.map((p) => normalizeEndpoint(p));
  } catch (error) {
    throw new UsageError(`${option}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** `postgres://user:password@host:port/database` (or `postgresql://`), checked; the password never appears in errors. */
export function parsePostgresUrl(text: string, option = '--postgres'): string {
  const value = text.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${option}: not a URL; expected postgres://user:password@host:port/database`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError(`${option}: expected a postgres:// or postgresql:// URL, got ${url.protocol}//`);
  }
  if (url.hostname === '' && !url.searchParams.has('host')) throw new UsageError(`${option}: the URL names no host`);
  return value;
}

/** An error's message on one line. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
