/**
 * Times a network split from the cut on, for the split scenarios: when each minority node
 * lost its majority, turned read-only, had its first write refused and its last write
 * acknowledged, and when the whole majority held the minority dead. The quorum verdict is
 * polled after every virtual instant (the sharding layer's write gate asks the same
 * `isReadOnly(now)`), writes are taken from the clients' records and the KV owner
 * handlers' reports, so what the clients saw and what the owners did can be told apart.
 */
import type { Millis } from '../../src/core/clock.js';
import type { NodeId } from '../../src/core/model.js';
import type { SwimConfig } from '../../src/membership/config.js';
import type { Checks } from '../scenario.js';
import type { AckedWrite, RefusedWrite } from './kv-workload.js';
import type { ShardNode } from './shard-simulation.js';

/** Room for the side's news to cross one simulated link (latency plus jitter), ms. */
export const SIDE_NEWS_MS = 10;

/**
 * The latest, after a cut, by which every minority node of an `nodes`-node cluster
 * refuses writes. A node probes the other `nodes - 1` members in a shuffled round-robin,
 * one per `probeIntervalMs`, so it probes each of them within `2 (nodes - 1) - 1` periods
 * of any moment (in the worst case a member probed just before the cut comes last in the
 * next round), and a probe's verdict comes one period after it starts (the timeout plus
 * the indirect window, while the adaptive timeout stays at or below `probeTimeoutMs`, as
 * it does over the simulator's millisecond links, and local health does not stretch it:
 * on the minority side the other minority node answers as a helper). By then it suspects
 * every member across the cut and has lost its majority; the first node of a side to see
 * that tells the others (`SIDE_NEWS_MS`); `quorumGraceMs` later they turn read-only.
 * For 5 nodes with the defaults: 8 s + 1 s + 10 ms.
 */
export function readOnlyBoundMs(nodes: number, config: Pick<SwimConfig, 'probeIntervalMs' | 'quorumGraceMs'>): number {
  return 2 * (nodes - 1) * config.probeIntervalMs + SIDE_NEWS_MS + config.quorumGraceMs;
}

/** What one minority node did after the cut, ms after it; null when it did not happen. */
export interface MinorityTimes {
  /** Its live count first fell below a majority (the detector's `suspect`). */
  lostMajorityMs: number | null;
  /** `isReadOnly` first held (the write gate closed). */
  readOnlyMs: number | null;
  /** A client first heard FLO_READ_ONLY for a write sent through it. */
  firstRefusedMs: number | null;
  /** The last write acknowledged to a client that sent it through this node. */
  lastAckedMs: number | null;
  /** The last write its KV owner handler accepted (it ran past the gate then). */
  lastServedMs: number | null;
}

/** The split's timings for one run. */
export class SplitWatch {
  private readonly times = new Map<NodeId, MinorityTimes>();
  private majorityDeadMs: number | null = null;
  /** The last write each node's owner handler accepted, virtual time. */
  private readonly lastServedAt = new Map<NodeId, Millis>();
  private closed = false;
  /** The minority's master at the heal (the other minority node is its member). */
  private master: ShardNode | undefined;

  constructor(
    private readonly cutAt: Millis,
    private readonly minority: readonly ShardNode[],
    private readonly majority: readonly ShardNode[],
  ) {
    for (const n of minority) this.times.set(n.nodeId, { lostMajorityMs: null, readOnlyMs: null, firstRefusedMs: null, lastAckedMs: null, lastServedMs: null });
  }

  /** A KV owner handler on `node` accepted a write at `at` (until `close`). */
  onServed(node: NodeId, at: Millis): void {
    if (!this.closed && at >= this.cutAt) this.lastServedAt.set(node, at);
  }

  /** Called after every virtual instant of the split. */
  observe(now: Millis): void {
    if (this.closed) return;
    const since = now - this.cutAt;
    for (const n of this.minority) {
      const t = this.times.get(n.nodeId)!;
      if (n.state !== 'up') continue;
      if (t.lostMajorityMs === null && n.machine.swim.quorumState(now).minority) t.lostMajorityMs = since;
      if (t.readOnlyMs === null && n.machine.swim.isReadOnly(now)) t.readOnlyMs = since;
    }
    if (this.majorityDeadMs === null && this.majority.every((m) => this.minority.every((n) => isDeadTo(m, n.nodeId)))) this.majorityDeadMs = since;
  }

  /** The split is over (the heal): take the clients' records up to now and stop watching. */
  close(acked: Iterable<AckedWrite>, refused: Iterable<RefusedWrite>): void {
    if (this.closed) return;
    this.closed = true;
    this.master = this.minority.find((n) => n.state !== 'down' && n.machine.swim.isMaster());
    for (const w of acked) {
      const t = this.times.get(w.via);
      if (t === undefined || w.ackedAt < this.cutAt) continue;
      t.lastAckedMs = Math.max(t.lastAckedMs ?? 0, w.ackedAt - this.cutAt);
    }
    for (const w of refused) {
      const t = this.times.get(w.via);
      if (t === undefined || w.refusedAt < this.cutAt) continue;
      t.firstRefusedMs = Math.min(t.firstRefusedMs ?? Infinity, w.refusedAt - this.cutAt);
    }
    for (const [node, at] of this.lastServedAt) {
      const t = this.times.get(node);
      if (t !== undefined) t.lastServedMs = at - this.cutAt;
    }
  }

  /**
   * Every minority node turned read-only within `boundMs` of the cut, and none accepted a
   * write after it (its owner handler ran a write that had passed the read-only gate
   * later): the majority may hand the minority's partitions to new owners soon after.
   */
  check(checks: Checks, boundMs: number): void {
    for (const n of this.minority) {
      const t = this.of(n.nodeId);
      checks.check(t.readOnlyMs !== null && t.readOnlyMs <= boundMs, `minority node ${n.nodeId} turned read-only ${t.readOnlyMs ?? 'never'} ms after the cut, over the bound of ${boundMs} ms`);
      checks.check(t.lastServedMs === null || t.lastServedMs <= boundMs, `minority node ${n.nodeId} accepted a write ${t.lastServedMs} ms after the cut, over the bound of ${boundMs} ms`);
    }
  }

  /** One minority node's times. */
  of(nodeId: NodeId): Readonly<MinorityTimes> {
    const t = this.times.get(nodeId);
    if (t === undefined) throw new Error(`${nodeId} is not in the minority`);
    return t;
  }

  /** When every majority node held every minority node dead, ms after the cut. */
  get majorityHoldsMinorityDeadMs(): number | null {
    return this.majorityDeadMs;
  }

  /**
   * The measurements, named by role: the minority's master is the minority node that
   * held itself master at the heal (`close`; the first minority node if none did), the
   * other is its member.
   */
  measurements(): Record<string, number | null> {
    const master = this.master ?? this.minority[0]!;
    const member = this.minority.find((n) => n !== master)!;
    const out: Record<string, number | null> = { majorityHoldsMinorityDeadMs: this.majorityDeadMs };
    for (const [role, node] of [['Master', master], ['Member', member]] as const) {
      const t = this.of(node.nodeId);
      out[`minority${role}LostMajorityMs`] = t.lostMajorityMs;
      out[`minority${role}ReadOnlyMs`] = t.readOnlyMs;
      out[`minority${role}FirstRefusedMs`] = t.firstRefusedMs;
      out[`minority${role}LastAckedMs`] = t.lastAckedMs;
      out[`minority${role}LastServedMs`] = t.lastServedMs;
    }
    return out;
  }
}

/** Whether `observer` holds `nodeId` dead (or has forgotten it). */
function isDeadTo(observer: ShardNode, nodeId: NodeId): boolean {
  if (observer.state === 'down') return true;
  const state = observer.machine.swim.member(nodeId)?.state;
  return state === undefined || state === 'dead' || state === 'left';
}
