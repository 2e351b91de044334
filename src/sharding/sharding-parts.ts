/**
 * The parts of the sharding layer that a split-brain merge or a lineage change rebuilds:
 * the partition coordinator, the migration executor that moves the participants' data,
 * the request router and the routing client, and the graceful drain, wired together.
 */
import type { Address, PartitionTableData } from '../core/model.js';
import { sleep } from '../core/timers.js';
import type { CoordinatorConfig } from '../partitions/coordinator-config.js';
import { PartitionCoordinator, type PartitionTableReader } from '../partitions/coordinator.js';
import type { EpochMemory } from '../partitions/epoch-memory.js';
import type { Message } from '../protocol/messages.js';
import type { MigrationConfig, RoutingConfig } from './config.js';
import { PartitionDrain } from './migration-drain.js';
import { MigrationExecutor } from './migration-executor.js';
import type { MigrationParticipant, ParticipantRole } from './participant.js';
import { RequestRouter, RoutingClient } from './routing.js';
import type { PartitionHandler, ShardingEnv } from './service.js';

/** Everything that exists once the layer has started (rebuilt by a merge). */
export interface Running {
  readonly coordinator: PartitionCoordinator;
  readonly executor: MigrationExecutor;
  readonly router: RequestRouter;
  readonly client: RoutingClient;
  readonly drain: PartitionDrain;
  /**
   * These parts were replaced (a merge or a lineage change): a call still in flight on
   * their client must not run on this node under the table it left (the new table may not
   * give it the partition, and its writes would have no backups and no handover).
   */
  retire(): void;
}

/** What one build needs from the layer. */
export interface PartsOptions {
  readonly env: ShardingEnv;
  readonly coordinatorConfig: CoordinatorConfig;
  readonly migrationConfig: MigrationConfig;
  readonly routingConfig: RoutingConfig;
  readonly participants: readonly MigrationParticipant[];
  /** Every handler the router serves: the services', then the merge handover's. */
  readonly handlers: readonly PartitionHandler[];
  readonly stopped: () => boolean;
  /** The table this node left for the current cluster (a merge or a lineage change). */
  readonly mergedFrom?: PartitionTableData;
  /** The claims of every table this node held, across rebuilds. */
  readonly epochMemory: EpochMemory;
  /** Hand what this node holds of `partitions` to their owners (the merge handover). */
  readonly handOver: (partitions: readonly number[]) => void;
  /** True while a handover still has data of `partition` to export or send. */
  readonly handingOver: (partition: number) => boolean;
}

/** A fresh coordinator, executor, router, client and drain. */
export function buildParts(options: PartsOptions): Running {
  const { env, mergedFrom, stopped } = options;
  const { timers } = env;
  const coordinator = new PartitionCoordinator({ self: env.self, config: options.coordinatorConfig, now: timers.now(), epochMemory: options.epochMemory, ...(mergedFrom === undefined ? {} : { mergedFrom }) });
  const table = (): PartitionTableReader => coordinator.table();
  const request = (to: Address, message: Message, timeoutMs: number): Promise<Message> => env.request(to, message, timeoutMs);
  const observeTableVersion = (version: number): void => {
    coordinator.observeTableVersion(version, timers.now());
    env.wake();
  };
  const afterCoordinator = (input: () => unknown): void => {
    if (stopped()) return;
    input();
    env.wake();
  };
  const executor = new MigrationExecutor({
    self: env.self,
    participants: options.participants,
    config: options.migrationConfig,
    logger: env.logger,
    request,
    addressOf: (id) => env.addressOf(id),
    roleOf: (p) => roleIn(coordinator.table(), p, env.self),
    ownerOf: (p) => coordinator.table().owner(p),
    master: () => coordinator.masterId(),
    ready: (id, lastSeq) => afterCoordinator(() => coordinator.localMigrationReady(id, lastSeq, timers.now())),
    failed: (id, reason) => afterCoordinator(() => coordinator.localMigrationFailed(id, reason, timers.now())),
    handOver: options.handOver,
    handingOver: options.handingOver,
    sleep: (ms) => sleep(timers, ms),
  });
  const routingDeps = { self: env.self, config: options.routingConfig, table, addressOf: (id: string) => env.addressOf(id), request };
  const router = new RequestRouter({ ...routingDeps, readOnly: () => env.readOnly(), writeRefusal: (p) => env.writeRefusal?.(p) });
  for (const handler of options.handlers) router.register(handler);
  let retired = false;
  const client = new RoutingClient({
    ...routingDeps,
    local: (req) => (retired ? Promise.resolve(router.notOwner(req.opId, req.partition)) : router.serve(undefined, req)),
    observeTableVersion,
    timers,
    stopped,
  });
  const drain = new PartitionDrain({ env, table, busy: () => executor.status().outgoing > 0 });
  const retire = (): void => {
    retired = true;
  };
  return { coordinator, executor, router, client, drain, retire };
}

/** `self`'s role for `partition` in `table`. */
export function roleIn(table: PartitionTableReader, partition: number, self: string): ParticipantRole {
  if (table.owner(partition) === self) return 'owner';
  return table.backups(partition).includes(self) ? 'backup' : 'none';
}
