/**
 * The test entities the runner hosts, written as a Flotilla user would write them:
 * `Counter` (one integer) and `KVStore` (a map of JSON values). Their state is durable,
 * so the bash tests can check it survives passivation, restarts and crashes.
 */
import { defineEntity, FlotillaError } from 'flotilla';

/** A JSON value as the HTTP API carries it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Longest KV key, in characters: keys travel in URLs. */
export const KV_KEY_CHARS_MAX = 1_024;

function checkDelta(n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'the amount must be an integer');
  return n;
}

function checkSum(value: number): number {
  if (!Number.isSafeInteger(value)) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'the counter would leave the safe integer range');
  return value;
}

/** A counter: `{ value }`, changed by increments and decrements, serialized per id. */
export const Counter = defineEntity('Counter', {
  state: () => ({ value: 0 }),
  handlers: {
    increment(ctx, n: number): number {
      ctx.state.value = checkSum(ctx.state.value + checkDelta(n));
      return ctx.state.value;
    },
    decrement(ctx, n: number): number {
      ctx.state.value = checkSum(ctx.state.value - checkDelta(n));
      return ctx.state.value;
    },
    get(ctx): number {
      return ctx.state.value;
    },
    reset(ctx): null {
      ctx.state.value = 0;
      return null;
    },
  },
});

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > KV_KEY_CHARS_MAX) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `key must be a string of 1..${KV_KEY_CHARS_MAX} characters`);
  }
  // A plain object backs the map; this one key would rewrite its prototype instead.
  if (key === '__proto__') throw new FlotillaError('FLO_INVALID_ARGUMENT', 'key "__proto__" is reserved');
  return key;
}

/** A key/value store: `{ data }`, string keys, JSON values. */
export const KVStore = defineEntity('KVStore', {
  state: () => ({ data: {} as Record<string, JsonValue> }),
  handlers: {
    set(ctx, key: string, value: JsonValue): null {
      // The node's entity state bound (stateBytesMax) caps how much one store holds.
      ctx.state.data[checkKey(key)] = value;
      return null;
    },
    get(ctx, key: string): JsonValue {
      const k = checkKey(key);
      return Object.hasOwn(ctx.state.data, k) ? (ctx.state.data[k] ?? null) : null;
    },
    delete(ctx, key: string): boolean {
      const k = checkKey(key);
      if (!Object.hasOwn(ctx.state.data, k)) return false;
      Reflect.deleteProperty(ctx.state.data, k);
      return true;
    },
    keys(ctx): string[] {
      return Object.keys(ctx.state.data);
    },
    clear(ctx): null {
      ctx.state.data = {};
      return null;
    },
  },
});

/** Every entity type the runner registers. */
export const RUNNER_ENTITIES = [Counter, KVStore] as const;
