/**
 * Change events to the gateway's connections: live events of the writes this node
 * acknowledges as owner, and, for a resumable subscription, the replay of what the client
 * may have missed (from the node's map state, above the client's cursor) before live
 * events go on, with the partitions' resume marks in the SUBSCRIBE answer. What one
 * connection has waiting in its socket is bounded: past `eventBufferBytesMax` a
 * resumable subscription's events are dropped and the client is told once
 * (EVENTS_DROPPED, FLO_EVENTS_DROPPED), so it resyncs instead of the node buffering
 * without limit.
 */
import type { WebSocket } from 'ws';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { ChangeMark } from '../grid/change-replay.js';
import type { KvChange } from '../grid/kv-codec.js';
import type { MapRouter } from '../grid/grid-map.js';
import { packBody } from '../protocol/msgpack.js';
import { encodeServerFrame, type ClientSubscription, type ServerFrame } from '../protocol/client-frames.js';
import { ClientSubscriptions, eventFrame, type SubscriptionEntry } from './client-subscriptions.js';
import { compileQuery, queryReplay } from './client-queries.js';

/** The gateway's subscriptions and their events. */
export class ClientEvents {
  private readonly subs: ClientSubscriptions<WebSocket>;

  constructor(
    private readonly maps: MapRouter,
    subscriptionsMax: number,
    private readonly eventBufferBytesMax: number,
  ) {
    this.subs = new ClientSubscriptions(subscriptionsMax);
  }

  /** A change this node acknowledged as owner. */
  onChange(change: KvChange, mark: ChangeMark): void {
    for (const [entry, frame] of this.subs.match(change, mark)) this.deliver(entry, frame);
  }

  /**
   * SUBSCRIBE: register (replacing a subscription of the same id), replay above the
   * cursor when one was given, then answer RESULT (with the marks of the partitions owned
   * here, `[partition, millis, ...]`, for a resumable subscription) or ERROR.
   */
  subscribe(ws: WebSocket, sub: ClientSubscription): void {
    let entry: SubscriptionEntry<WebSocket>;
    try {
      entry = this.subs.add(ws, sub, sub.filter === undefined ? undefined : compileQuery(sub.filter));
    } catch (error) {
      const e = isFlotillaError(error) ? error : new FlotillaError('FLO_INTERNAL');
      send(ws, { type: 'ERROR', id: sub.id, code: e.code, message: e.message, owner: null, mapVersion: null });
      return;
    }
    if (sub.since === undefined || this.maps.replay === undefined) {
      send(ws, { type: 'RESULT', id: sub.id, payload: null });
      return;
    }
    // A live query's first SUBSCRIBE (no cursor yet) replays everything: its initial result.
    const since = entry.predicate !== undefined ? (sub.since ?? new Map<number, number>()) : sub.since;
    let replay;
    try {
      replay = this.maps.replay(sub, since);
    } catch (error) {
      // A node that is stopping: the client resubscribes elsewhere.
      const e = isFlotillaError(error) ? error : new FlotillaError('FLO_INTERNAL');
      send(ws, { type: 'ERROR', id: sub.id, code: e.code, message: e.message, owner: null, mapVersion: null });
      return;
    }
    entry.covered = new Map(replay.marks.map((m) => [m.partition, m.epoch]));
    if (replay.lost.length > 0) this.notify(entry, `deletes collected above the cursor in ${replay.lost.length} partition(s)`);
    if (entry.predicate !== undefined && since !== null) {
      const { changes, answer } = queryReplay(entry.predicate, replay, since);
      for (const change of changes) this.deliver(entry, eventFrame(sub.id, change, undefined));
      send(ws, { type: 'RESULT', id: sub.id, payload: answer });
      return;
    }
    for (const { change } of replay.changes) this.deliver(entry, eventFrame(sub.id, change, undefined));
    send(ws, { type: 'RESULT', id: sub.id, payload: new Uint8Array(packBody(replay.marks.flatMap((m) => [m.partition, m.millis]))) });
  }

  remove(ws: WebSocket, id: number): void {
    this.subs.remove(ws, id);
  }

  /** Forget a closed connection's subscriptions. */
  drop(ws: WebSocket): void {
    this.subs.drop(ws);
  }

  private deliver(entry: SubscriptionEntry<WebSocket>, frame: ServerFrame): void {
    const ws = entry.conn;
    if (entry.resumable && ws.bufferedAmount > this.eventBufferBytesMax) {
      this.notify(entry, `the connection has ${ws.bufferedAmount} bytes waiting`);
      return;
    }
    entry.dropping = false;
    send(ws, frame);
  }

  /** Tell the client once per episode that events of `entry` were lost. */
  private notify(entry: SubscriptionEntry<WebSocket>, why: string): void {
    if (entry.dropping) return;
    entry.dropping = true;
    send(entry.conn, { type: 'EVENTS_DROPPED', id: entry.sub.id, code: 'FLO_EVENTS_DROPPED', message: `events of subscription ${entry.sub.id} were dropped: ${why}` });
  }
}

function send(ws: WebSocket, frame: ServerFrame): void {
  if (ws.readyState === ws.OPEN) ws.send(encodeServerFrame(frame));
}
