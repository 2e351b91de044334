/**
 * `startNode`: the one call that turns options into a running cluster member. It checks
 * the configuration, binds the sockets, wires the membership machine (with the cluster
 * secret on joins and exact wire sizes), the driver and the services together, and
 * resolves once the node joined (or formed) its cluster.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import { SwimMachine } from '../membership/swim.js';
import { encodedSize, encodedUpdateSize } from '../protocol/index.js';
import { ClusterTransport } from '../transport/transport.js';
import { deriveFrameAuthKey } from '../transport/frame-auth.js';
import { authTokenMaker, joinVerifier } from './cluster-auth.js';
import { NodeDriver } from './driver.js';
import type { FlotillaNode } from './flotilla-node.js';
import { HealthChecks } from './health.js';
import { HealthMonitor } from './health-monitor.js';
import { resolveNodeConfig, type NodeConfig, type StartNodeOptions } from './node-config.js';
import { NodeEventStream } from './node-events.js';
import { NodeHandle } from './node-handle.js';
import { createNodeLogger } from './node-logger.js';
import { setUpEntities, type EntitySetup } from './entity-setup.js';
import { PartitionService } from './partition-service.js';
import type { NodeLogger, NodeService } from './service.js';
import { ServiceHost } from './service-host.js';

const wallClock = (): Millis => Date.now();

/**
 * Starts a node and joins its cluster (or forms one when no seed answers but itself).
 * Rejects with FLO_CONFIG_INVALID for bad options or an address that cannot be bound, and
 * with the join error (FLO_NO_SEEDS_REACHABLE, FLO_AUTH_FAILED, FLO_JOIN_REJECTED) after
 * closing everything it opened.
 */
export async function startNode(options: StartNodeOptions = {}): Promise<FlotillaNode> {
  const config = resolveNodeConfig(options);
  const log = createNodeLogger(config.nodeId, config.logLevel, options.logger);
  if (config.dataDir !== undefined) await makeDataDir(config.dataDir);
  const entities = await setUpEntities(options, config, log);
  let partitions: PartitionService | undefined;
  try {
    partitions = findOrCreatePartitionService(config, options.services ?? [], entities);
  } catch (err) {
    await entities?.service.stop();
    throw err;
  }
  if (partitions !== undefined) entities?.service.attach(partitions);
  const checks = new HealthChecks();
  for (const [name, check] of Object.entries(options.healthChecks ?? {})) checks.register(name, check);
  // The monitor is a service the handle's host runs, and it reports back to the handle.
  const ref: { node?: NodeHandle } = {};
  const monitor = new HealthMonitor(config.lifecycle.healthCheckIntervalMs, () => ref.node?.refreshHealthTag());
  const userServices = (options.services ?? []).filter((s) => s !== partitions);
  const services = new ServiceHost([monitor, ...(partitions === undefined ? [] : [partitions]), ...(entities === undefined ? [] : [entities.service]), ...userServices], log);
  warnIfDev(config, log);

  // Every datagram and TCP connection proves the cluster secret, not just the join.
  const authKey = deriveFrameAuthKey(config.secret, config.clusterId);
  const transport = new ClusterTransport({ ...config.transport, authKey }, { logger: log.child({ component: 'transport' }) });
  let address: string;
  try {
    address = await transport.start();
  } catch (err) {
    await entities?.service.stop();
    throw err;
  }
  let machine: SwimMachine;
  try {
    machine = new SwimMachine({
      self: { nodeId: config.nodeId, address, tags: config.tags },
      clusterId: config.clusterId,
      seeds: config.seeds,
      random: new SeededRandom(randomBytes(4).readUInt32LE(0)),
      now: wallClock(),
      config: config.swim,
      sizeOf: encodedUpdateSize,
      sizeOfMessage: encodedSize,
      makeAuthToken: authTokenMaker(config.secret),
      verifyJoin: joinVerifier(config.secret),
    });
    machine.setDatagramBudget(transport.udpMessageBytesMax);
  } catch (err) {
    await transport.close();
    await entities?.service.stop();
    throw err;
  }
  const events = new NodeEventStream();
  const node = new NodeHandle({ config, machine, transport, services, partitions, entities: entities?.service, logger: log, clock: wallClock, address, events, checks });
  ref.node = node;
  const driver = new NodeDriver({
    machine,
    transport,
    services,
    logger: log,
    config: config.driver,
    clock: wallClock,
    onEvent: (event) => node.onEvent(event),
  });
  log.info({ address, clusterId: config.clusterId, seeds: config.seeds, tags: config.tags }, 'node starting');
  await node.start(driver);
  return node;
}

/** The caller's PartitionService if it passed one, else a new one (hosting entities, if any) unless `partitions: false`. */
function findOrCreatePartitionService(config: NodeConfig, services: readonly NodeService[], entities: EntitySetup | undefined): PartitionService | undefined {
  const given = services.find((s): s is PartitionService => s instanceof PartitionService);
  if (given !== undefined && entities !== undefined) throw new FlotillaError('FLO_CONFIG_INVALID', 'entities cannot be hosted by a PartitionService passed in services');
  if (given !== undefined) return given;
  if (config.partitions === false) return undefined;
  if (entities === undefined) return new PartitionService({ partitionConfig: config.partitions });
  const epochFloor = Math.max(config.partitions.epochFloor ?? 0, entities.epochFloor);
  return new PartitionService({ partitionConfig: { ...config.partitions, epochFloor }, participants: [entities.service.participant], handlers: [entities.service.handler] });
}

async function makeDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `dataDir ${dataDir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { dataDir });
  }
}

function warnIfDev(config: NodeConfig, log: NodeLogger): void {
  if (!config.devSecret) return;
  log.warn(
    { devSecret: true },
    'DEV MODE: using the public development secret. Anyone can join this cluster. Set a secret (FLOTILLA_SECRET / --secret) for anything but local development.',
  );
}
