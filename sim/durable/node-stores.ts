/**
 * One shared, fenced store seen by every simulated node through its own view. A view can
 * die: from then on nothing it is asked ever answers, as for a process that was killed
 * (its in-flight work can neither learn an outcome nor write more). Every applied durable
 * commit is reported with its writer, so a scenario can crash a node right after a commit
 * boundary and check what was journaled when.
 */
import type { NodeId } from '../../src/core/model.js';
import type { CommitResult, DurableCommit } from '../../src/storage/durable.js';
import type { Storage } from '../../src/storage/storage.js';

/** Told of each commit that applied (in transaction order); `dies()` kills the writer's view at once. */
export type CommitObserver = (writer: NodeId, commit: DurableCommit, dies: () => void) => void;

function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/** The views of one shared store, by node. */
export class NodeStores {
  private readonly dead = new Set<NodeId>();
  private readonly views = new Map<NodeId, Storage>();

  constructor(
    readonly shared: Storage,
    private readonly observe: CommitObserver,
  ) {}

  /** The view of `nodeId` (one per node, kept across calls). */
  view(nodeId: NodeId): Storage {
    let view = this.views.get(nodeId);
    if (view === undefined) {
      view = this.makeView(nodeId);
      this.views.set(nodeId, view);
    }
    return view;
  }

  /** Kill `nodeId`'s view: nothing it is asked answers again. */
  kill(nodeId: NodeId): void {
    this.dead.add(nodeId);
  }

  isDead(nodeId: NodeId): boolean {
    return this.dead.has(nodeId);
  }

  private makeView(nodeId: NodeId): Storage {
    const shared = this.shared;
    const commitDurable = async (commits: readonly DurableCommit[]): Promise<CommitResult[]> => {
      if (this.dead.has(nodeId)) return never();
      const results = await shared.commitDurable(commits);
      // What applied is in the store, even if the writer died meanwhile.
      commits.forEach((c, i) => {
        if (results[i]?.ok === true) this.observe(nodeId, c, () => this.kill(nodeId));
      });
      return this.dead.has(nodeId) ? never() : results;
    };
    return new Proxy(shared, {
      get: (target, prop, receiver) => {
        if (prop === 'commitDurable') return commitDurable;
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          if (this.dead.has(nodeId)) return never();
          const out: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (!(out instanceof Promise)) return out;
          return out.then((v: unknown) => (this.dead.has(nodeId) ? never() : v));
        };
      },
    });
  }
}
