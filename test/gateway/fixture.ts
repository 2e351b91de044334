// A hand-written AdminSource for testing the HTTP layer alone: plain mutable data, a
// three-node cluster with a full 271-partition table, and switches to make a method throw.
import type { KvValue } from '../../src/grid/kv-codec.js';
import type {
  AdminActiveEntity,
  AdminEntities,
  AdminKv,
  AdminSource,
  EntityMetricsSnapshot,
  HealthReport,
  MembersReport,
  MetricsSnapshot,
  MigrationsReport,
  PartitionsReport,
} from '../../src/gateway/admin-source.js';

export const NODES = ['n1', 'n2', 'n3'] as const;

export function fixtureHealth(): HealthReport {
  return { status: 'ok', nodeId: 'n1', state: 'running', checks: { storage: { status: 'healthy' } } };
}

export function fixtureMembers(): MembersReport {
  return {
    version: 4,
    master: 'n1',
    members: [
      { nodeId: 'n1', address: '127.0.0.1:7001', state: 'alive', joinVersion: 1, incarnation: 11, tags: { zone: 'a' }, clockOffsetMs: null },
      { nodeId: 'n2', address: '127.0.0.1:7002', state: 'alive', joinVersion: 2, incarnation: 12, tags: { zone: 'b', role: 'web' }, clockOffsetMs: 3 },
      { nodeId: 'n3', address: '127.0.0.1:7003', state: 'suspect', joinVersion: 3, incarnation: 13, tags: {}, clockOffsetMs: -10_012 },
    ],
  };
}

/** Partition p is owned by NODES[p % 3] and backed up by the next node. */
export function fixturePartitions(): PartitionsReport {
  const partitions = Array.from({ length: 271 }, (_, p) => ({
    partition: p,
    owner: NODES[p % 3]!,
    backups: [NODES[(p + 1) % 3]!],
    epoch: 1 + (p % 5),
  }));
  return { version: 9, partitionCount: 271, partitions };
}

export function fixtureMigrations(): MigrationsReport {
  return {
    inFlight: [{ id: 'm-7', partition: 7, source: 'n2', destination: 'n3', role: 'backup', perspective: 'source', state: 'copying', startedAt: 1_700_000_000_000 }],
    recent: [
      {
        id: 'm-3',
        partition: 3,
        source: 'n1',
        destination: 'n2',
        role: 'owner',
        perspective: 'master',
        state: 'finished',
        startedAt: 1_699_999_990_000,
        finishedAt: 1_699_999_995_000,
        outcome: 'cancelled',
        reason: 'destination left',
      },
    ],
  };
}

export function fixtureSnapshot(): MetricsSnapshot {
  return {
    membership: {
      members: { alive: 2, suspect: 1, dead: 0, left: 0 },
      incarnation: 11,
      viewVersion: 4,
      awarenessScore: 0,
      probes: 100,
      probeFailures: 3,
      indirectProbes: 2,
      suspicions: 1,
      refutations: 0,
      deathsDeclared: 0,
      clockOffsetsMs: { n2: 3, n3: -10_012 },
      clockSkewWarnings: 1,
      clockSkewRefusals: 0,
    },
    messages: {
      sent: { Ping: { messages: 100, bytes: 4_000 }, Ack: { messages: 90, bytes: 2_700 } },
      received: { Ack: { messages: 97, bytes: 2_910 } },
    },
    transport: {
      connectionsOpen: { inbound: 2, outbound: 1 },
      channels: {
        udp: { framesIn: 200, framesOut: 210, bytesIn: 8_000, bytesOut: 8_400, dropped: { FLO_DECODE_MALFORMED: 4 } },
        tcp: { framesIn: 30, framesOut: 31, bytesIn: 3_000, bytesOut: 3_100, dropped: {} },
      },
    },
    partitions: { tableVersion: 9, partitionCount: 271, owned: 91, backedUp: 90 },
    migrations: {
      inFlight: 1,
      completed: 5,
      cancelled: 1,
      totals: {
        started: { master: 6, source: 4, destination: 3 },
        finished: {
          master: { completed: 3, cancelled: 1, 'timed-out': 0, failed: 1, abandoned: 0 },
          source: { completed: 2, cancelled: 0, 'timed-out': 0, failed: 1, abandoned: 0 },
          destination: { completed: 2, cancelled: 0, 'timed-out': 1, failed: 0, abandoned: 0 },
        },
      },
    },
    quorum: { state: 'healthy', minority: false, readOnly: false, liveMembers: 3, expectedSize: 3 },
  };
}

/** Entities held by the fixture node: four Counters and one Cart over three partitions; Idle is registered, none active. */
export function fixtureActiveEntities(): AdminActiveEntity[] {
  return [
    { type: 'Counter', id: 'c-2', partition: 17 },
    { type: 'Cart', id: 'u-1', partition: 5 },
    { type: 'Counter', id: 'c-10', partition: 5 },
    { type: 'Counter', id: 'c-1', partition: 200 },
    { type: 'Counter', id: 'c-3', partition: 17 },
  ];
}

/** Plain mutable entity data for the `/entities` routes. */
export class FixtureEntities implements AdminEntities {
  registered: string[] = ['Counter', 'Cart', 'Idle'];
  held: AdminActiveEntity[] = fixtureActiveEntities();

  types(): readonly string[] {
    return this.registered;
  }
  active(): readonly AdminActiveEntity[] {
    return this.held;
  }
}

/** Entity counters of the fixture node, with a call latency histogram. */
export function fixtureEntityMetrics(): EntityMetricsSnapshot {
  return {
    activeByType: { Cart: 1, Counter: 4, Idle: 0 },
    activations: 12,
    passivations: 6,
    evictions: 1,
    callOutcomes: { ok: 40, FLO_HANDLER_FAILED: 2, FLO_MAILBOX_FULL: 1 },
    mailboxRejections: 1,
    loads: 9,
    writes: 30,
    staleEpochWrites: 1,
    callLatency: { boundsMs: [1, 10, 100], counts: [20, 15, 7, 1], sumMs: 512 },
  };
}

/** A source whose answers tests can swap, and whose methods can be made to throw. */
export class FixtureSource implements AdminSource {
  readonly nodeId = 'n1';
  healthReport = fixtureHealth();
  membersReport = fixtureMembers();
  partitionsReport = fixturePartitions();
  migrationsReport = fixtureMigrations();
  snapshot = fixtureSnapshot();
  snapshotReads = 0;
  /** The `/entities` data; undefined (the default) makes those routes answer 404. */
  entities: AdminEntities | undefined = undefined;
  /** When set, the named method throws this value. */
  failing: { method: 'health' | 'members' | 'partitions' | 'migrations' | 'metricsSnapshot'; error: unknown } | undefined;

  private check(method: NonNullable<FixtureSource['failing']>['method']): void {
    if (this.failing?.method === method) throw this.failing.error;
  }

  health(): HealthReport {
    this.check('health');
    return this.healthReport;
  }
  members(): MembersReport {
    this.check('members');
    return this.membersReport;
  }
  partitions(): PartitionsReport {
    this.check('partitions');
    return this.partitionsReport;
  }
  migrations(): MigrationsReport {
    this.check('migrations');
    return this.migrationsReport;
  }
  metricsSnapshot(): MetricsSnapshot {
    this.check('metricsSnapshot');
    this.snapshotReads++;
    return this.snapshot;
  }
}

/** An in-memory KV behind the admin API's /kv routes; `failWith` makes the next call throw. */
export class FixtureKv implements AdminKv {
  readonly entries = new Map<string, KvValue>();
  failWith: unknown;
  private check(): void {
    const error = this.failWith;
    this.failWith = undefined;
    if (error !== undefined) throw error;
  }
  kvPut(key: string, value: KvValue): Promise<void> {
    this.check();
    this.entries.set(key, value);
    return Promise.resolve();
  }
  kvGet(key: string): Promise<KvValue | undefined> {
    this.check();
    return Promise.resolve(this.entries.get(key));
  }
  kvDelete(key: string): Promise<boolean> {
    this.check();
    return Promise.resolve(this.entries.delete(key));
  }
  kvSize(): Promise<number> {
    this.check();
    return Promise.resolve(this.entries.size);
  }
}
