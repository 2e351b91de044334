/**
 * `serveAdmin`: the admin HTTP API (health, members, partitions, migrations, entities,
 * Prometheus metrics) for a node embedded in the user's own program, the same server
 * `flotilla start` runs. It lives beside the CLI because this is the layer that may
 * import both the node and the gateway.
 */
import type { AdminServer, AdminServerOptions } from '../gateway/admin-server.js';
import { startAdminServer } from '../gateway/admin-server.js';
import type { ClientGateway } from '../gateway/client-gateway.js';
import type { FlotillaNode } from '../node/node-api.js';
import { toAdminSource } from './admin-source.js';

/** Options of `serveAdmin`: the admin server's, minus the source (the node is it). */
export type ServeAdminOptions = Omit<AdminServerOptions, 'source'> & {
  /** The node's client gateway (from `serveClients`), whose numbers `/metrics` then exports. */
  readonly clients?: Pick<ClientGateway, 'stats'>;
};

/**
 * Serves the admin API of `node` on `options.host:options.port` (defaults: 127.0.0.1 and
 * the admin config's default port). Rejects with FLO_CONFIG_INVALID for bad options or
 * with the socket error when the bind fails. Close it before (or after) stopping the node.
 */
export function serveAdmin(node: FlotillaNode, options: ServeAdminOptions = {}): Promise<AdminServer> {
  const { clients, ...admin } = options;
  return startAdminServer({ ...admin, source: toAdminSource(node, () => clients?.stats()) });
}
