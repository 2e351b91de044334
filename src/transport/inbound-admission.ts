/**
 * Which inbound TCP connection makes room for a new one. Until a connection has completed
 * the authenticated handshake it is worth nothing: anyone can open it. So a listener at
 * its limits evicts the oldest unauthenticated connection rather than refusing the new
 * one, and one source address may hold only a few unauthenticated connections at once. A
 * flood of idle connections then cannot keep a restarted member (which authenticates
 * within a round trip) from rejoining. A pure decision: the transport does the closing.
 */

/** What the decision needs to know of an inbound connection. */
export interface InboundSlot {
  /** Remote IP, without the port. */
  readonly remoteIp: string;
  /** True once the handshake completed (the peer proved the cluster secret). */
  readonly authenticated: boolean;
  /** When the connection was accepted, from `Date.now()`; older ones are evicted first. */
  readonly acceptedAt: number;
  /** True once closing: it no longer holds a slot (its socket is on its way out). */
  readonly closed: boolean;
}

/** The limits the decision applies. */
export interface InboundLimits {
  /** Most inbound connections at once, authenticated or not. */
  readonly inboundConnectionsMax: number;
  /** Most unauthenticated inbound connections from one source address at once. */
  readonly inboundHandshakesPerSourceMax: number;
}

/** Admit the new connection (after closing `evict`, when set), or refuse it. */
export type Admission<T> = { readonly admit: true; readonly evict?: T; readonly why?: 'per-source' | 'total' } | { readonly admit: false };

/**
 * Decide on a new connection from `remoteIp`, given the open ones. The per-source limit
 * is checked first (evicting that source's oldest unauthenticated connection), then the
 * total (evicting the oldest unauthenticated connection of any source); a listener full of
 * authenticated connections refuses.
 */
export function admitInbound<T extends InboundSlot>(open: Iterable<T>, remoteIp: string, limits: InboundLimits): Admission<T> {
  let total = 0;
  let fromSource = 0;
  let oldestFromSource: T | undefined;
  let oldest: T | undefined;
  for (const slot of open) {
    if (slot.closed) continue;
    total++;
    if (slot.authenticated) continue;
    if (oldest === undefined || slot.acceptedAt < oldest.acceptedAt) oldest = slot;
    if (slot.remoteIp !== remoteIp) continue;
    fromSource++;
    if (oldestFromSource === undefined || slot.acceptedAt < oldestFromSource.acceptedAt) oldestFromSource = slot;
  }
  if (fromSource >= limits.inboundHandshakesPerSourceMax && oldestFromSource !== undefined) {
    return { admit: true, evict: oldestFromSource, why: 'per-source' };
  }
  if (total < limits.inboundConnectionsMax) return { admit: true };
  return oldest === undefined ? { admit: false } : { admit: true, evict: oldest, why: 'total' };
}

/**
 * Raw TCP sockets a TLS listener accepted whose TLS handshake is still running: they hold
 * a slot as unauthenticated connections do, so the same admission covers them and a flood
 * of stalled TLS handshakes is evicted oldest-first too. Keyed by the remote `ip:port`,
 * which the TLS socket that completes the handshake shares.
 */
export class PendingTlsSockets {
  private readonly pending = new Map<string, PendingTlsSlot>();

  /** Track a freshly accepted raw socket until its TLS handshake completes or it closes. */
  add(raw: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined; readonly destroyed: boolean; destroy(): void; once(event: 'close', listener: () => void): unknown }): PendingTlsSlot {
    const key = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? 0}`;
    const slot: PendingTlsSlot = {
      remoteIp: raw.remoteAddress ?? '?',
      authenticated: false,
      acceptedAt: Date.now(),
      get closed(): boolean {
        return raw.destroyed;
      },
      evict: () => raw.destroy(),
    };
    this.pending.set(key, slot);
    raw.once('close', () => {
      if (this.pending.get(key) === slot) this.pending.delete(key);
    });
    return slot;
  }

  /** The TLS handshake of the socket from `remoteAddress:remotePort` completed: it no longer counts here. */
  completed(remoteAddress: string | undefined, remotePort: number | undefined): void {
    this.pending.delete(`${remoteAddress ?? '?'}:${remotePort ?? 0}`);
  }

  /** The sockets still in their TLS handshake. */
  values(): IterableIterator<PendingTlsSlot> {
    return this.pending.values();
  }
}

/** A raw socket in its TLS handshake, as the admission sees it. */
export interface PendingTlsSlot extends InboundSlot {
  evict(why: string): void;
}
