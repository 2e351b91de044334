import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientAuthenticator } from '../../src/gateway/client-auth.js';

const SECRET = 'client-auth-test-secret-0123456789abcdef';

async function keyPair(alg: 'RS256' | 'ES256'): Promise<{ jwk: JWK; sign: (exp?: number) => Promise<string> }> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid: `${alg}-1`, alg };
  const sign = (exp = Math.floor(Date.now() / 1000) + 600): Promise<string> =>
    new SignJWT({}).setProtectedHeader({ alg, kid: jwk.kid }).setSubject('user-1').setExpirationTime(exp).sign(privateKey);
  return { jwk, sign };
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

describe('client JWT verification', () => {
  it('accepts HS256 with the secret, with subject and expiry; refuses other algorithms and secrets', async () => {
    const auth = createClientAuthenticator({ secret: SECRET });
    const exp = Math.floor(Date.now() / 1000) + 60;
    const good = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));
    expect(await auth.verify(good)).toEqual({ subject: 'u', expiresAt: exp * 1000 });
    const other = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(`${SECRET}-other`));
    await expect(auth.verify(other)).rejects.toMatchObject({ code: 'FLO_AUTH_FAILED' });
    const { sign } = await keyPair('ES256');
    await expect(auth.verify(await sign())).rejects.toMatchObject({ code: 'FLO_AUTH_FAILED' });
  });

  it.each(['RS256', 'ES256'] as const)('accepts %s against an inline JWKS and refuses expired tokens and unknown keys', async (alg) => {
    const mine = await keyPair(alg);
    const stranger = await keyPair(alg);
    const auth = createClientAuthenticator({ jwks: { keys: [mine.jwk] } });
    expect((await auth.verify(await mine.sign())).subject).toBe('user-1');
    await expect(auth.verify(await mine.sign(Math.floor(Date.now() / 1000) - 120))).rejects.toMatchObject({ code: 'FLO_TOKEN_EXPIRED' });
    await expect(auth.verify(await stranger.sign())).rejects.toMatchObject({ code: 'FLO_AUTH_FAILED' });
  });

  it('fetches the JWKS from a URL', async () => {
    const mine = await keyPair('ES256');
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [mine.jwk] }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const auth = createClientAuthenticator({ jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    expect((await auth.verify(await mine.sign())).subject).toBe('user-1');
  });

  it.each([
    ['no key source', {}],
    ['two key sources', { secret: SECRET, jwksUrl: 'https://x/jwks' }],
    ['a short secret', { secret: 'short' }],
    ['a bad URL', { jwksUrl: 'not a url' }],
  ])('refuses a config with %s', (_name, config) => {
    expect(() => createClientAuthenticator(config)).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
  });
});
