/**
 * The error the simulator throws when a machine throws or misbehaves: it names the seed,
 * the virtual time and the node, which is all it takes to replay the failure.
 */
import type { Millis } from '../src/core/clock.js';
import type { NodeId } from '../src/core/model.js';

/** A machine threw, or misbehaved; carries where and when, and the seed to replay it. */
export class SimulationError extends Error {
  constructor(
    message: string,
    readonly seed: number,
    readonly at: Millis,
    readonly nodeId?: NodeId,
    options?: ErrorOptions,
  ) {
    super(`${message} (seed ${seed}, t=+${at}ms${nodeId === undefined ? '' : `, node ${nodeId}`})`, options);
    this.name = 'SimulationError';
  }
}
