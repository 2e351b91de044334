// The partition lock loop against a real etcd: a runner waiting for locks another runner
// holds takes them as soon as etcd reports them deleted (released, or the holder's lease
// ended), not at its next poll, and still does so after etcd was killed and started again
// (the watch is re-established). Latencies are compared with the poll interval in the same
// run, never with a fixed number of milliseconds.
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SILENT_LOGGER } from '../../../src/core/logger.js';
import { resolveEtcd, type EtcdConfig } from '../../../src/node/etcd/etcd-config.js';
import { EtcdStore } from '../../../src/node/etcd/etcd-store.js';
import { PartitionLocks } from '../../../src/node/etcd/partition-locks.js';
import { EtcdServer, etcdBinary } from '../../helpers/etcd-server.js';
import { waitFor } from '../helpers.js';

const ENDPOINTS = process.env.FLOTILLA_TEST_ETCD_ENDPOINTS ?? '';
const skip = ENDPOINTS === '' || etcdBinary() === undefined;

/** The retry interval, and with it the poll a watch-less loop would wait: long, so a handover bound to it shows. */
const POLL_MS = 4_000;
/** A handover must take less than this share of the poll interval (a poll-bound one takes nearly all of it). */
const HANDOVER_SHARE_MAX = 0.5;
/** Long enough for etcd and the loop on a loaded machine. */
const WAIT_MS = 60_000;
const PARTITIONS = new Set([1, 2, 3]);

let seq = 0;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function config(endpoint: string): EtcdConfig {
  // A lease far longer than any step of a test: only a revocation ends it.
  return resolveEtcd({ endpoints: [endpoint], prefix: `/flotilla-locks-test/${process.pid}-${++seq}/`, leaseTtlSec: 60, retryIntervalMs: POLL_MS }, 'locks-test').config;
}

/** A runner's lock loop on its own connection and lease. */
async function runner(endpoint: string, cfg: EtcdConfig, nodeId: string): Promise<{ locks: PartitionLocks; store: EtcdStore; lease: string }> {
  const store = new EtcdStore([endpoint], cfg);
  const lease = await store.grantLease(cfg.leaseTtlSec);
  const locks = new PartitionLocks(store, cfg, nodeId, SILENT_LOGGER);
  cleanups.push(async () => {
    locks.close();
    await store.revokeLease(lease).catch(() => undefined);
    store.close();
  });
  locks.attached(lease);
  return { locks, store, lease };
}

function holdsAll(locks: PartitionLocks): boolean {
  return [...PARTITIONS].every((p) => locks.holds(p));
}

/** `a` holds the locks and `b` waits for them on its watch (its last attempt found them taken). */
async function heldAndWaitedFor(endpoint: string): Promise<{ a: Awaited<ReturnType<typeof runner>>; b: Awaited<ReturnType<typeof runner>> }> {
  const cfg = config(endpoint);
  const a = await runner(endpoint, cfg, 'a');
  a.locks.want(PARTITIONS);
  await waitFor(() => holdsAll(a.locks), 'a holding the locks', WAIT_MS);
  const b = await runner(endpoint, cfg, 'b');
  b.locks.want(PARTITIONS);
  await waitFor(() => b.locks.stats().watching && b.locks.stats().waiting === PARTITIONS.size, 'b waiting on its watch', WAIT_MS);
  return { a, b };
}

/** Ms until `locks` holds every partition. */
async function msUntilHeld(locks: PartitionLocks, started: number): Promise<number> {
  await waitFor(() => holdsAll(locks), 'the locks handed over', WAIT_MS);
  return performance.now() - started;
}

describe.skipIf(skip)('partition locks: waiting on a watch', () => {
  it('takes released locks without waiting for the next poll', async () => {
    const { a, b } = await heldAndWaitedFor(ENDPOINTS);
    const started = performance.now();
    a.locks.want(new Set());
    const share = (await msUntilHeld(b.locks, started)) / POLL_MS;
    expect(share).toBeLessThan(HANDOVER_SHARE_MAX);
    expect(holdsAll(a.locks)).toBe(false);
    expect(b.locks.stats()).toMatchObject({ held: PARTITIONS.size, waiting: 0 });
  }, 120_000);

  it('takes the locks of a lease that ended without waiting for the next poll, and the old holder stops holding them', async () => {
    const { a, b } = await heldAndWaitedFor(ENDPOINTS);
    const started = performance.now();
    await a.store.revokeLease(a.lease);
    const share = (await msUntilHeld(b.locks, started)) / POLL_MS;
    expect(share).toBeLessThan(HANDOVER_SHARE_MAX);
    // a saw its locks deleted on its own watch: it no longer claims them for writes.
    expect([...PARTITIONS].some((p) => a.locks.holds(p))).toBe(false);
  }, 120_000);
});

describe.skipIf(skip)('partition locks: requests', () => {
  it('sends etcd nothing for a table that leaves its partitions as they were, and settles a changed one', async () => {
    const cfg = config(ENDPOINTS);
    const a = await runner(ENDPOINTS, cfg, 'a');
    a.locks.want(PARTITIONS);
    await waitFor(() => holdsAll(a.locks), 'a holding the locks', WAIT_MS);
    // An attempt starts its first request synchronously, so none started means none will.
    const before = a.store.requests;
    a.locks.want(new Set(PARTITIONS));
    expect(a.store.requests).toBe(before);
    // A changed table is settled: at once, or right after an attempt already running (the
    // watch's reconnect can start one), so the requests are awaited, not read synchronously.
    a.locks.want(new Set([...PARTITIONS, 4]));
    await waitFor(() => a.locks.holds(4), 'a holding the added lock', WAIT_MS);
    expect(a.store.requests).toBeGreaterThan(before);
  }, 120_000);
});

describe.skipIf(skip)('partition locks: etcd goes away and comes back', () => {
  let server: EtcdServer;
  beforeAll(async () => {
    server = await EtcdServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('re-establishes the watch once etcd is back, and hands over without waiting for the next poll again', async () => {
    const { a, b } = await heldAndWaitedFor(server.endpoint);
    await server.kill();
    await waitFor(() => !b.locks.stats().watching, 'the watch broken', WAIT_MS);
    await server.resume();
    await waitFor(() => b.locks.stats().watching, 'the watch back', WAIT_MS);
    expect(b.locks.stats().watchBreaks).toBeGreaterThanOrEqual(1);
    // The leases outlived the outage (etcd keeps them across a restart): a still holds the locks in etcd.
    await waitFor(() => b.locks.stats().waiting === PARTITIONS.size, 'b waiting again', WAIT_MS);
    const started = performance.now();
    a.locks.want(new Set());
    const share = (await msUntilHeld(b.locks, started)) / POLL_MS;
    expect(share).toBeLessThan(HANDOVER_SHARE_MAX);
  }, 180_000);
});
