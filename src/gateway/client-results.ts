/**
 * The gateway's answers to map ops, gathered per connection within one turn of the event
 * loop and sent at its end as one frame (RESULT for one, RESULTS for several): one socket
 * write for every answer a connection got in the turn. One `setImmediate` flushes every
 * connection; a connection whose answers reach a frame's bound is flushed at once.
 */
import type { WebSocket } from 'ws';
import { CLIENT_RESULTS_MAX, type ServerFrame } from '../protocol/client-frames.js';

/** Result bytes gathered into one RESULTS frame before it is sent early. */
const RESULTS_BYTES_MAX = 256 * 1024;

interface Gathered {
  results: { id: number; payload: Uint8Array | null }[];
  bytes: number;
}

/** Answers waiting for the end of the turn, by connection. */
export class TurnResults {
  private readonly waiting = new Map<WebSocket, Gathered>();
  private flushScheduled = false;

  constructor(private readonly send: (ws: WebSocket, frame: ServerFrame) => void) {}

  /** Answer `id` on `ws` with `payload` at the end of this turn. */
  add(ws: WebSocket, id: number, payload: Uint8Array | null): void {
    let gathered = this.waiting.get(ws);
    if (gathered === undefined) {
      gathered = { results: [], bytes: 0 };
      this.waiting.set(ws, gathered);
    }
    gathered.results.push({ id, payload });
    gathered.bytes += payload?.byteLength ?? 0;
    if (gathered.results.length >= CLIENT_RESULTS_MAX || gathered.bytes >= RESULTS_BYTES_MAX) {
      this.waiting.delete(ws);
      this.sendAll(ws, gathered);
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Forget the answers of a closed connection. */
  drop(ws: WebSocket): void {
    this.waiting.delete(ws);
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [ws, gathered] of this.waiting) this.sendAll(ws, gathered);
    this.waiting.clear();
  }

  private sendAll(ws: WebSocket, { results }: Gathered): void {
    this.send(ws, results.length === 1 ? { type: 'RESULT', id: results[0]!.id, payload: results[0]!.payload } : { type: 'RESULTS', results });
  }
}
