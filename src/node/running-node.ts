/**
 * The running node behind the `FlotillaNode` interface: owns the membership machine, the driver, the
 * hosted services and the transport, answers queries from the machine, turns health
 * checks into the `health` tag, and runs the lifecycle (join, graceful leave in bounded
 * phases, immediate stop).
 */
import type { Millis } from '../core/clock.js';
import type { Address, MembersViewData, NodeId, PartitionTableData, Tags } from '../core/model.js';
import { FlotillaError } from '../core/errors.js';
import type { Member, MembershipEvent } from '../membership/events.js';
import type { SwimMachine } from '../membership/swim.js';
import type { ClusterTransport, TransportStats } from '../transport/transport.js';
import { waitBounded } from './bounded-wait.js';
import type { NodeDriver } from './driver.js';
import type { FlotillaNode, NodeKv, NodeMigrations, NodeQuorum, NodeState, NodeStats, NodeTimers, NodeWorkflows } from './node-api.js';
import { HEALTH_TAG, HealthChecks, overallStatus, worstOf, type HealthCheck, type NodeHealthReport } from './health.js';
import type { NodeConfig } from './node-config.js';
import { NodeEventStream } from './node-events.js';
import { logMembershipEvent } from './node-logger.js';
import type { EntityService, EntityServiceStats } from '../entities/entity-service.js';
import type { KvService } from '../grid/kv-service.js';
import type { GridMap } from '../grid/grid-map.js';
import type { GridOrMap } from '../grid/grid-or-map.js';
import type { KvValue } from '../grid/kv-codec.js';
import type { DurableRuntime } from '../durable/durable-runtime.js';
import type { Sharding } from '../sharding/sharding.js';
import type { AnyEntityDefinition } from '../entities/definition.js';
import type { EntityRef } from '../entities/ref.js';
import type { SingletonRef } from '../entities/singleton-ops.js';
import type { SingletonService, SingletonStatus } from '../entities/singleton-service.js';
import type { ActiveEntity, ActiveEntityCount } from '../entities/runtime-stats.js';
import type { MembershipRecorder } from './membership-record.js';
import type { NodeLogger } from './service.js';
import type { ServiceHost } from './service-host.js';
import type { EtcdMode, EtcdStatus } from './etcd/etcd-mode.js';

/** What the handle is built from (see `startNode`). */
export interface NodeParts {
  readonly config: NodeConfig;
  readonly machine: SwimMachine;
  readonly transport: ClusterTransport;
  readonly services: ServiceHost;
  /** The sharding layer, unless the node was started with `partitions: false`. */
  readonly sharding: Sharding | undefined;
  /** The KV store, a service of the sharding layer. */
  readonly kv: KvService | undefined;
  /** The entity service, when the node hosts entities. */
  readonly entities?: EntityService | undefined;
  /** Workflows and durable timers, when the node runs any. */
  readonly durable?: DurableRuntime | undefined;
  /** The singleton service, when the node was given singletons. */
  readonly singletons?: SingletonService | undefined;
  readonly logger: NodeLogger;
  readonly clock: () => Millis;
  readonly address: Address;
  readonly events: NodeEventStream;
  readonly checks: HealthChecks;
  /** Keeps the membership record in the data directory, when there is one. */
  readonly recorder?: MembershipRecorder | undefined;
  /** False for a former member, which rejoins and never forms a new cluster. */
  readonly formAllowed?: boolean;
  /** etcd mode's session, locks and gate, when the node runs in etcd mode. */
  readonly etcd?: EtcdMode | undefined;
}

/** A running node. Create with `startNode`. */
export class RunningNode implements FlotillaNode {
  readonly nodeId: NodeId;
  readonly address: Address;
  readonly clusterId: string;
  readonly dataDir: string | undefined;
  readonly events: NodeEventStream;
  private readonly machine: SwimMachine;
  private readonly log: NodeLogger;
  private readonly clock: () => Millis;
  private lifecycle: NodeState = 'joining';
  private leaving: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private expectedSize: number | undefined;
  private driver: NodeDriver | undefined;

  constructor(private readonly parts: NodeParts) {
    this.nodeId = parts.config.nodeId;
    this.address = parts.address;
    this.clusterId = parts.config.clusterId;
    this.dataDir = parts.config.dataDir;
    this.events = parts.events;
    this.machine = parts.machine;
    this.log = parts.logger;
    this.clock = parts.clock;
  }

  /**
   * Starts services, hands the node to `onJoining`, starts the machine and waits for the join. Rejects with the join error
   * (FLO_NO_SEEDS_REACHABLE, FLO_AUTH_FAILED, FLO_JOIN_REJECTED...) after closing everything.
   */
  async start(driver: NodeDriver, onJoining?: (node: FlotillaNode) => void | Promise<void>): Promise<void> {
    this.driver = driver;
    driver.attach();
    try {
      await this.parts.services.startAll((service, index) => driver.contextFor(service, index));
      await onJoining?.(this);
    } catch (err) {
      await this.stop();
      throw err;
    }
    driver.startMachine();
    await driver.until(() => this.machine.status() !== 'joining');
    // The join's events (JoinCompleted, the first view) are delivered before resolving.
    await driver.nextTurn();
    const status = this.machine.status();
    if (status === 'running') {
      if (this.lifecycle === 'joining') this.lifecycle = 'running';
      return;
    }
    const error: FlotillaError | undefined = this.machine.joinError();
    await this.stop();
    throw error ?? new Error(`node ${this.nodeId} stopped while joining`);
  }

  /** The driver's event hook: logs, quorum numbers, subscribers. */
  onEvent(event: MembershipEvent): void {
    logMembershipEvent(this.log, event);
    if (event.type === 'PartitionDetected') this.expectedSize = event.expectedSize;
    if (event.type === 'ViewChanged') this.parts.recorder?.noteView(event.view);
    this.events.publish(event);
  }

  state(): NodeState {
    return this.lifecycle;
  }

  members(): Member[] {
    return this.machine.members();
  }

  member(nodeId: NodeId): Member | undefined {
    return this.machine.member(nodeId);
  }

  membersView(): MembersViewData | undefined {
    return this.machine.membersView();
  }

  master(): NodeId | undefined {
    return this.machine.master();
  }

  isMaster(): boolean {
    return this.machine.isMaster();
  }

  isReadOnly(): boolean {
    return this.machine.isReadOnly(this.clock());
  }

  quorum(): NodeQuorum {
    const members = this.machine.stats().members;
    const liveMembers = members.alive + members.suspect;
    // The machine keeps its expected size to itself; it is told only with quorum changes.
    return { ...this.machine.quorumState(this.clock()), liveMembers, expectedSize: this.expectedSize ?? liveMembers };
  }

  updateTag(key: string, value: string): void {
    this.checkTagKey(key);
    this.machine.updateTag(key, value);
    this.driver?.kick();
  }

  removeTag(key: string): void {
    this.checkTagKey(key);
    this.machine.removeTag(key);
    this.driver?.kick();
  }

  updateTags(tags: Tags): void {
    for (const key of Object.keys(tags)) this.checkTagKey(key);
    this.machine.updateTags(tags);
    this.driver?.kick();
  }

  nodesWithTag(key: string, value: string): Member[] {
    return this.machine.nodesWithTag(key, value);
  }

  nodesWithAllTags(tags: Tags): Member[] {
    return this.machine.nodesWithAllTags(tags);
  }

  partitionTable(): PartitionTableData | undefined {
    return this.parts.sharding?.table();
  }

  migrations(): NodeMigrations {
    return this.parts.sharding?.migrations() ?? { inFlight: [], recent: [] };
  }

  get kv(): NodeKv | undefined {
    return this.parts.kv;
  }

  getMap<V extends KvValue = KvValue>(name: string): GridMap<V> {
    if (this.parts.kv === undefined) throw new FlotillaError('FLO_NOT_FOUND', 'this node runs without the sharding layer, so it holds no maps');
    return this.parts.kv.getMap<V>(name);
  }

  getOrMap<V extends KvValue = KvValue>(name: string): GridOrMap<V> {
    if (this.parts.kv === undefined) throw new FlotillaError('FLO_NOT_FOUND', 'this node runs without the sharding layer, so it holds no maps');
    return this.parts.kv.getOrMap<V>(name);
  }

  /** The sharding layer (not part of `FlotillaNode`: for the admin API and tests). */
  get sharding(): Sharding | undefined {
    return this.parts.sharding;
  }

  /** etcd mode's state, when on (not part of `FlotillaNode`: for the admin API and tests). */
  etcdStatus(): EtcdStatus | undefined {
    return this.parts.etcd?.status();
  }

  /** The KV service with its local store (not part of `FlotillaNode`: for the admin API and tests). */
  get kvService(): KvService | undefined {
    return this.parts.kv;
  }

  /** The entity service, when the node hosts entities (not part of `FlotillaNode`: for the client gateway and tests). */
  get entityService(): EntityService | undefined {
    return this.parts.entities;
  }

  entity<D extends AnyEntityDefinition>(definition: D, id: string): EntityRef<D> {
    const service = this.parts.entities;
    if (service === undefined) throw new FlotillaError('FLO_ENTITY_UNKNOWN', `${definition.type}: this node hosts no entities (pass entities to startNode)`);
    return service.ref(definition, id);
  }

  singleton(name: string): SingletonRef {
    const service = this.parts.singletons;
    if (service === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no singleton '${name}': this node has none (pass singletons to startNode)`);
    return service.ref(name);
  }

  singletonStatus(): SingletonStatus[] {
    return this.parts.singletons?.status() ?? [];
  }

  activeEntities(): ActiveEntity[] {
    return this.parts.entities?.activeEntities() ?? [];
  }

  entityCounts(): ActiveEntityCount[] {
    return this.parts.entities?.entityCounts() ?? [];
  }

  entityStats(): EntityServiceStats | undefined {
    return this.parts.entities?.stats();
  }

  get workflows(): NodeWorkflows | undefined {
    return this.parts.durable?.workflows;
  }

  get timers(): NodeTimers | undefined {
    return this.parts.durable?.timers;
  }

  /** Durable execution with its services (not part of `FlotillaNode`: for tests and benchmarks). */
  get durable(): DurableRuntime | undefined {
    return this.parts.durable;
  }

  health(): NodeHealthReport {
    const checks = this.parts.checks.evaluate();
    const status = overallStatus(this.lifecycle, worstOf(checks));
    const reason = this.lifecycle === 'joining' ? this.joiningReason() : undefined;
    return { status, nodeId: this.nodeId, state: this.lifecycle, checks, ...(reason === undefined ? {} : { reason }) };
  }

  private joiningReason(): string {
    const phase = this.machine.status();
    if (phase === 'failed') return `join failed: ${this.machine.joinError()?.code ?? 'unknown'}`;
    if (this.parts.formAllowed === false) return 'not joined yet: rejoining through its seeds and last-known members; a former member does not form a new cluster';
    return 'not joined yet: trying its seeds';
  }

  registerHealthCheck(name: string, check: HealthCheck): () => void {
    return this.parts.checks.register(name, check);
  }

  /** Runs the checks and keeps the `health` tag in step (from the health monitor's tick). */
  refreshHealthTag(): void {
    if (this.machine.status() !== 'running') return;
    const results = this.parts.checks.evaluate();
    const worst = worstOf(results);
    // An unhealthy check reports this node suspect cluster-wide until it passes again.
    const failed = Object.entries(results).filter(([, r]) => r.status === 'unhealthy').map(([name, r]) => (r.detail === undefined ? name : `${name}: ${r.detail}`));
    this.machine.reportHealth(worst !== 'unhealthy', this.clock(), failed.join('; '));
    const wanted = worst === 'healthy' ? undefined : worst;
    const current = this.machine.localState().tags[HEALTH_TAG];
    if (wanted === current) return;
    if (wanted === undefined) this.machine.removeTag(HEALTH_TAG);
    else this.machine.updateTag(HEALTH_TAG, wanted);
    this.log.info({ health: worst }, 'health changed');
  }

  stats(): NodeStats {
    let transport: TransportStats | undefined;
    try {
      transport = this.parts.transport.stats();
    } catch {
      transport = undefined;
    }
    return {
      nodeId: this.nodeId,
      address: this.address,
      state: this.lifecycle,
      health: this.health().status,
      membership: this.machine.stats(),
      transport,
      driver: this.driver!.stats(),
      quorum: this.quorum(),
    };
  }

  leave(): Promise<void> {
    this.leaving ??= this.runLeave();
    return this.leaving;
  }

  stop(): Promise<void> {
    return this.close(false);
  }

  private async runLeave(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const { drainTimeoutMs, leaveTimeoutMs } = this.parts.config.lifecycle;
    this.lifecycle = 'leaving';
    this.log.info({ drainTimeoutMs, leaveTimeoutMs }, 'leaving the cluster');
    await this.parts.services.drainAll(this.clock() + drainTimeoutMs, drainTimeoutMs);
    if (this.closing !== undefined) return this.closing;
    this.machine.leave(this.clock());
    this.driver?.kick();
    const left = (await this.driver?.until(() => this.machine.hasLeft(), leaveTimeoutMs)) ?? false;
    if (!left && this.closing === undefined) this.log.warn({ leaveTimeoutMs }, 'leave not confirmed in time; closing anyway');
    await this.close(true);
    this.log.info({}, 'left the cluster');
  }

  private close(flush: boolean): Promise<void> {
    this.closing ??= this.runClose(flush);
    return this.closing;
  }

  private async runClose(flush: boolean): Promise<void> {
    const { closeTimeoutMs } = this.parts.config.lifecycle;
    if (this.lifecycle !== 'leaving') this.lifecycle = 'leaving';
    await this.driver?.close(flush, closeTimeoutMs);
    await this.parts.services.stopAll(closeTimeoutMs);
    const outcome = await waitBounded(this.parts.transport.close(), closeTimeoutMs);
    if (outcome === 'timeout') this.log.warn({ closeTimeoutMs }, 'transport did not close in time');
    if (this.parts.recorder !== undefined && (await waitBounded(this.parts.recorder.flush(), closeTimeoutMs)) === 'timeout') this.log.warn({ closeTimeoutMs }, 'membership record not flushed in time');
    this.lifecycle = 'stopped';
    this.events.closeAll();
    this.log.info({}, 'node stopped');
  }

  private checkTagKey(key: string): void {
    if (key === HEALTH_TAG) throw new FlotillaError('FLO_INVALID_ARGUMENT', `tag "${HEALTH_TAG}" is reserved: register a health check instead`);
  }
}
