// What the shared storage contract suite needs from each implementation's test file, and
// the helpers its parts share: a fresh database per test, stores closed after each test,
// and a check that a promise rejects with a given catalogued code.
import { afterEach, beforeEach, expect } from 'vitest';
import { isFlotillaError, type ErrorCode, type FlotillaError } from '../../src/core/errors.js';
import type { EntityWrite, Storage } from '../../src/storage/storage.js';

/** A fresh, empty database that stores can be opened on. */
export interface TestDatabase {
  /** Open a store on this database (migrations applied). */
  open(): Promise<Storage>;
  /** Record a schema version as applied, as a newer Flotilla would (durable stores only). */
  recordSchemaVersion?(version: number): Promise<void>;
  /** The versions in the migrations table, one entry per row (durable stores only). */
  recordedMigrations?(): Promise<number[]>;
  /** Remove the database. */
  dispose(): Promise<void>;
}

/** An implementation under test. */
export interface StoreTarget {
  readonly name: string;
  /** True when two stores opened on one TestDatabase share data (false for memory). */
  readonly shared: boolean;
  freshDatabase(): Promise<TestDatabase>;
}

/** Per-test access to the database and its first store. */
export interface ContractContext {
  readonly target: StoreTarget;
  /** The store opened for the current test. */
  store(): Storage;
  /** The current test's database. */
  db(): TestDatabase;
  /** Open another store on the current test's database; closed after the test. */
  openAnother(): Promise<Storage>;
}

/** Create a fresh database and a store before each test; close and remove them after. */
export function useFreshDatabase(target: StoreTarget): ContractContext {
  let current: TestDatabase | undefined;
  let main: Storage | undefined;
  let opened: Storage[] = [];
  const openAnother = async (): Promise<Storage> => {
    const store = await current!.open();
    opened.push(store);
    return store;
  };
  beforeEach(async () => {
    current = await target.freshDatabase();
    main = await openAnother();
  });
  afterEach(async () => {
    await Promise.all(opened.map((s) => s.close()));
    opened = [];
    await current?.dispose();
    current = undefined;
  });
  return { target, store: () => main!, db: () => current!, openAnother };
}

/** Await `promise`, expect it to reject with `code`, and return the error. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<FlotillaError> {
  const outcome = await promise.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection with ${code}, resolved with ${JSON.stringify(outcome.value)}`);
  expect(isFlotillaError(outcome.error, code), `expected ${code}, got ${String(outcome.error)}`).toBe(true);
  return outcome.error as FlotillaError;
}

/** A write with defaults: partition 1, epoch 1 by node-a, type `counter`, expecting no record. */
export function write(overrides: Partial<EntityWrite> & Pick<EntityWrite, 'id'>): EntityWrite {
  return { partition: 1, epoch: 1, writer: 'node-a', type: 'counter', state: bytes(1), expectedVersion: 0, ...overrides };
}

/** A small state. */
export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** The code of a refused write, or 'ok:<version>'. */
export function outcome(result: { ok: true; version: number } | { ok: false; error: FlotillaError }): string {
  return result.ok ? `ok:${result.version}` : result.error.code;
}
