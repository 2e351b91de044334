/**
 * How `flotilla start` decides about the client gateway: `--client` says where it
 * listens, `--jwt-secret` (FLOTILLA_JWT_SECRET) or `--jwks-url` (FLOTILLA_JWKS_URL) how
 * tokens are checked. In dev mode a missing key falls back to the public dev secret
 * (logged loudly); outside dev mode a gateway without a key is not started, and the
 * node says why.
 */
import { CLIENT_SECRET_BYTES_MIN, type ClientAuthConfig } from '../gateway/client-auth-config.js';
import { parseHttpAddress, UsageError } from './cli-options.js';

/** The public JWT secret of dev mode: anyone can mint tokens with it. */
export const DEV_JWT_SECRET = 'flotilla-dev-jwt-secret-do-not-use-in-production';

/** The gateway flags of `flotilla start`. */
export interface ClientGatewayFlags {
  readonly client?: string;
  readonly clientAdvertise?: string;
  readonly jwtSecret?: string;
  readonly jwksUrl?: string;
  readonly dev?: boolean;
}

/** What `flotilla start` will do about clients. */
export type ClientGatewayPlan =
  | { readonly serve: true; readonly host: string; readonly port: number; readonly advertiseUrl: string | undefined; readonly auth: ClientAuthConfig; readonly devSecret: boolean }
  | { readonly serve: false; readonly reason: string };

/** Turns the flags into a plan; mistakes are `UsageError`s. */
export function planClientGateway(flags: ClientGatewayFlags): ClientGatewayPlan {
  const where = flags.client ?? '';
  if (where === '') return { serve: false, reason: 'no --client (FLOTILLA_CLIENT) given: this node serves no clients' };
  const { host, port } = parseHttpAddress(where, '--client');
  const advertise = flags.clientAdvertise ?? '';
  if (advertise !== '' && !/^wss?:\/\/[^\s]+$/.test(advertise)) throw new UsageError('--client-advertise: expected a ws:// or wss:// URL');
  const secret = flags.jwtSecret ?? '';
  const jwksUrl = flags.jwksUrl ?? '';
  if (secret !== '' && jwksUrl !== '') throw new UsageError('--jwt-secret and --jwks-url: give one, not both');
  if (jwksUrl !== '' && !/^https?:\/\/\S+$/.test(jwksUrl)) throw new UsageError('--jwks-url: expected an http(s) URL');
  if (secret !== '' && new TextEncoder().encode(secret).byteLength < CLIENT_SECRET_BYTES_MIN) {
    throw new UsageError(`--jwt-secret (FLOTILLA_JWT_SECRET): at least ${CLIENT_SECRET_BYTES_MIN} bytes`);
  }
  const base = { serve: true as const, host, port, advertiseUrl: advertise === '' ? undefined : advertise };
  if (secret !== '') return { ...base, auth: { secret }, devSecret: false };
  if (jwksUrl !== '') return { ...base, auth: { jwksUrl }, devSecret: false };
  if (flags.dev === true) return { ...base, auth: { secret: DEV_JWT_SECRET }, devSecret: true };
  return { serve: false, reason: '--client given without --jwt-secret (FLOTILLA_JWT_SECRET) or --jwks-url (FLOTILLA_JWKS_URL): the client gateway is NOT started' };
}
