/**
 * Change events to the gateway's connections: live events of the writes this node
 * acknowledges as owner, and, for a resumable subscription, the replay of what the client
 * may have missed (from the node's map state, above the client's cursor) before live
 * events go on, with the partitions' resume marks in the SUBSCRIBE answer. What one
 * connection has waiting in its socket is bounded: past `eventBufferBytesMax` a
 * resumable subscription's events are dropped and the client is told once
 * (EVENTS_DROPPED, FLO_EVENTS_DROPPED), so it resyncs instead of the node buffering
 * without limit. A `serverUrl` client's subscription (SUBSCRIBE with `relay`) is also
 * given the changes of the partitions owned elsewhere, relayed from their owners
 * (grid/watch-relay.ts).
 */
import type { WebSocket } from 'ws';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { ChangeMark } from '../grid/change-replay.js';
import type { KvChange } from '../grid/kv-codec.js';
import type { MapRouter } from '../grid/grid-map.js';
import type { RelayHandle, RelaySink } from '../grid/watch-relay.js';
import { packBody } from '../protocol/msgpack.js';
import { encodeServerFrame, type ClientSubscription, type ServerFrame } from '../protocol/client-frames.js';
import { ClientSubscriptions, eventFrame, type SubscriptionEntry } from './client-subscriptions.js';
import { compileQuery, queryReplay } from './client-queries.js';

/**
 * Longest wait for the relayed partitions' initial result before a relayed live query is
 * answered anyway (ms); partitions not answered by then are not listed as scanned whole.
 */
export const RELAY_CAUGHT_UP_WAIT_MS = 5_000;

/** The gateway's subscriptions and their events. */
export class ClientEvents {
  private readonly subs: ClientSubscriptions<WebSocket>;
  /** Relayed subscriptions' relays, by connection and subscription id. */
  private readonly relays = new Map<WebSocket, Map<number, RelayHandle>>();

  constructor(
    private readonly maps: MapRouter,
    subscriptionsMax: number,
    private readonly eventBufferBytesMax: number,
    private readonly partitionCount: () => number,
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
    this.stopRelay(ws, sub.id);
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
      const { changes, answer, marks, scanned } = queryReplay(entry.predicate, replay, since);
      for (const change of changes) this.deliver(entry, eventFrame(sub.id, change, undefined));
      if (sub.relay !== true) {
        send(ws, { type: 'RESULT', id: sub.id, payload: answer });
        return;
      }
      // The answer waits for the relayed partitions' initial result: its list of partitions
      // scanned whole must speak only for what was sent before it.
      const relay = this.startRelay(entry, replay.owned, since, (r, relayed) => {
        const all = [...marks];
        const whole = [...scanned];
        for (const p of relayed) {
          all.push(p, r.cursorOf(p) ?? since.get(p) ?? 0);
          if (!since.has(p) && r.caughtUpWith(p)) whole.push(p);
        }
        send(ws, { type: 'RESULT', id: sub.id, payload: new Uint8Array(packBody([all, whole])) });
      });
      if (relay === undefined) send(ws, { type: 'RESULT', id: sub.id, payload: answer });
      return;
    }
    for (const { change } of replay.changes) this.deliver(entry, eventFrame(sub.id, change, undefined));
    const marks = replay.marks.flatMap((m) => [m.partition, m.millis]);
    const relayed = sub.relay === true ? (this.startRelay(entry, replay.owned, since)?.partitions ?? []) : [];
    // A relayed partition is vouched for from the client's own cursor on: its relay starts there.
    for (const p of relayed) marks.push(p, since?.get(p) ?? 0);
    send(ws, { type: 'RESULT', id: sub.id, payload: new Uint8Array(packBody(marks)) });
  }

  remove(ws: WebSocket, id: number): void {
    this.stopRelay(ws, id);
    this.subs.remove(ws, id);
  }

  /** Forget a closed connection's subscriptions. */
  drop(ws: WebSocket): void {
    for (const relay of this.relays.get(ws)?.values() ?? []) relay.stop();
    this.relays.delete(ws);
    this.subs.drop(ws);
  }

  /**
   * Relay the partitions not owned here from their owners. Events go out with the relay's
   * cursor as mark on the last one of each answer. The relay asks for no more while the
   * connection has more than `eventBufferBytesMax` waiting, so a slow client holds back
   * polls, not memory. `caughtUp` (a live query's answer) runs once the relayed partitions
   * were answered once, or after RELAY_CAUGHT_UP_WAIT_MS. Undefined when nothing is relayed.
   */
  private startRelay(
    entry: SubscriptionEntry<WebSocket>,
    owned: readonly number[],
    since: ReadonlyMap<number, number> | null,
    caughtUp?: (relay: RelayHandle, partitions: readonly number[]) => void,
  ): { relay: RelayHandle; partitions: number[] } | undefined {
    const { sub, conn: ws } = entry;
    if (this.maps.relay === undefined) return undefined;
    const mine = new Set(owned);
    const partitions: number[] = [];
    for (let p = 0; p < this.partitionCount(); p++) if (!mine.has(p)) partitions.push(p);
    if (partitions.length === 0) return undefined;
    const started: { relay?: RelayHandle } = {};
    const sink: RelaySink = {
      changes: (partition, changes, mark) => {
        // Events flow again: a later loss is a new episode, told again.
        entry.dropping = false;
        changes.forEach((change, i) => send(ws, eventFrame(sub.id, change, i === changes.length - 1 && mark !== undefined ? { partition, millis: mark } : undefined)));
      },
      lost: (partition) => this.notify(entry, `changes of partition ${partition} could not be relayed`),
      ready: () => ws.readyState === ws.OPEN && ws.bufferedAmount <= this.eventBufferBytesMax,
      // The partition moved here and its changes above the relay's cursor went out: this
      // node's own events of it vouch from now on, under the epoch it was taken at.
      adopted: (partition, epoch) => {
        entry.covered = new Map(entry.covered).set(partition, epoch);
      },
      // Later than the call that starts the relay, which may catch up at once; not at all
      // once a newer SUBSCRIBE of the same id replaced it (its own answer is due).
      ...(caughtUp === undefined
        ? {}
        : {
            caughtUp: () =>
              queueMicrotask(() => {
                if (started.relay !== undefined && this.relays.get(ws)?.get(sub.id) === started.relay) caughtUp(started.relay, partitions);
              }),
          }),
    };
    let relay: RelayHandle;
    try {
      relay = started.relay = this.maps.relay(sub, partitions, since, sink, caughtUp === undefined ? undefined : RELAY_CAUGHT_UP_WAIT_MS);
    } catch {
      // The map store stopped since the replay: the connection closes with the node.
      return undefined;
    }
    let mineByConn = this.relays.get(ws);
    if (mineByConn === undefined) this.relays.set(ws, (mineByConn = new Map()));
    mineByConn.set(sub.id, relay);
    return { relay, partitions };
  }

  private stopRelay(ws: WebSocket, id: number): void {
    const relays = this.relays.get(ws);
    relays?.get(id)?.stop();
    relays?.delete(id);
    if (relays?.size === 0) this.relays.delete(ws);
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
