/**
 * When the client asks gateways for the partition map. Pushes keep a map current while its
 * sender's table changes; requests cover what pushes cannot: a periodic refresh (every
 * `staleAfterMs / 3`, from one node), and, while the held map is a read-only node's, a
 * round to every connected node, since during a split the writable side's map is the one
 * writes need and its nodes push only when their own table changes.
 */
import type { TimerHandle, Timers } from '../core/timers.js';
import type { NodeConnection } from './node-connection.js';
import type { RoutingTable } from './routing-table.js';

/**
 * Rounds of map requests caused by read-only answers, at most one per this interval
 * (ms): a burst of refused writes costs each node one request, not one per write. The
 * gateways' own push interval (250 ms by default) is the pace maps change at anyway.
 */
export const READ_ONLY_ASK_INTERVAL_MS = 250;

/** What the requests are made with. */
export interface MapRequestParts {
  readonly timers: Timers;
  readonly routing: RoutingTable;
  readonly connections: () => Iterable<NodeConnection>;
  readonly staleAfterMs: number;
}

/** The client's map requests: periodic, and on read-only answers. */
export class MapRequests {
  private timer: TimerHandle | undefined;
  private askedAt = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(private readonly parts: MapRequestParts) {}

  /** Start the periodic refresh. */
  start(): void {
    const every = Math.max(1, Math.floor(this.parts.staleAfterMs / 3));
    this.timer = this.parts.timers.at(this.parts.timers.now() + every, () => {
      if (this.stopped) return;
      if (this.parts.routing.isWritable()) this.askOne();
      else this.askEvery();
      this.start();
    });
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /**
   * The held map is (or just turned) a read-only node's, or a write met FLO_READ_ONLY: ask
   * every connected node for its map, unless a round went out within
   * READ_ONLY_ASK_INTERVAL_MS. The refusing node is asked too: a node that forwarded the
   * write to a read-only owner is itself writable, and its answer says so.
   */
  askForWritable(): void {
    const now = this.parts.timers.now();
    if (this.stopped || now - this.askedAt < READ_ONLY_ASK_INTERVAL_MS) return;
    this.askEvery();
  }

  private askOne(): void {
    for (const conn of this.parts.connections()) {
      if (conn.usable()) {
        conn.requestMap(this.parts.routing.version());
        return;
      }
    }
  }

  private askEvery(): void {
    this.askedAt = this.parts.timers.now();
    for (const conn of this.parts.connections()) if (conn.usable()) conn.requestMap(this.parts.routing.version());
  }
}
