/**
 * The driver's sends: hands each transmit to the transport, counts failures by code,
 * logs them rate-limited (an unreachable peer quietly, a message that cannot be sent at
 * all loudly), and tells the driver when a join was refused for the secret so the join
 * fails at once. Also waits, bounded, for the sends in flight before the sockets close.
 */
import type { Millis } from '../core/clock.js';
import { ErrorCatalog, isFlotillaError } from '../core/errors.js';
import type { Transmit } from '../core/machine.js';
import type { Address } from '../core/model.js';
import type { JoinResponse, Message } from '../protocol/messages.js';
import type { ClusterTransport } from '../transport/transport.js';
import type { LogLimiter } from './log-limiter.js';
import type { NodeLogger } from './service.js';

/** Send failures that mean the peer is unreachable, not that the message was wrong. */
const PEER_FAILURES: ReadonlySet<string> = new Set(['FLO_CONNECTION_FAILED', 'FLO_TIMEOUT']);

/** Sends in flight and their failures. */
export class Outbound {
  /** Failed sends by error code. */
  readonly errors: Record<string, number> = {};
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];

  /** @param onJoinRefused a join was refused by the seed's secret check: deliver this answer as if the seed sent it. */
  constructor(
    private readonly transport: ClusterTransport,
    private readonly limiter: LogLimiter,
    private readonly log: NodeLogger,
    private readonly onJoinRefused: (from: Address, response: JoinResponse) => void,
  ) {}

  send(transmit: Transmit<Message>, now: Millis): void {
    this.inFlight++;
    this.transport.send(transmit).then(
      () => this.settled(),
      (err: unknown) => {
        this.settled();
        this.failed(transmit, err, now);
      },
    );
  }

  /** Resolves once no send is in flight, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private settled(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private failed(transmit: Transmit<Message>, err: unknown, now: Millis): void {
    const code = isFlotillaError(err) ? err.code : 'error';
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    if (code === 'FLO_NODE_STOPPED') return;
    if (code === 'FLO_AUTH_FAILED' && transmit.message.type === 'JoinRequest') {
      // The seed and this node do not prove the same cluster secret to each other: as final
      // an answer as a master refusing the join token, so the join fails with it at once.
      const prefix = `${ErrorCatalog[code].message}: `;
      const message = err instanceof Error ? err.message : String(err);
      const reason = message.startsWith(prefix) ? message.slice(prefix.length) : message;
      this.onJoinRefused(transmit.to, { type: 'JoinResponse', accepted: false, rejectCode: code, reason });
    }
    const suppressed = this.limiter.allow(`send|${transmit.to}|${code}`, now);
    if (suppressed === undefined) return;
    const fields = { to: transmit.to, channel: transmit.channel, type: transmit.message.type, code, error: err instanceof Error ? err.message : String(err), suppressed };
    // An unreachable peer is the failure detector's business (and the transport warns of
    // it once); a message that cannot be sent at all is a bug worth a warning.
    if (PEER_FAILURES.has(code)) this.log.debug(fields, 'send failed');
    else this.log.warn(fields, 'send failed');
  }
}
