// Smart clients in the test process for nodes in network namespaces: each WebSocket goes
// through the relay of the site its node lives in (a Unix socket, which a cut of the
// link between the sites does not touch), so the client reaches every node whatever the
// state of the network between them.
import { createConnection } from 'node:net';
import { WebSocket } from 'ws';
import { FlotillaClient, MemoryStorageAdapter, type SocketConstructor } from '../../src/client-platform/index.js';
import { jsonLines } from '../cli/cli-process.js';
import type { NetLab } from './netns.js';

/** The client URL `name`'s gateway logged once listening, or undefined before that. */
export function labGatewayUrl(lab: NetLab, name: string): string | undefined {
  const line = jsonLines(lab.node(name).stdout).find((l) => l.msg === 'client gateway listening');
  return typeof line?.url === 'string' ? line.url : undefined;
}

/** A WebSocket class whose connections to a lab node's address go through that node's site relay. */
export function relaySocket(lab: NetLab): SocketConstructor {
  const relayOf = (host: string): string => {
    for (const node of lab.nodes.values()) if (node.ip === host) return node.site.relaySocket;
    throw new Error(`no lab node has address ${host}`);
  };
  class RelayWebSocket extends WebSocket {
    constructor(url: string) {
      const target = new URL(url);
      super(url, {
        createConnection: () => {
          const socket = createConnection(relayOf(target.hostname));
          socket.write(`${target.hostname}:${target.port}\n`);
          return socket;
        },
      });
    }
  }
  return RelayWebSocket as unknown as SocketConstructor;
}

/** A cluster-mode client of `names`' gateways, through the relays, with a memory adapter. */
export function labClient(lab: NetLab, names: readonly string[], authToken: string): FlotillaClient {
  const seeds = names.map((name) => {
    const url = labGatewayUrl(lab, name);
    if (url === undefined) throw new Error(`${name} has no client gateway yet`);
    return url;
  });
  return new FlotillaClient({ cluster: { seeds }, storage: new MemoryStorageAdapter(), authToken, WebSocket: relaySocket(lab) });
}
