/**
 * Which worker serves a session: the one it has while that worker stays available, else
 * the next available worker round-robin. Pure bookkeeping (no I/O, no clock), so the
 * rule is tested on its own.
 */

/** Most sessions remembered; the oldest assignment is forgotten first. */
export const SESSIONS_MAX = 10_000;

export class Assigner {
  /** Session id -> worker node id, oldest first (Map keeps insertion order). */
  private readonly sessions = new Map<string, string>();
  /** Node id of the worker picked last by round-robin. */
  private cursor: string | undefined;

  /**
   * The worker for `session` among `available` (node ids), skipping `excluded` (workers
   * that already failed this request); undefined when none is left.
   */
  pick(session: string, available: readonly string[], excluded: ReadonlySet<string> = new Set()): string | undefined {
    const usable = [...new Set(available)].filter((w) => !excluded.has(w)).sort();
    const current = this.sessions.get(session);
    if (current !== undefined && usable.includes(current)) return current;
    if (usable.length === 0) return undefined;
    const next = usable.find((w) => this.cursor === undefined || w > this.cursor) ?? usable[0]!;
    this.cursor = next;
    this.sessions.delete(session);
    this.sessions.set(session, next);
    if (this.sessions.size > SESSIONS_MAX) this.sessions.delete(this.sessions.keys().next().value!);
    return next;
  }

  /** The worker `session` is assigned to, if any. */
  assigned(session: string): string | undefined {
    return this.sessions.get(session);
  }
}
