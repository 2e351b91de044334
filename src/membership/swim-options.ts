/**
 * What a `SwimMachine` is built from: this node, its cluster and seeds, the injected
 * randomness and construction time, configuration overrides, wire sizers, and the join
 * credential hooks, with the defaults of the optional ones.
 */
import type { Millis } from '../core/clock.js';
import type { Address, NodeInfo } from '../core/model.js';
import type { Random } from '../core/random.js';
import type { AuthTokenMaker, JoinVerifier } from './admission.js';
import type { SwimConfig } from './config.js';
import type { MessageSizer, UpdateSizer } from './size.js';

/** Everything a `SwimMachine` needs. */
export interface SwimMachineOptions {
  /** This node: id, cluster address, client address, initial tags. */
  readonly self: NodeInfo;
  /** Joins are refused across clusters with different ids. */
  readonly clusterId: string;
  /** Addresses to join through; may include this node's own address. */
  readonly seeds: readonly Address[];
  /**
   * Whether this node may start a new cluster when no seed admits it (default true).
   * False for a node that was a member before: it keeps trying its seeds and gives up
   * with FLO_REJOIN_NO_PEERS rather than form a cluster of its own beside a running one;
   * it forms only with a former peer that answers "still joining" (a whole-cluster restart).
   */
  readonly formAllowed?: boolean;
  readonly random: Random;
  /** Construction time: the initial incarnation derives from it. */
  readonly now: Millis;
  readonly config?: Partial<SwimConfig>;
  /** Encoded size of one gossip update (default: a conservative estimate). */
  readonly sizeOf?: UpdateSizer;
  /** Encoded size of one message (default: a conservative estimate). */
  readonly sizeOfMessage?: MessageSizer;
  /** Checks a joiner's credentials when this node is master (default: accept). */
  readonly verifyJoin?: JoinVerifier;
  /** Makes this node's JoinRequest auth token (default: empty). */
  readonly makeAuthToken?: AuthTokenMaker;
}

/** The default `verifyJoin`: accepts every joiner (the node layer checks the cluster secret). */
export const acceptAll: JoinVerifier = () => ({ ok: true });

/** The default `makeAuthToken`: an empty token. */
export const noToken: AuthTokenMaker = () => '';
