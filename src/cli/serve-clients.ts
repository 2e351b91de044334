/**
 * `serveClients`: the client gateway (WebSocket + JWT) of a node, for `flotilla start`
 * and for programs that embed a node. It lives beside the CLI because this layer may
 * import both the node and the gateway.
 */
import { FlotillaError } from '../core/errors.js';
import type { ClientGateway, ClientGatewayOptions } from '../gateway/client-gateway.js';
import type { FlotillaNode } from '../node/node-api.js';
import type { RunningNode } from '../node/running-node.js';
import type { OpTable } from '../gateway/client-ops.js';
import type { GatewayEntities } from '../gateway/client-calls.js';
import { handlerNamesOf } from '../entities/definition.js';
import type { EntityService } from '../entities/entity-service.js';

/** Options of `serveClients`: the gateway's, minus what the node provides. */
export type ServeClientsOptions = Omit<ClientGatewayOptions, 'node' | 'maps' | 'valueBytesMax'>;

/**
 * Serves clients of `node` (started by `startNode`, with its sharding layer). Rejects
 * with FLO_CONFIG_INVALID for bad options or a failed bind, FLO_NOT_FOUND for a node
 * without maps. Close it before stopping the node.
 */
export async function serveClients(node: FlotillaNode, options: ServeClientsOptions): Promise<ClientGateway> {
  const running = node as Partial<RunningNode>;
  const kv = running.kvService;
  if (kv === undefined) throw new FlotillaError('FLO_NOT_FOUND', 'this node runs without the sharding layer, so it has no maps to serve');
  const sharding = running.sharding;
  // The live table reader: ops read the owner of one partition without copying the table.
  const table = sharding === undefined ? undefined : (): OpTable | undefined => {
    const reader = sharding.tableReader();
    return reader === undefined || reader.version === 0 ? undefined : { version: reader.version, partitionCount: reader.partitionCount, owner: (p) => reader.owner(p) };
  };
  const entities = gatewayEntities(running.entityService);
  // Loaded only when clients are served: WebSocket and JWT code add about 10 MiB of RSS,
  // Fastify about 7 MiB more unless the admin API loaded it already.
  const { startClientGateway } = await import('../gateway/client-gateway.js');
  return startClientGateway({ ...options, node, maps: kv, valueBytesMax: kv.config.valueBytesMax, ...(table === undefined ? {} : { table }), ...(entities === undefined ? {} : { entities }) });
}

/** The entity service as the gateway uses it: handler names by type, and routed calls. */
function gatewayEntities(service: EntityService | undefined): GatewayEntities | undefined {
  if (service === undefined) return undefined;
  const names = new Map<string, readonly string[]>();
  return {
    handlersOf: (type) => {
      let found = names.get(type);
      if (found === undefined) {
        const definition = service.runtime.typeOf(type)?.definition;
        if (definition === undefined) return undefined;
        names.set(type, (found = handlerNamesOf(definition)));
      }
      return found;
    },
    call: (call) => service.call(call),
  };
}
