/**
 * Injected time. State machines receive `now` as a parameter; components that need to
 * ask for the time (the HLC, drivers) take a `Clock` so tests and the simulator control it.
 */

/** Milliseconds since the Unix epoch (or since simulation start under the simulator). */
export type Millis = number;

/** A source of the current time. */
export interface Clock {
  now(): Millis;
}

/** A clock that only moves when told to: for tests and the simulator. */
export class ManualClock implements Clock {
  private current: Millis;

  constructor(start: Millis = 0) {
    this.current = start;
  }

  now(): Millis {
    return this.current;
  }

  /** Move time forward by `ms`; time never goes backwards. */
  advance(ms: Millis): Millis {
    if (ms < 0) throw new RangeError('ManualClock cannot go backwards');
    this.current += ms;
    return this.current;
  }

  set(to: Millis): void {
    if (to < this.current) throw new RangeError('ManualClock cannot go backwards');
    this.current = to;
  }
}
