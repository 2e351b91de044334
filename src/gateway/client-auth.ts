/**
 * JWT verification for client connections (`jose`): HS256 with a shared secret, or
 * RS256/ES256 against a JWKS (a URL fetched and cached by jose, or a key set given
 * inline). A verified token yields its subject and expiry; every failure is a
 * catalogued error (FLO_TOKEN_EXPIRED for an expired token, FLO_AUTH_FAILED otherwise),
 * whose message never echoes the token.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { FlotillaError } from '../core/errors.js';
import { CLIENT_SECRET_BYTES_MIN, type ClientAuthConfig } from './client-auth-config.js';

export { CLIENT_SECRET_BYTES_MIN, type ClientAuthConfig } from './client-auth-config.js';

/** Who a verified token speaks for. */
export interface ClientIdentity {
  readonly subject: string | undefined;
  /** The token's `exp`, in ms since the epoch; null when the token has none. */
  readonly expiresAt: number | null;
}

/** Verifies client tokens. */
export interface ClientAuthenticator {
  verify(token: string): Promise<ClientIdentity>;
}

/** @throws FlotillaError FLO_CONFIG_INVALID unless exactly one key source is given and sound. */
export function createClientAuthenticator(config: ClientAuthConfig): ClientAuthenticator {
  const sources = [config.secret, config.jwksUrl, config.jwks].filter((s) => s !== undefined);
  if (sources.length !== 1) throw new FlotillaError('FLO_CONFIG_INVALID', 'client auth needs exactly one of secret, jwksUrl, jwks');
  const options = { ...(config.issuer === undefined ? {} : { issuer: config.issuer }), ...(config.audience === undefined ? {} : { audience: config.audience }) };
  if (config.secret !== undefined) {
    const key = new TextEncoder().encode(config.secret);
    if (key.byteLength < CLIENT_SECRET_BYTES_MIN) throw new FlotillaError('FLO_CONFIG_INVALID', `the client JWT secret must be at least ${CLIENT_SECRET_BYTES_MIN} bytes`);
    return { verify: (token) => verifyWith(() => jwtVerify(token, key, { ...options, algorithms: ['HS256'] })) };
  }
  let keys: JWTVerifyGetKey;
  try {
    keys = config.jwksUrl !== undefined ? createRemoteJWKSet(new URL(config.jwksUrl)) : createLocalJWKSet(config.jwks!);
  } catch (error) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `client auth JWKS: ${error instanceof Error ? error.message : 'unusable'}`);
  }
  return { verify: (token) => verifyWith(() => jwtVerify(token, keys, { ...options, algorithms: ['RS256', 'ES256'] })) };
}

async function verifyWith(run: () => Promise<{ payload: { sub?: string; exp?: number } }>): Promise<ClientIdentity> {
  try {
    const { payload } = await run();
    return { subject: payload.sub, expiresAt: payload.exp === undefined ? null : payload.exp * 1000 };
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new FlotillaError('FLO_TOKEN_EXPIRED', 'the token has expired');
    const reason = error instanceof errors.JOSEError ? error.code : 'unreadable token';
    throw new FlotillaError('FLO_AUTH_FAILED', `token refused (${reason})`);
  }
}
