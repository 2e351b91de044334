/**
 * The shape every sans-IO protocol machine shares, in the quinn-proto style: inputs come
 * in through `handle*` and `tick` with the current time; outputs are drained with
 * `poll*`. The node driver and the simulator are the only callers, and they differ only
 * in where the time and the bytes come from.
 */
import type { Millis } from './clock.js';
import type { Address } from './model.js';

/** How a message travels: unreliable datagram, or reliable ordered stream. */
export type Channel = 'udp' | 'tcp';

/** A message the machine wants sent. */
export interface Transmit<M> {
  readonly to: Address;
  readonly channel: Channel;
  readonly message: M;
}

/**
 * A sans-IO state machine. Call order contract for drivers:
 * 1. deliver inputs with `handle(from, message, now, channel)`;
 * 2. when `now >= nextDeadline()`, call `tick(now)`;
 * 3. after either, drain `pollTransmit()` and `pollEvent()` until they return undefined.
 * The machine never reads a clock, sets a timer, or touches a socket.
 */
export interface SansIoMachine<M, E> {
  /**
   * `channel` is how the message arrived; a machine may answer on the same channel (a
   * machine that does not care ignores it; absent, the message type's usual channel).
   */
  handle(from: Address, message: M, now: Millis, channel?: Channel): void;
  tick(now: Millis): void;
  /** Earliest time at which `tick` has work to do, or undefined when idle. */
  nextDeadline(): Millis | undefined;
  pollTransmit(): Transmit<M> | undefined;
  pollEvent(): E | undefined;
}
