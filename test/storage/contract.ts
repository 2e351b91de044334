// The one storage contract suite: every implementation's test file calls
// `defineStorageContract` with a way to make fresh databases, so the implementations
// cannot drift apart. Tests needing two stores on one database run only for shared stores.
import { describe } from 'vitest';
import { defineClaimTests } from './contract-claims.js';
import { defineDurableTests } from './contract-durable.js';
import { defineModelTests } from './contract-model.js';
import { defineReadTests } from './contract-reads.js';
import { defineSharedTests } from './contract-shared.js';
import { defineWakeTests } from './contract-wakes.js';
import { useFreshDatabase, type StoreTarget } from './contract-support.js';
import { defineWriteTests } from './contract-writes.js';

export type { StoreTarget, TestDatabase } from './contract-support.js';

/** Define the whole storage contract suite for one implementation. */
export function defineStorageContract(target: StoreTarget): void {
  describe(`storage contract: ${target.name}`, () => {
    const ctx = useFreshDatabase(target);
    defineClaimTests(ctx);
    defineWriteTests(ctx);
    defineReadTests(ctx);
    defineModelTests(ctx);
    defineDurableTests(ctx);
    defineWakeTests(ctx);
    if (target.shared) defineSharedTests(ctx);
  });
}
