// Three in-process nodes on OS-assigned ports, each with its client gateway, for the tests
// of the client against a real cluster over real sockets. One place owns the start order
// (a complete partition table everywhere before any gateway serves) and the teardown after
// each test, so a test that fails midway leaves no node, gateway or client running.
import { SignJWT } from 'jose';
import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { FlotillaClient, type FlotillaClientOptions, type SocketConstructor } from '../../src/client-platform/index.js';
import { serveClients, type ServeClientsOptions } from '../../src/cli/serve-clients.js';
import type { ClientGateway } from '../../src/gateway/client-gateway.js';
import { waitFor } from '../node/helpers.js';
import { startPartitionCluster, stopNodes, tableProblem, type PartitionNode } from '../node/partition-harness.js';

/** The `ws` package's class as the client's socket type (Node 20 has no global WebSocket). */
export const wsSocket = WebSocket as unknown as SocketConstructor;

/** How long the three nodes may take to agree on one complete partition table, ms. */
const TABLE_TIMEOUT_MS = 20_000;

export interface ThreeNodes {
  /** The nodes in start order; a test may push a node that joins later. */
  readonly nodes: PartitionNode[];
  /** `gateways[i]` serves `nodes[i]` after `start`; a test may close, replace or add gateways. */
  readonly gateways: ClientGateway[];
  /** Clients closed after the test. */
  readonly clients: FlotillaClient[];
  /** Starts the nodes, waits for one complete table everywhere, then serves clients on each. */
  start(): Promise<void>;
  /** A gateway on `node` accepting this cluster's tokens (not added to `gateways`). */
  serve(node: PartitionNode, options?: Omit<ServeClientsOptions, 'auth'>): Promise<ClientGateway>;
  /** A JWT the gateways accept, valid for an hour. */
  token(): Promise<string>;
  /** A cluster-mode client seeded with every gateway, with a token; `options` override. Closed after the test. */
  connect(options?: FlotillaClientOptions): Promise<FlotillaClient>;
  /** Closes `client` after the test. */
  track(client: FlotillaClient): FlotillaClient;
}

/** Registers the teardown with the calling test file; `secret` signs the tokens, `subject` is their `sub`. */
export function useThreeNodes(secret: string, subject: string): ThreeNodes {
  const nodes: PartitionNode[] = [];
  const gateways: ClientGateway[] = [];
  const clients: FlotillaClient[] = [];
  afterEach(async () => {
    for (const c of clients) c.close();
    await Promise.all(gateways.map((g) => g.close()));
    await stopNodes(nodes);
    nodes.length = 0;
    gateways.length = 0;
    clients.length = 0;
  });
  const key = new TextEncoder().encode(secret);
  const cluster: ThreeNodes = {
    nodes,
    gateways,
    clients,
    async start() {
      nodes.push(...(await startPartitionCluster(3)));
      await waitFor(() => tableProblem(nodes) === undefined, 'one complete table everywhere', TABLE_TIMEOUT_MS);
      for (const n of nodes) gateways.push(await cluster.serve(n));
    },
    serve: (node, options = {}) => serveClients(node.node, { ...options, auth: { secret } }),
    token: () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(subject).setIssuedAt().setExpirationTime('1h').sign(key),
    async connect(options = {}) {
      const seeded = { cluster: { seeds: gateways.map((g) => g.url) }, authToken: await cluster.token(), WebSocket: wsSocket };
      return cluster.track(new FlotillaClient({ ...seeded, ...options }));
    },
    track(client) {
      clients.push(client);
      return client;
    },
  };
  return cluster;
}
