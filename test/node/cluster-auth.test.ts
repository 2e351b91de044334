// The join token: an HMAC of the joiner's own fields under the cluster secret, checked in
// constant time; anything else is refused with FLO_AUTH_FAILED and a reason.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type JoinRequest } from '../../src/protocol/messages.js';
import { authTokenMaker, joinToken, joinVerifier } from '../../src/node/cluster-auth.js';

const SECRET = 'a-cluster-secret-of-some-length';

function request(overrides: Partial<JoinRequest> = {}): JoinRequest {
  const base = { type: 'JoinRequest' as const, node: { nodeId: 'n2', address: '10.0.0.2:7946', tags: {} }, clusterId: 'prod', protocolVersion: PROTOCOL_VERSION, sentAt: 1_700_000_000_000 };
  return { ...base, authToken: authTokenMaker(SECRET)(base), ...overrides };
}

describe('join authentication', () => {
  it('accepts a token made with the same secret and tells who passed', () => {
    const verified: string[] = [];
    expect(joinVerifier(SECRET, (r) => verified.push(r.node.nodeId))(request())).toEqual({ ok: true });
    expect(verified).toEqual(['n2']);
  });

  it('never carries the secret itself', () => {
    expect(request().authToken).not.toContain(SECRET);
    expect(Buffer.from(request().authToken, 'base64url')).toHaveLength(32);
  });

  it.each([
    ['another secret', { authToken: joinToken('another-secret-entirely', 'prod', 'n2', PROTOCOL_VERSION) }],
    ['a token for another node id', { authToken: joinToken(SECRET, 'prod', 'n3', PROTOCOL_VERSION) }],
    ['a token for another cluster', { authToken: joinToken(SECRET, 'test', 'n2', PROTOCOL_VERSION) }],
    ['a token for another protocol version', { authToken: joinToken(SECRET, 'prod', 'n2', PROTOCOL_VERSION + 1) }],
    ['an empty token', { authToken: '' }],
    ['a truncated token', { authToken: request().authToken.slice(0, 20) }],
    ['the secret itself', { authToken: SECRET }],
  ])('refuses %s with FLO_AUTH_FAILED', (_name, overrides) => {
    const verified: string[] = [];
    const verdict = joinVerifier(SECRET, (r) => verified.push(r.node.nodeId))(request(overrides));
    expect(verdict).toMatchObject({ ok: false, code: 'FLO_AUTH_FAILED' });
    expect(verified).toEqual([]);
  });

  it('separates the fields, so shifting characters between cluster id and node id changes the token', () => {
    expect(joinToken(SECRET, 'ab', 'c', 1)).not.toBe(joinToken(SECRET, 'a', 'bc', 1));
  });

  it('accepts exactly the tokens made with its secret', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 16 }), fc.string({ minLength: 16 }), fc.string({ minLength: 1, maxLength: 64 }), (mine, theirs, nodeId) => {
        const base = { type: 'JoinRequest' as const, node: { nodeId, address: '10.0.0.2:7946', tags: {} }, clusterId: 'prod', protocolVersion: PROTOCOL_VERSION, sentAt: 1_700_000_000_000 };
        const verdict = joinVerifier(mine)({ ...base, authToken: authTokenMaker(theirs)(base) });
        expect(verdict.ok).toBe(mine === theirs);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
