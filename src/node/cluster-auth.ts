/**
 * Join authentication with the cluster secret: a joiner proves it knows the secret with
 * an HMAC-SHA256 over its cluster id, node id and protocol version (never the secret
 * itself), and the master recomputes it and compares in constant time. These are the
 * `makeAuthToken` and `verifyJoin` hooks of the membership machine.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuthTokenMaker, JoinVerdict, JoinVerifier } from '../membership/admission.js';
import type { JoinRequest } from '../protocol/messages.js';

/** Bytes of an HMAC-SHA256 digest. */
const DIGEST_BYTES = 32;

/** Fields the token covers, separated by NUL so `("a", "bc")` and `("ab", "c")` differ. */
function joinTokenBytes(secret: string, clusterId: string, nodeId: string, protocolVersion: number): Buffer {
  return createHmac('sha256', secret).update(`${clusterId}\u0000${nodeId}\u0000${protocolVersion}`, 'utf8').digest();
}

/** The token a node with `secret` puts in its JoinRequest: base64url of the HMAC. */
export function joinToken(secret: string, clusterId: string, nodeId: string, protocolVersion: number): string {
  return joinTokenBytes(secret, clusterId, nodeId, protocolVersion).toString('base64url');
}

/** The `makeAuthToken` hook for a node holding `secret`. */
export function authTokenMaker(secret: string): AuthTokenMaker {
  return (request) => joinToken(secret, request.clusterId, request.node.nodeId, request.protocolVersion);
}

/**
 * The `verifyJoin` hook for a master holding `secret` (or several, during a rotation):
 * accepts a JoinRequest whose token is the HMAC of its own fields under one of them, refuses anything else with FLO_AUTH_FAILED. `onVerified`
 * hears of each node that passed (the membership machine notes accepted joiners itself).
 */
export function joinVerifier(secret: string | readonly string[], onVerified?: (request: JoinRequest) => void): JoinVerifier {
  // Several secrets while one rotates: the current one and the previous one both admit.
  const secrets = typeof secret === 'string' ? [secret] : secret;
  return (request): JoinVerdict => {
    const presented = Buffer.from(request.authToken, 'base64url');
    // timingSafeEqual needs equal lengths; a token of the wrong length is wrong whatever it holds.
    const ok =
      presented.length === DIGEST_BYTES &&
      secrets.some((s) => timingSafeEqual(presented, joinTokenBytes(s, request.clusterId, request.node.nodeId, request.protocolVersion)));
    if (!ok) return { ok: false, code: 'FLO_AUTH_FAILED', reason: 'join token does not match the cluster secret' };
    onVerified?.(request);
    return { ok: true };
  };
}
