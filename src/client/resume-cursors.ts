/**
 * Resume cursors of the client's subscriptions: per subscription and partition, the HLC
 * millis up to which the client holds every change (a node's resume mark). A
 * (re)subscription sends the cursor and the node replays what lies above it. A mark is
 * taken only from a node that covered the partition for this subscription: one whose
 * SUBSCRIBE answer listed it (it owned the partition and replayed it from the cursor
 * sent). After a failover the promoted owner's marks speak only of its own writes, not of
 * the ones its predecessor acknowledged and the client missed, so they wait until a
 * resubscription to it (on the map change) has replayed the partition.
 */

interface SubCursor {
  readonly cursor: Map<number, number>;
  /** Per connection (URL): partitions whose marks it may advance. */
  readonly trusted: Map<string, Set<number>>;
}

/** The cursors of every subscription. */
export class ResumeCursors {
  private readonly bySub = new Map<number, SubCursor>();

  /** The cursor to send with subscription `id`: null until some node answered it (a fresh subscription, nothing to replay). */
  since(id: number): ReadonlyMap<number, number> | null {
    const held = this.bySub.get(id);
    return held === undefined ? null : new Map(held.cursor);
  }

  /** Node `conn` answered a SUBSCRIBE of `id` with the marks of the partitions it owns. */
  subscribed(id: number, conn: string, marks: readonly (readonly [number, number])[]): void {
    let held = this.bySub.get(id);
    if (held === undefined) this.bySub.set(id, (held = { cursor: new Map(), trusted: new Map() }));
    const trusted = new Set<number>();
    for (const [partition, millis] of marks) {
      trusted.add(partition);
      this.advance(held, partition, millis);
    }
    held.trusted.set(conn, trusted);
  }

  /** An event of `id` from `conn` carried `mark`; true when it advanced the cursor. */
  marked(id: number, conn: string, partition: number, millis: number): boolean {
    const held = this.bySub.get(id);
    if (held?.trusted.get(conn)?.has(partition) !== true) return false;
    return this.advance(held, partition, millis);
  }

  /** The connection to `conn` was lost: its marks count again only after its next SUBSCRIBE answer. */
  lost(conn: string): void {
    for (const held of this.bySub.values()) held.trusted.delete(conn);
  }

  /** Owners may have moved: no connection's marks count until its next SUBSCRIBE answer. */
  lostAll(): void {
    for (const held of this.bySub.values()) held.trusted.clear();
  }

  /** Subscription `id` ended. */
  forget(id: number): void {
    this.bySub.delete(id);
  }

  private advance(held: SubCursor, partition: number, millis: number): boolean {
    if ((held.cursor.get(partition) ?? -1) >= millis) return false;
    held.cursor.set(partition, millis);
    return true;
  }
}
