/**
 * Connection limits of the admin server that a slow or idle client cannot use to lock
 * others out. Node's own `maxConnections` refuses the newest connection, so a hundred
 * idle or slowloris sockets would take `/health` down; here, at a limit, the oldest
 * connection that is not serving a request (idle keep-alive, or still sending its
 * headers) is closed to make room, and one address may hold only a share of the slots.
 * A connection that has not completed a request's headers within the header deadline is
 * closed: Node answers 408 to one that sent part of them, but leaves a silent one open.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** The limits the guard applies. */
export interface ConnectionGuardLimits {
  /** Most connections at once. */
  readonly connectionsMax: number;
  /** Most connections from one remote address at once. */
  readonly connectionsPerAddressMax: number;
  /** A new connection must complete its first request's headers within this long, in ms. */
  readonly headersTimeoutMs: number;
}

/** Counters of the guard. */
export interface ConnectionGuardStats {
  readonly open: number;
  /** Connections closed to make room for a newer one. */
  readonly evicted: number;
  /** Connections refused because every slot was serving a request. */
  readonly refused: number;
  /** Connections closed for sending no request headers in time. */
  readonly silentClosed: number;
}

interface Entry {
  readonly socket: Socket;
  readonly address: string;
  /** Requests in progress on the connection; 0 when idle or still reading headers. */
  active: number;
  /** Requests whose headers arrived on the connection so far. */
  requests: number;
  /** When the connection was accepted or last finished a request, from `Date.now()`. */
  quietSince: number;
}

/** Tracks the server's connections and makes room at the limits. Attach before listening. */
export class ConnectionGuard {
  /** Keyed by `address:port` of the remote end, which TLS and plain sockets share. */
  private readonly entries = new Map<string, Entry>();
  private evicted = 0;
  private refused = 0;
  private silentClosed = 0;

  constructor(private readonly limits: ConnectionGuardLimits) {}

  /** Watch `server`'s raw connections and requests. */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    server.on('request', (req: { socket: Socket }, res: { once(event: 'close', listener: () => void): unknown }) => {
      const entry = this.entries.get(keyOf(req.socket));
      if (entry === undefined) return;
      entry.active++;
      entry.requests++;
      res.once('close', () => {
        entry.active--;
        entry.quietSince = Date.now();
      });
    });
  }

  /** Current counters. */
  stats(): ConnectionGuardStats {
    return { open: this.entries.size, evicted: this.evicted, refused: this.refused, silentClosed: this.silentClosed };
  }

  private onConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? '?';
    const key = keyOf(socket);
    if (!this.makeRoom(address)) {
      this.refused++;
      socket.destroy();
      return;
    }
    const entry: Entry = { socket, address, active: 0, requests: 0, quietSince: Date.now() };
    this.entries.set(key, entry);
    const silence = setTimeout(() => {
      if (entry.requests > 0) return;
      this.silentClosed++;
      socket.destroy();
    }, this.limits.headersTimeoutMs);
    silence.unref();
    socket.once('close', () => {
      clearTimeout(silence);
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
  }

  /** Evicts as needed for one more connection from `address`; false when nothing can go. */
  private makeRoom(address: string): boolean {
    let fromAddress = 0;
    for (const entry of this.entries.values()) if (entry.address === address) fromAddress++;
    if (fromAddress >= this.limits.connectionsPerAddressMax && !this.evictQuietest((e) => e.address === address)) return false;
    if (this.entries.size >= this.limits.connectionsMax && !this.evictQuietest(() => true)) return false;
    return true;
  }

  private evictQuietest(eligible: (entry: Entry) => boolean): boolean {
    let victim: [string, Entry] | undefined;
    for (const item of this.entries) {
      const entry = item[1];
      if (entry.active > 0 || !eligible(entry)) continue;
      if (victim === undefined || entry.quietSince < victim[1].quietSince) victim = item;
    }
    if (victim === undefined) return false;
    this.entries.delete(victim[0]);
    this.evicted++;
    victim[1].socket.destroy();
    return true;
  }
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
}
