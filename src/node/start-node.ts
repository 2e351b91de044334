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
import { checkAdvertised } from './advertise-check.js';
import { NodeDriver } from './driver.js';
import type { FlotillaNode } from './node-api.js';
import { HealthChecks } from './health.js';
import { HealthMonitor } from './health-monitor.js';
import { resolveNodeConfig, type NodeConfig, type StartNodeOptions } from './node-config.js';
import { NodeEventStream } from './node-events.js';
import { RunningNode } from './running-node.js';
import { MembershipRecorder, readMembershipRecord, rejoinPlan, type RejoinPlan } from './membership-record.js';
import { createNodeLogger } from './node-logger.js';
import { setUpEntities, type EntitySetup } from './entity-setup.js';
import { KvService } from '../grid/kv-service.js';
import { SingletonService } from '../entities/singleton-service.js';
import { Sharding } from '../sharding/sharding.js';
import type { NodeLogger } from './service.js';
import { ServiceHost } from './service-host.js';
import { ShardingService } from './sharding-service.js';
import type { EtcdMode } from './etcd/etcd-mode.js';
import { PLACEMENT_NONE, PLACEMENT_TAG } from '../partitions/assignment.js';

const wallClock = (): Millis => Date.now();

/**
 * Starts a node and joins its cluster (or forms one when no seed answers but itself).
 * Rejects with FLO_CONFIG_INVALID for bad options or an address that cannot be bound,
 * FLO_ADVERTISE_UNREACHABLE when the advertised address does not lead back here, and
 * with the join error (FLO_NO_SEEDS_REACHABLE, FLO_AUTH_FAILED, FLO_JOIN_REJECTED) after
 * closing everything it opened.
 */
export async function startNode(options: StartNodeOptions = {}): Promise<FlotillaNode> {
  const config = resolveNodeConfig(options);
  const log = createNodeLogger(config.nodeId, config.logLevel, options.logger);
  if (config.dataDir !== undefined) await makeDataDir(config.dataDir);
  const rejoin = await planJoin(config, log);
  const entities = await setUpEntities(options, config, log);
  let layer: ShardingLayer | undefined;
  try {
    layer = buildSharding(config, options, entities);
  } catch (err) {
    await entities?.service.stop();
    throw err;
  }
  warnIfDev(config, log);

  // Every datagram and TCP connection proves the cluster secret, not just the join.
  const authKey = deriveFrameAuthKey(config.secret, config.clusterId);
  // During a rotation the previous secret's key is accepted inbound, never used to send.
  const authKeysAccepted = config.secretPrevious === undefined ? [] : [deriveFrameAuthKey(config.secretPrevious, config.clusterId)];
  const transport = new ClusterTransport({ ...config.transport, authKey, authKeysAccepted }, { logger: log.child({ component: 'transport' }) });
  let address: string;
  try {
    address = await transport.start();
  } catch (err) {
    await entities?.service.stop();
    throw err;
  }
  if (config.advertiseHost !== undefined && config.advertiseCheck) {
    try {
      await checkAdvertised({ advertised: address, listenHost: config.host }, config.lifecycle.advertiseCheckTimeoutMs);
    } catch (err) {
      await transport.close();
      await entities?.service.stop();
      throw err;
    }
  }
  let etcd: { mode: EtcdMode; plan: RejoinPlan } | undefined;
  if (config.etcd !== undefined) {
    try {
      etcd = await openEtcd(config, address, rejoin, log);
    } catch (err) {
      await transport.close();
      await entities?.service.stop();
      throw err;
    }
  }
  const join = etcd?.plan ?? rejoin;
  // The quorum verdict is the membership machine's; it exists only further down.
  const quorum: { readOnly: () => boolean } = { readOnly: () => false };
  const mode = etcd?.mode;
  const sharding = layer === undefined ? undefined : new ShardingService(layer.sharding, () => quorum.readOnly(), mode === undefined ? undefined : (p) => mode.writeRefusal(p));
  const checks = new HealthChecks();
  for (const [name, check] of Object.entries(options.healthChecks ?? {})) checks.register(name, check);
  // The monitor is a service the handle's host runs, and it reports back to the handle.
  const ref: { node?: RunningNode } = {};
  const monitor = new HealthMonitor(config.lifecycle.healthCheckIntervalMs, () => ref.node?.refreshHealthTag());
  const services = new ServiceHost([monitor, ...(sharding === undefined ? [] : [sharding]), ...(mode === undefined ? [] : [mode]), ...(options.services ?? [])], log);
  let machine: SwimMachine;
  try {
    machine = new SwimMachine({
      self: { nodeId: config.nodeId, address, tags: config.tags },
      clusterId: config.clusterId,
      seeds: join.seeds,
      formAllowed: join.formAllowed,
      random: new SeededRandom(randomBytes(4).readUInt32LE(0)),
      now: wallClock(),
      config: config.swim,
      sizeOf: encodedUpdateSize,
      sizeOfMessage: encodedSize,
      makeAuthToken: authTokenMaker(config.secret),
      verifyJoin: joinVerifier(config.secretPrevious === undefined ? config.secret : [config.secret, config.secretPrevious]),
    });
    machine.setDatagramBudget(transport.udpMessageBytesMax);
  } catch (err) {
    await mode?.stop();
    await transport.close();
    await entities?.service.stop();
    throw err;
  }
  const events = new NodeEventStream();
  quorum.readOnly = () => machine.isReadOnly(wallClock());
  const recorder = config.dataDir === undefined ? undefined : new MembershipRecorder(config.dataDir, config.clusterId, config.nodeId, log, wallClock);
  const node = new RunningNode({ config, machine, transport, services, sharding: layer?.sharding, kv: layer?.kv, entities: entities?.service, durable: entities?.durable, singletons: layer?.singletons, logger: log, clock: wallClock, address, events, checks, recorder, formAllowed: join.formAllowed, etcd: mode });
  ref.node = node;
  mode?.bind(layer?.sharding, (available) => (available ? node.removeTag(PLACEMENT_TAG) : node.updateTag(PLACEMENT_TAG, PLACEMENT_NONE)));
  const driver = new NodeDriver({
    machine,
    transport,
    services,
    logger: log,
    config: config.driver,
    clock: wallClock,
    onEvent: (event) => node.onEvent(event),
  });
  log.info({ address, clusterId: config.clusterId, seeds: join.seeds, formAllowed: join.formAllowed, etcd: mode === undefined ? undefined : mode.settings.endpoints, tags: config.tags }, 'node starting');
  await node.start(driver, options.onJoining);
  return node;
}

/**
 * The sharding layer with its services, unless `partitions: false`: the KV store, then
 * entities (when the node hosts them), singletons (when it has any), then the caller's own. Adding a built-in service
 * is one `register` line here.
 */
/** The sharding layer and the built-in services the node's handle reaches. */
interface ShardingLayer {
  readonly sharding: Sharding;
  readonly kv: KvService;
  readonly singletons: SingletonService | undefined;
}

function buildSharding(config: NodeConfig, options: StartNodeOptions, entities: EntitySetup | undefined): ShardingLayer | undefined {
  if (config.partitions === false) {
    if ((options.partitionedServices ?? []).length > 0) throw new FlotillaError('FLO_CONFIG_INVALID', 'partitionedServices need the sharding layer (partitions must not be false)');
    return undefined;
  }
  const epochFloor = Math.max(config.partitions.epochFloor ?? 0, entities?.epochFloor ?? 0);
  const sharding = new Sharding({ partitions: { ...config.partitions, epochFloor }, routing: config.routing, migration: config.migration });
  const kv = new KvService(config.kv, options.mapMergePolicies);
  sharding.register(kv);
  if (entities !== undefined) sharding.register(entities.service);
  if (entities?.durable !== undefined) {
    sharding.register(entities.durable.timers);
    sharding.register(entities.durable.workflows);
  }
  const singletons = entities === undefined || (options.singletons ?? []).length === 0 ? undefined : new SingletonService({ nodeId: config.nodeId, definitions: options.singletons ?? [], storage: entities.storage, logger: entities.logger });
  if (singletons !== undefined) sharding.register(singletons);
  for (const service of options.partitionedServices ?? []) sharding.register(service);
  return { sharding, kv, singletons };
}

/**
 * etcd mode: register under a lease, then join the runners registered earlier (the first
 * one forms the cluster). etcd is the registry of the cluster, so a runner that finds no
 * earlier one may form even if its membership record says it was a member.
 */
async function openEtcd(config: NodeConfig, address: string, rejoin: RejoinPlan, log: NodeLogger): Promise<{ mode: EtcdMode; plan: RejoinPlan }> {
  // Loaded only in etcd mode: the etcd client and its gRPC stack add about 25 MiB of RSS.
  const { EtcdMode } = await import('./etcd/etcd-mode.js');
  const mode = new EtcdMode(config.etcd!, { nodeId: config.nodeId, address }, log.child({ component: 'etcd' }));
  const earlier = await mode.open();
  const seeds = [...new Set([...earlier.map((r) => r.address).filter((a) => a !== address), ...rejoin.seeds])];
  log.info({ endpoints: config.etcd!.endpoints, prefix: config.etcd!.config.prefix, earlier: earlier.map((r) => r.nodeId) }, 'etcd mode: registered; joining the runners registered earlier');
  return { mode, plan: { ...rejoin, seeds, formAllowed: rejoin.formAllowed || earlier.length === 0 } };
}

/** The seeds and the forming rule, from the membership record when `dataDir` holds one. */
async function planJoin(config: NodeConfig, log: NodeLogger): Promise<RejoinPlan> {
  const record = config.dataDir === undefined ? undefined : await readMembershipRecord(config.dataDir);
  const plan = rejoinPlan(record, config.seeds, config.clusterId, config.forceForm);
  if (plan.ignored !== undefined) log.warn({ reason: plan.ignored, recorded: record?.addresses }, 'membership record ignored: this node may form a new cluster');
  else if (!plan.formAllowed) log.info({ known: record?.addresses }, 'former member: rejoining through the addresses it last knew; it will not form a new cluster');
  return plan;
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
