/**
 * Entity wiring at node start: opens the entity store (or takes the caller's), reads
 * the highest epoch it ever fenced (the next cluster's first table must start above it)
 * and builds the entity service the sharding layer hosts, and durable execution (workflows,
 * timers) on the same store when the node runs any.
 */
import { join } from 'node:path';
import { FlotillaError } from '../core/errors.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage, StorageOptions } from '../storage/storage.js';
import type { EntityService } from '../entities/entity-service.js';
import type { DurableRuntime } from '../durable/durable-runtime.js';
import type { NodeConfig, StartNodeOptions } from './node-config.js';
import type { NodeLogger } from './service.js';

/** The entity service and what the sharding layer must know for it. */
export interface EntitySetup {
  readonly service: EntityService;
  /** The store entities (and singletons) keep their records in. */
  readonly storage: Storage;
  /** The store's highest claimed epoch: the floor of a fresh cluster's first table. */
  readonly epochFloor: number;
  /** Workflows and durable timers (on the same store), when the node runs any. */
  readonly durable: DurableRuntime | undefined;
  /** The logger of services built on this store. */
  readonly logger: NodeLogger;
}

/** File name of the default SQLite store inside `dataDir`. */
export const DEFAULT_STORAGE_FILE = 'flotilla.db';

/** Whether `value` is an open store rather than options to open one. */
export function isStorage(value: StorageOptions | Storage): value is Storage {
  return typeof (value as Partial<Storage>).claimPartition === 'function';
}

/**
 * Build the entity service, or undefined when the node hosts no entities and was given
 * no storage. Rejects with FLO_CONFIG_INVALID (entities without the sharding layer),
 * FLO_STORAGE or FLO_STORAGE_SCHEMA (the store cannot be opened).
 */
export async function setUpEntities(options: StartNodeOptions, config: NodeConfig, log: NodeLogger): Promise<EntitySetup | undefined> {
  const definitions = options.entities ?? [];
  const workflows = options.workflows ?? [];
  const timerKinds = options.timerKinds ?? [];
  if (definitions.length === 0 && options.storage === undefined && workflows.length === 0 && timerKinds.length === 0 && (options.singletons ?? []).length === 0) return undefined;
  if (config.partitions === false) throw new FlotillaError('FLO_CONFIG_INVALID', 'entities, workflows, timers and singletons need the sharding layer (partitions must not be false)');
  const given = options.storage !== undefined && isStorage(options.storage) ? options.storage : undefined;
  const storageOptions: StorageOptions =
    options.storage !== undefined && !isStorage(options.storage)
      ? options.storage
      : config.dataDir !== undefined
        ? { kind: 'sqlite', path: join(config.dataDir, DEFAULT_STORAGE_FILE) }
        : { kind: 'memory' };
  const storage = given ?? (await openStorage(storageOptions, log.child({ component: 'storage' })));
  let epochFloor: number;
  try {
    epochFloor = await storage.maxEpoch();
  } catch (error) {
    if (given === undefined) await storage.close();
    throw error;
  }
  log.info({ storage: storage.kind, location: storage.description, epochFloor, types: definitions.map((d) => d.type) }, 'entity storage ready');
  // Loaded only by nodes that host entities: a node without them does not carry their code.
  const { EntityService } = await import('../entities/entity-service.js');
  const service = new EntityService({
    nodeId: config.nodeId,
    definitions,
    storage,
    ownsStorage: given === undefined,
    config: config.entity,
    logger: log.child({ component: 'entities' }),
  });
  const durable =
    workflows.length === 0 && timerKinds.length === 0
      ? undefined
      : new (await import('../durable/durable-runtime.js')).DurableRuntime({ nodeId: config.nodeId, storage, workflows, timerKinds, config: config.durable, logger: log.child({ component: 'durable' }) });
  return { service, storage, epochFloor, durable, logger: log.child({ component: 'singletons' }) };
}
