/**
 * What client tokens are checked against, kept apart from the verifier so that planning a
 * node's start (flag checks) does not load the JWT library a node without clients never uses.
 */
import type { JSONWebKeySet } from 'jose';

/** How client tokens are checked. Exactly one of `secret`, `jwksUrl`, `jwks`. */
export interface ClientAuthConfig {
  /** HS256 shared secret (at least 32 bytes). */
  readonly secret?: string;
  /** URL of a JWKS (RS256 / ES256 public keys), fetched and cached. */
  readonly jwksUrl?: string;
  /** An inline JWKS (RS256 / ES256 public keys). */
  readonly jwks?: JSONWebKeySet;
  /** Required `iss` claim, when set. */
  readonly issuer?: string;
  /** Required `aud` claim, when set. */
  readonly audience?: string;
}

/** Shortest HS256 secret accepted, in bytes (the HMAC key length of SHA-256). */
export const CLIENT_SECRET_BYTES_MIN = 32;
