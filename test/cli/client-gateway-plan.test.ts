import { describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET, planClientGateway } from '../../src/cli/client-gateway-plan.js';
import { UsageError } from '../../src/cli/cli-options.js';

const SECRET = 'a-client-jwt-secret-of-at-least-32-bytes!';

describe('planClientGateway', () => {
  it.each([
    ['no --client', {}, false],
    ['--client without a key outside dev mode', { client: '7000' }, false],
  ])('serves no clients with %s, and says why', (_name, flags, serve) => {
    const plan = planClientGateway(flags);
    expect(plan.serve).toBe(serve);
    expect(plan.serve ? '' : plan.reason).toMatch(/client/);
  });

  it('serves with an HS256 secret, a JWKS URL, or (dev mode only) the public dev secret', () => {
    expect(planClientGateway({ client: '0.0.0.0:7000', jwtSecret: SECRET })).toEqual({ serve: true, host: '0.0.0.0', port: 7000, advertiseUrl: undefined, auth: { secret: SECRET }, devSecret: false });
    expect(planClientGateway({ client: '7000', jwksUrl: 'https://idp.example/jwks.json', clientAdvertise: 'wss://n1.example/ws' })).toMatchObject({
      serve: true,
      auth: { jwksUrl: 'https://idp.example/jwks.json' },
      advertiseUrl: 'wss://n1.example/ws',
    });
    expect(planClientGateway({ client: '7000', dev: true })).toMatchObject({ serve: true, auth: { secret: DEV_JWT_SECRET }, devSecret: true });
  });

  it.each([
    ['a short secret', { client: '7000', jwtSecret: 'short' }],
    ['both a secret and a JWKS URL', { client: '7000', jwtSecret: SECRET, jwksUrl: 'https://x/jwks' }],
    ['a JWKS URL that is not http(s)', { client: '7000', jwksUrl: 'file:///etc/jwks' }],
    ['an advertise URL that is not ws(s)', { client: '7000', jwtSecret: SECRET, clientAdvertise: 'http://x' }],
    ['a bad address', { client: 'nowhere:99999', jwtSecret: SECRET }],
  ])('refuses %s', (_name, flags) => {
    expect(() => planClientGateway(flags)).toThrow(UsageError);
  });
});
