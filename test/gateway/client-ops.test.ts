// What a client hears when the node's routing gave up on its op: the last refusal when
// nothing ran, the timeout itself when an attempt may have run.
import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import { errorFrame } from '../../src/gateway/client-ops.js';

const ctx = { table: () => ({ version: 7, partitionCount: 271, owner: () => 'n1' }), clientMap: () => undefined };
const refused = new FlotillaError('FLO_TOO_FEW_COPIES', 'partition 3 has 1 live copy, kv.writeCopiesMin asks for 2', { partition: 3 });

describe('the ERROR frame of an op routing gave up on', () => {
  it('carries the last refusal when no attempt may have run', () => {
    const timeout = new FlotillaError('FLO_TIMEOUT', 'kv operation on partition 3 did not complete', { partition: 3, lastError: refused.code, lastMessage: refused.message });
    expect(errorFrame(ctx, 5, 'k', timeout)).toEqual({ type: 'ERROR', id: 5, code: 'FLO_TOO_FEW_COPIES', message: refused.message, owner: null, mapVersion: 7 });
  });

  it('stays FLO_TIMEOUT when an attempt may have run, or when the last answer was a timeout too', () => {
    const unknown = new FlotillaError('FLO_TIMEOUT', 'x', { lastError: 'FLO_TOO_FEW_COPIES', lastMessage: refused.message, outcomeUnknown: true });
    expect(errorFrame(ctx, 5, 'k', unknown)).toMatchObject({ code: 'FLO_TIMEOUT', message: unknown.message });
    const silent = new FlotillaError('FLO_TIMEOUT', 'x', { lastError: 'FLO_TIMEOUT', lastMessage: 'Operation timed out' });
    expect(errorFrame(ctx, 5, 'k', silent)).toMatchObject({ code: 'FLO_TIMEOUT' });
    const nothing = new FlotillaError('FLO_TIMEOUT', 'x', {});
    expect(errorFrame(ctx, 5, 'k', nothing)).toMatchObject({ code: 'FLO_TIMEOUT' });
    const odd = new FlotillaError('FLO_TIMEOUT', 'x', { lastError: 'FLO_NOT_A_CODE' });
    expect(errorFrame(ctx, 5, 'k', odd)).toMatchObject({ code: 'FLO_TIMEOUT' });
  });
});
