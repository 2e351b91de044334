/**
 * The `versioned` trait: counts the entity's changes and gives callers optimistic
 * concurrency. A caller reads `version()`, then calls through `expectVersion(ref, v)`; the
 * call is refused with FLO_VERSION_CONFLICT when another change landed in between.
 */
import { FlotillaError } from '../core/errors.js';
import type { AnyEntityDefinition } from './definition.js';
import type { TraitContext } from './context.js';
import type { EntityRef } from './ref.js';
import { withCallMeta } from './ref.js';
import { defineTrait } from './trait.js';

/** The `versioned` trait's state slice. */
export interface VersionState {
  version: number;
}

/** The call metadata key the `versioned` trait checks. */
export const EXPECTED_VERSION_META = 'expectedVersion';

/** The `versioned` trait: adds `version()` to the ref. */
export function versioned() {
  return defineTrait('versioned', {
    state: (): VersionState => ({ version: 0 }),
    handlers: {
      version(ctx: TraitContext<VersionState>): number {
        return ctx.state.version;
      },
    },
    beforeCall(ctx, call) {
      const expected = call.meta[EXPECTED_VERSION_META];
      if (expected === undefined) return;
      if (typeof expected !== 'number') throw new FlotillaError('FLO_INVALID_ARGUMENT', 'expectedVersion must be a number');
      if (expected !== ctx.state.version) {
        throw new FlotillaError('FLO_VERSION_CONFLICT', `expected version ${expected}, entity is at ${ctx.state.version}`, {
          expectedVersion: expected,
          version: ctx.state.version,
        });
      }
    },
    afterCall(ctx, outcome) {
      if (outcome.changed) ctx.state.version += 1;
    },
  });
}

/** A copy of `ref` whose calls are refused with FLO_VERSION_CONFLICT unless the entity is at `version`. */
export function expectVersion<D extends AnyEntityDefinition>(ref: EntityRef<D>, version: number): EntityRef<D> {
  return withCallMeta(ref, { [EXPECTED_VERSION_META]: version });
}
