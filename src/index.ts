/** `flotilla`: the server-side API: the protocol core, and the node (`startNode`). */
export * from './cluster.js';
export * from './node/index.js';
export * from './entities/index.js';
export * from './sharding/index.js';
export * from './grid/index.js';
export { serveAdmin, type ServeAdminOptions } from './cli/serve-admin.js';
export type { AdminServer } from './gateway/admin-server.js';
export { ADMIN_TOKEN_CHARS_MIN, DEV_ADMIN_TOKEN } from './gateway/admin-access.js';
export { serveClients, type ServeClientsOptions } from './cli/serve-clients.js';
export type { ClientGateway } from './gateway/client-gateway.js';
export type { ClientAuthConfig } from './gateway/client-auth.js';
export { DEFAULT_CLIENT_GATEWAY_CONFIG, type ClientGatewayConfig } from './gateway/client-gateway-config.js';
export * from './durable/index.js';
