/**
 * The `auditable` trait: records `{ action, data, timestamp }` for every call that changed
 * the entity's state, kept (bounded) in the entity's own stored state, and read back with
 * the `auditLog()` handler.
 */
import { FlotillaError } from '../core/errors.js';
import type { TraitContext } from './context.js';
import { defineTrait } from './trait.js';

/** One audit record. */
export interface AuditEntry {
  /** The handler that changed the state. */
  readonly action: string;
  /** Its arguments. */
  readonly data: readonly unknown[];
  /** When, ms (the runtime's clock). */
  readonly timestamp: number;
}

/** The `auditable` trait's state slice. */
export interface AuditState {
  entries: AuditEntry[];
}

/** Options of `auditable()`. */
export interface AuditableOptions {
  /** Most records kept; older ones are dropped first. Default 100. */
  readonly entriesMax?: number;
}

/** Default of `AuditableOptions.entriesMax`. */
export const AUDIT_ENTRIES_MAX_DEFAULT = 100;

/** The `auditable` trait: adds `auditLog()` to the ref. */
export function auditable(options: AuditableOptions = {}) {
  const entriesMax = options.entriesMax ?? AUDIT_ENTRIES_MAX_DEFAULT;
  if (!Number.isInteger(entriesMax) || entriesMax < 1) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'auditable: entriesMax must be a positive integer');
  return defineTrait('auditable', {
    state: (): AuditState => ({ entries: [] }),
    handlers: {
      auditLog(ctx: TraitContext<AuditState>): AuditEntry[] {
        return ctx.state.entries;
      },
    },
    afterCall(ctx, outcome) {
      if (!outcome.changed) return;
      ctx.state.entries.push({ action: outcome.handler, data: [...outcome.args], timestamp: ctx.now() });
      if (ctx.state.entries.length > entriesMax) ctx.state.entries.splice(0, ctx.state.entries.length - entriesMax);
    },
  });
}
