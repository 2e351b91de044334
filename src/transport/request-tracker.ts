/**
 * Requests awaiting a response over TCP, keyed by a 32-bit correlation id. Each has a
 * deadline, the count is bounded, and when the connection a request went out on closes,
 * the request fails at once instead of waiting out its timeout.
 */
import { ErrorCatalog, FlotillaError } from '../core/errors.js';
import type { Message } from '../protocol/messages.js';
import type { FramedConnection } from './tcp-connection.js';

/** Request counters. */
export interface RequestStats {
  /** Requests awaiting a response now. */
  readonly pending: number;
  readonly sent: number;
  readonly answered: number;
  readonly timedOut: number;
  /** Failed otherwise: remote error, connection lost, refused. */
  readonly failed: number;
}

interface Pending {
  readonly resolve: (message: Message) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  connection: FramedConnection | undefined;
}

const correlationIdMax = 0xffff_ffff;

/** Bookkeeping of outstanding requests. */
export class RequestTracker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private sent = 0;
  private answered = 0;
  private timedOut = 0;
  private failed = 0;

  constructor(private readonly pendingRequestsMax: number) {}

  /**
   * Register a request that times out after `timeoutMs` (connect time included). Throws
   * FLO_QUEUE_FULL when `pendingRequestsMax` requests are already pending.
   */
  open(timeoutMs: number): { id: number; response: Promise<Message> } {
    if (this.pending.size >= this.pendingRequestsMax) {
      throw new FlotillaError('FLO_QUEUE_FULL', 'too many pending requests', { pendingRequestsMax: this.pendingRequestsMax });
    }
    const id = this.allocateId();
    let entry: Pending | undefined;
    const response = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.settle(id)) {
          this.timedOut++;
          reject(new FlotillaError('FLO_TIMEOUT', `no response within ${timeoutMs} ms`, { timeoutMs }));
        }
      }, timeoutMs);
      timer.unref();
      entry = { resolve, reject, timer, connection: undefined };
    });
    this.pending.set(id, entry!);
    this.sent++;
    return { id, response };
  }

  /** Record the connection request `id` went out on; false when it already settled. */
  attach(id: number, connection: FramedConnection): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined) return false;
    entry.connection = connection;
    connection.pendingRequests++;
    return true;
  }

  /** Deliver a response; false when no such request is pending (late or unknown id). */
  resolve(id: number, message: Message): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined || !this.settle(id)) return false;
    this.answered++;
    entry.resolve(message);
    return true;
  }

  /** Fail one request; false when it is no longer pending. */
  reject(id: number, err: Error): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined || !this.settle(id)) return false;
    this.failed++;
    entry.reject(err);
    return true;
  }

  /**
   * Fail every request that went out on `connection` (it closed). Each error says
   * `inFlight: true` in its details: the peer may have received and run the request.
   */
  failConnection(connection: FramedConnection, cause: FlotillaError): void {
    for (const [id, entry] of this.pending) if (entry.connection === connection) this.reject(id, inFlight(cause));
  }

  /** Fail every pending request (shutdown). */
  rejectAll(cause: FlotillaError): void {
    for (const id of [...this.pending.keys()]) this.reject(id, cause);
  }

  stats(): RequestStats {
    return { pending: this.pending.size, sent: this.sent, answered: this.answered, timedOut: this.timedOut, failed: this.failed };
  }

  /** Remove `id` and release its timer and connection slot; false if it was not pending. */
  private settle(id: number): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined) return false;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (entry.connection !== undefined) entry.connection.pendingRequests--;
    return true;
  }

  private allocateId(): number {
    // At most pendingRequestsMax ids are taken, so one of the next pendingRequestsMax + 1 is free.
    for (let attempt = 0; attempt <= this.pendingRequestsMax; attempt++) {
      const id = this.nextId;
      this.nextId = this.nextId >= correlationIdMax ? 1 : this.nextId + 1;
      if (!this.pending.has(id)) return id;
    }
    throw new Error('Assertion failed: no free correlation id below the pending bound');
  }
}

/** `cause`, marked as the failure of a request that had gone out (its outcome is unknown). */
function inFlight(cause: FlotillaError): FlotillaError {
  const prefix = `${ErrorCatalog[cause.code].message}: `;
  const detail = cause.message.startsWith(prefix) ? cause.message.slice(prefix.length) : undefined;
  return new FlotillaError(cause.code, detail, { ...cause.details, inFlight: true });
}
