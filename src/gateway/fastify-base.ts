/**
 * The Fastify setup the admin API and the client gateway share: an instance on a Node
 * server built by the caller (so its timeouts, TLS and connection limits stay ours),
 * without Fastify's logger (requests are logged through ours), answering unparsable
 * requests with our JSON 400, and without the JSON-schema compilers. Fastify is imported
 * here on first use, so a node with no listener never loads it.
 */
import type { Server } from 'node:http';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { FlotillaError } from '../core/errors.js';
import { answerClientError } from './http-io.js';

/**
 * Neither server declares a JSON schema: requests are checked by hand against the error
 * catalog. Fastify's default compilers load ajv (three copies) and fast-json-stringify
 * on construction, about 7 MiB of RSS per process; these refuse to compile instead.
 */
const NO_SCHEMA_COMPILERS = {
  buildValidator: () => () => {
    throw new FlotillaError('FLO_INTERNAL', 'the gateway declares no request schemas');
  },
  buildSerializer: () => () => {
    throw new FlotillaError('FLO_INTERNAL', 'the gateway declares no response schemas');
  },
};

/** Options of `createFastify` beyond the shared ones. */
export type FastifyExtraOptions = Pick<FastifyServerOptions, 'frameworkErrors'>;

/** A Fastify instance serving requests of `server` (which the caller binds and closes). */
export async function createFastify(server: Server, extra: FastifyExtraOptions = {}): Promise<FastifyInstance> {
  const { default: Fastify } = await import('fastify');
  return Fastify({
    ...extra,
    serverFactory: (handler) => server.on('request', handler),
    logger: false,
    // Connections are closed by our close(); Fastify's 503 would not be catalogued JSON.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    schemaController: { compilersFactory: NO_SCHEMA_COMPILERS },
  });
}
