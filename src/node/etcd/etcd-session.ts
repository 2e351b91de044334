/**
 * The runner's etcd session: a lease kept alive, with the runner's registration bound to
 * it. The session is attached while the lease is surely alive in etcd (the last
 * acknowledged keep-alive was sent less than TTL minus a margin ago) and detached
 * otherwise; once detached it registers again under a new lease as soon as etcd answers.
 */
import type { NodeLogger } from '../service.js';
import type { EtcdConfig } from './etcd-config.js';
import type { EtcdStore, RunnerRecord } from './etcd-store.js';

/** Who the session registers. */
export interface RunnerIdentity {
  readonly nodeId: string;
  readonly address: string;
}

/** Told of every change of the session's state. */
export interface SessionListener {
  attached(leaseId: string): void;
  detached(reason: string): void;
}

/** Counters of a session's life, for logs, the admin API and tests. */
export interface SessionStats {
  readonly attached: boolean;
  readonly leaseId: string | undefined;
  readonly registrations: number;
  readonly detachments: number;
  readonly keepAlivesFailed: number;
}

/** A lease, its keep-alives and the registration on it. */
export class EtcdSession {
  private leaseId: string | undefined;
  private attachedFlag = false;
  /** Local time until which the lease is surely alive in etcd. */
  private validUntil = 0;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private registrations = 0;
  private detachments = 0;
  private keepAlivesFailed = 0;
  private listener: SessionListener | undefined;

  constructor(
    private readonly store: EtcdStore,
    private readonly config: EtcdConfig,
    private readonly self: RunnerIdentity,
    private readonly log: NodeLogger,
  ) {}

  /** Who hears of attach and detach (set once, before anything can change). */
  listen(listener: SessionListener): void {
    this.listener = listener;
  }

  /** True while the lease is surely alive: read on every write, so it checks the time too. */
  get attached(): boolean {
    return this.attachedFlag && Date.now() < this.validUntil;
  }

  /** The current lease, while attached. */
  get lease(): string | undefined {
    return this.attached ? this.leaseId : undefined;
  }

  /** Grant the first lease and register. @throws FlotillaError FLO_ETCD_UNAVAILABLE */
  async open(): Promise<void> {
    await this.register();
  }

  /** Runners registered before this one (the peers it joins), oldest first. */
  async earlierRunners(): Promise<RunnerRecord[]> {
    const all = await this.store.listRunners();
    const mine = all.find((r) => r.nodeId === this.self.nodeId);
    return all.filter((r) => r.nodeId !== this.self.nodeId && (mine === undefined || r.createRevision < mine.createRevision));
  }

  stats(): SessionStats {
    return { attached: this.attached, leaseId: this.lease, registrations: this.registrations, detachments: this.detachments, keepAlivesFailed: this.keepAlivesFailed };
  }

  /** Stop keeping the lease and revoke it, so the registration and locks go at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    clearTimeout(this.retryTimer);
    const lease = this.leaseId;
    this.attachedFlag = false;
    if (lease !== undefined) await this.store.revokeLease(lease).catch((error: unknown) => this.log.warn({ err: String(error) }, 'etcd lease not revoked on close; it expires by its TTL'));
  }

  private async register(): Promise<void> {
    const sentAt = Date.now();
    const lease = await this.store.grantLease(this.config.leaseTtlSec);
    try {
      await this.store.putRunner(lease, this.self.nodeId, this.self.address);
    } catch (error) {
      await this.store.revokeLease(lease).catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await this.store.revokeLease(lease).catch(() => undefined);
      return;
    }
    this.leaseId = lease;
    this.attachedFlag = true;
    this.registrations++;
    this.renewed(sentAt);
    this.scheduleKeepAlive();
    this.log.info({ lease, prefix: this.config.prefix, ttlSec: this.config.leaseTtlSec }, 'etcd: registered under a lease');
    this.listener?.attached(lease);
  }

  private renewed(sentAt: number): void {
    this.validUntil = sentAt + this.config.leaseTtlSec * 1_000 - this.config.detachMarginMs;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => this.detach('no keep-alive acknowledged in time'), Math.max(0, this.validUntil - Date.now()));
    this.expiryTimer.unref();
  }

  private scheduleKeepAlive(): void {
    this.keepAliveTimer = setTimeout(() => void this.keepAliveOnce(), this.config.keepAliveIntervalMs);
    this.keepAliveTimer.unref();
  }

  private async keepAliveOnce(): Promise<void> {
    const lease = this.leaseId;
    if (lease === undefined || !this.attachedFlag || this.closed) return;
    const sentAt = Date.now();
    try {
      const alive = await this.store.keepAlive(lease);
      if (lease !== this.leaseId || !this.attachedFlag || this.closed) return;
      if (!alive) {
        this.detach('etcd says the lease expired');
        return;
      }
      this.renewed(sentAt);
    } catch (error) {
      this.keepAlivesFailed++;
      this.log.warn({ err: String(error), validForMs: this.validUntil - Date.now() }, 'etcd keep-alive failed');
    }
    if (this.attachedFlag && !this.closed) this.scheduleKeepAlive();
  }

  private detach(reason: string): void {
    if (!this.attachedFlag || this.closed) return;
    this.attachedFlag = false;
    this.detachments++;
    this.clearTimers();
    this.log.warn({ reason, lease: this.leaseId }, 'etcd: lease lost; detached (writes refused, partitions handed over) until registered again');
    this.listener?.detached(reason);
    this.scheduleReattach();
  }

  private scheduleReattach(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => void this.reattach(), this.config.retryIntervalMs);
    this.retryTimer.unref();
  }

  private async reattach(): Promise<void> {
    if (this.closed || this.attachedFlag) return;
    try {
      // The old lease may live on in etcd (a restarted etcd renews its leases); its keys go with it.
      const old = this.leaseId;
      if (old !== undefined) await this.store.revokeLease(old);
      this.leaseId = undefined;
      await this.register();
    } catch (error) {
      this.log.debug({ err: String(error) }, 'etcd: not registered again yet');
      this.scheduleReattach();
    }
  }

  private clearTimers(): void {
    clearTimeout(this.keepAliveTimer);
    clearTimeout(this.expiryTimer);
  }
}
