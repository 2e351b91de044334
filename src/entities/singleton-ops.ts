/**
 * The operations callers send a singleton's leader (`singletons` service requests) and
 * the typed ref that sends them: the next counter value, the leadership history, the node
 * leading now, and the two resets. Encoded as plain msgpack.
 */
import { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { LeadershipRecord } from './singleton-definition.js';
import { decodeValue, encodeValue } from './state-codec.js';

/** `ServiceRequest.service` of singleton operations. */
export const SINGLETON_SERVICE = 'singletons';

/** What a caller may ask a singleton's leader. */
export type SingletonOp = 'next' | 'history' | 'runner' | 'clearHistory' | 'resetCounter';

const OPS: ReadonlySet<string> = new Set<SingletonOp>(['next', 'history', 'runner', 'clearHistory', 'resetCounter']);
const WRITES: ReadonlySet<SingletonOp> = new Set<SingletonOp>(['next', 'clearHistory', 'resetCounter']);

/** One request. */
export interface SingletonRequest {
  readonly op: SingletonOp;
  readonly name: string;
}

export function encodeSingletonRequest(request: SingletonRequest): Uint8Array {
  return encodeValue([request.op, request.name]);
}

/** Decode a request; FLO_INVALID_ARGUMENT when it is not one. */
export function decodeSingletonRequest(bytes: Uint8Array): SingletonRequest {
  const raw = decodeValue(bytes);
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== 'string' || !OPS.has(raw[0]) || typeof raw[1] !== 'string') {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'not a singleton request');
  }
  return { op: raw[0] as SingletonOp, name: raw[1] };
}

/** Whether `op` changes the singleton's record (refused by a node without quorum). */
export function isSingletonWrite(op: SingletonOp): boolean {
  return WRITES.has(op);
}

/** A handle on one singleton, usable from any node: its calls reach the node leading it. */
export interface SingletonRef {
  readonly name: string;
  /** The next value of its durable counter; never one handed out before (unless reset). */
  next(): Promise<number>;
  /** Its leaderships, oldest first. */
  history(): Promise<LeadershipRecord[]>;
  /** The node leading it now. */
  runner(): Promise<NodeId>;
  /** Forget past leaderships (the running one stays). */
  clearHistory(): Promise<void>;
  /** Start the counter over: the next value is 1. */
  resetCounter(): Promise<void>;
}

/** A ref whose operations go through `send`. */
export function makeSingletonRef(name: string, send: (op: SingletonOp) => Promise<unknown>): SingletonRef {
  return {
    name,
    next: async () => (await send('next')) as number,
    history: async () => (await send('history')) as LeadershipRecord[],
    runner: async () => (await send('runner')) as NodeId,
    clearHistory: async () => {
      await send('clearHistory');
    },
    resetCounter: async () => {
      await send('resetCounter');
    },
  };
}
