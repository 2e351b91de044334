// The storage contract against the in-memory reference store.
import { MemoryStorage } from '../../src/storage/memory.js';
import { defineStorageContract } from './contract.js';

defineStorageContract({
  name: 'memory',
  shared: false,
  freshDatabase: () => {
    const open = () => Promise.resolve(new MemoryStorage());
    return Promise.resolve({ open, dispose: () => Promise.resolve() });
  },
});
