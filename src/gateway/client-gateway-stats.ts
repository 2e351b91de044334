/**
 * What a client gateway counts for `/metrics`: connections, operations by outcome,
 * refused authentications and unreadable frames. Outcomes and refusal reasons are
 * catalogued error codes, so the label sets stay few however clients behave.
 */

/** The gateway's numbers at one moment. Counters are monotonic over the gateway's life. */
export interface ClientGatewayStats {
  /** Open connections, authenticated or not. */
  readonly connections: number;
  /** Connections past AUTH_ACK. */
  readonly authenticated: number;
  /** Map operations and entity calls answered, by outcome: `ok` or the ERROR frame's code. */
  readonly ops: Readonly<Record<string, number>>;
  /** Connections refused or closed by authentication (AUTH_FAIL sent), by code. */
  readonly authFailures: Readonly<Record<string, number>>;
  /** Frames of authenticated connections that could not be read (answered ERROR, the connection kept). */
  readonly framesRefused: number;
}

/** The gateway's counters. */
export class GatewayCounters {
  private opsOk = 0;
  private readonly opErrors = new Map<string, number>();
  private readonly authRefusals = new Map<string, number>();
  private refusedFrames = 0;

  opAnswered(): void {
    this.opsOk++;
  }

  opFailed(code: string): void {
    this.opErrors.set(code, (this.opErrors.get(code) ?? 0) + 1);
  }

  authFailed(code: string): void {
    this.authRefusals.set(code, (this.authRefusals.get(code) ?? 0) + 1);
  }

  frameRefused(): void {
    this.refusedFrames++;
  }

  snapshot(connections: number, authenticated: number): ClientGatewayStats {
    return {
      connections,
      authenticated,
      ops: { ok: this.opsOk, ...Object.fromEntries(this.opErrors) },
      authFailures: Object.fromEntries(this.authRefusals),
      framesRefused: this.refusedFrames,
    };
  }
}
