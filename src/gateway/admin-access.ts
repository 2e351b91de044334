/**
 * Who may use the admin API: a request must name this server in its Host header (an IP
 * it is bound to, a localhost name, or a name the operator allowed), so a web page cannot
 * reach it through DNS rebinding; a browser request from another origin is refused; and
 * every route but `/health` and the `/dashboard` page (and `/metrics`, unless configured
 * otherwise) needs the admin token as a bearer token. Checks are plain functions of the
 * request headers.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { FlotillaError } from '../core/errors.js';

/**
 * Admin token of development setups (`flotilla dev`, `flotilla start --dev`, the example
 * runner without a secret): public, so never for a real cluster. `flotilla status` sends
 * it when given no token, so a dev cluster needs no setup.
 */
export const DEV_ADMIN_TOKEN = 'flotilla-dev-admin-token-do-not-use-in-production';

/** Shortest admin token accepted, in characters. */
export const ADMIN_TOKEN_CHARS_MIN = 32;

/** Host names that always mean this machine; a rebinding attacker cannot use them. */
const LOCAL_NAMES: ReadonlySet<string> = new Set(['localhost', 'localhost.']);

/** The headers the checks read (Node's `IncomingHttpHeaders` fits). */
export interface AccessHeaders {
  readonly host?: string | undefined;
  readonly origin?: string | undefined;
  readonly authorization?: string | undefined;
  readonly 'sec-fetch-site'?: string | string[] | undefined;
}

/** What the checks compare against. */
export interface AccessPolicy {
  /** The address the server is bound to (`0.0.0.0` or `::` for every interface). */
  readonly boundHost: string;
  /** Further host names (lower case, without port) clients may use, e.g. a DNS name. */
  readonly allowedHosts: readonly string[];
  /** SHA-256 of the admin token, or undefined when the API runs without one. */
  readonly tokenDigest: Uint8Array | undefined;
}

/** The digest a token is compared by, so the comparison takes the same time whatever the lengths. */
export function tokenDigestOf(token: string): Uint8Array {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The host name of a Host header or an origin's authority: lower case, no port, no brackets. */
export function hostNameOf(authority: string): string {
  const value = authority.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end < 0 ? value : value.slice(1, end);
  }
  const colon = value.indexOf(':');
  // More than one colon without brackets: an IPv6 literal with no port.
  if (colon >= 0 && value.indexOf(':', colon + 1) < 0) return value.slice(0, colon);
  return value;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function isLoopbackIp(host: string): boolean {
  return host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * Whether `name` (from `hostNameOf`) names this server: a localhost name, an allowed
 * name, the bound IP, a loopback IP when bound to loopback or everywhere, or any IP
 * literal when bound to every interface. A DNS rebinding attack needs a name the attacker
 * controls, which none of these is.
 */
export function isAllowedHost(name: string, policy: AccessPolicy): boolean {
  if (LOCAL_NAMES.has(name) || policy.allowedHosts.includes(name)) return true;
  if (isIP(name) === 0) return false;
  const bound = policy.boundHost.toLowerCase();
  if (isWildcard(bound) || name === bound) return true;
  return (isLoopbackIp(bound) || bound === 'localhost') && isLoopbackIp(name);
}

/**
 * Refuses (FLO_FORBIDDEN) a request whose Host does not name this server, or that a
 * browser sends from another origin (an `Origin` other than this host and port, or a
 * `Sec-Fetch-Site` other than same-origin). Requests without a Host (HTTP/1.0 tools)
 * pass: every browser sends one.
 */
export function checkHostAndOrigin(headers: AccessHeaders, policy: AccessPolicy): void {
  if (headers.host !== undefined && !isAllowedHost(hostNameOf(headers.host), policy)) {
    throw new FlotillaError('FLO_FORBIDDEN', `host ${JSON.stringify(headers.host)} does not name this admin server; add it to the allowed hosts if clients use that name`);
  }
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') throw new FlotillaError('FLO_FORBIDDEN', 'cross-origin browser requests are refused');
  const origin = headers.origin;
  if (origin === undefined) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw new FlotillaError('FLO_FORBIDDEN', `origin ${JSON.stringify(origin)} is not allowed`);
  }
  // Same origin means the page was served from this very host and port: another local
  // web app (localhost:3000) is another origin even though its host name is allowed.
  const sameOrigin = headers.host !== undefined && originHost === headers.host.trim().toLowerCase();
  if (originHost === '' || !sameOrigin || !isAllowedHost(hostNameOf(originHost), policy)) {
    throw new FlotillaError('FLO_FORBIDDEN', `origin ${JSON.stringify(origin)} is not allowed: cross-origin browser requests are refused`);
  }
}

/**
 * Refuses (FLO_UNAUTHORIZED) a request without `Authorization: Bearer <admin token>`,
 * compared in constant time. Passes everything when the policy has no token.
 */
export function checkToken(headers: AccessHeaders, policy: AccessPolicy): void {
  const expected = policy.tokenDigest;
  if (expected === undefined) return;
  const header = headers.authorization;
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  if (match === null) throw new FlotillaError('FLO_UNAUTHORIZED', 'this route needs the admin token: send "Authorization: Bearer <token>"');
  if (!timingSafeEqual(tokenDigestOf(match[1]!), expected)) throw new FlotillaError('FLO_UNAUTHORIZED', 'the admin token is wrong');
}
