/**
 * SWIM's probe order: a shuffled round-robin list of the other members. Every member is
 * probed once per round (bounded detection time, unlike uniform random picks), the list
 * is reshuffled each round, and a new member is inserted at a random position so the
 * order stays unpredictable.
 */
import type { NodeId } from '../core/model.js';
import { shuffleInPlace, type Random } from '../core/random.js';

/** Shuffled round-robin over node ids. */
export class ProbeOrder {
  private ids: NodeId[] = [];
  private readonly present = new Set<NodeId>();
  private index = 0;

  constructor(private readonly random: Random) {}

  /** Ids in the current round's list (probeable or not). */
  get size(): number {
    return this.ids.length;
  }

  /** Adds `id` at a random position unless it is already listed. */
  add(id: NodeId): void {
    if (this.present.has(id)) return;
    this.present.add(id);
    const position = this.random.int(this.ids.length + 1);
    this.ids.splice(position, 0, id);
    if (position < this.index) this.index++;
  }

  /**
   * The next id for which `probeable` holds, reshuffling (and dropping ids for which
   * `keep` fails) at the end of each round. Undefined when no id is probeable.
   */
  next(probeable: (id: NodeId) => boolean, keep: (id: NodeId) => boolean): NodeId | undefined {
    let reshuffled = false;
    for (let visited = 0; ; visited++) {
      if (this.index >= this.ids.length) {
        if (reshuffled) return undefined;
        this.reshuffle(keep);
        reshuffled = true;
        if (this.ids.length === 0) return undefined;
      }
      const id = this.ids[this.index++]!;
      if (probeable(id)) return id;
      if (visited > 2 * this.ids.length + 1) return undefined;
    }
  }

  private reshuffle(keep: (id: NodeId) => boolean): void {
    const kept = this.ids.filter(keep);
    for (const id of this.ids) if (!keep(id)) this.present.delete(id);
    this.ids = shuffleInPlace(kept, this.random);
    this.index = 0;
  }
}
