import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/protocol/codec.js';
import { canForward, forwardOp, isOpForward } from '../../src/protocol/forward.js';
import { MAX_FORWARD_HOPS } from '../../src/protocol/limits.js';
import type { OpForward } from '../../src/protocol/messages.js';
import { expectCode } from './helpers.js';

const ctx = { opId: 'op-1', partition: 42, origin: 'n1', opBytes: new Uint8Array([9, 8, 7]) };

describe('forwardOp', () => {
  it('wraps an original operation once, with hops = 1', () => {
    const f = forwardOp({ kind: 'map.put' }, ctx);
    expect(f).toEqual({ type: 'OpForward', opId: 'op-1', partition: 42, origin: 'n1', hops: 1, op: ctx.opBytes });
    expect(decode(encode(f))).toEqual(f);
  });

  it('raises hops on an OpForward instead of wrapping it, up to MAX_FORWARD_HOPS', () => {
    let f: OpForward = forwardOp(ctx.opBytes, ctx);
    const hops = [f.hops];
    while (canForward(f)) {
      const next = forwardOp(f);
      expect(next).not.toBe(f);
      expect(next.op).toBe(ctx.opBytes);
      expect({ ...next, hops: f.hops }).toEqual(f);
      f = next;
      hops.push(f.hops);
    }
    expect(hops).toEqual(Array.from({ length: MAX_FORWARD_HOPS }, (_, i) => i + 1));
    expectCode(() => forwardOp(f), 'FLO_INVALID_ARGUMENT');
    expectCode(() => forwardOp(f, ctx), 'FLO_INVALID_ARGUMENT');
  });

  it('checks the fields it is given', () => {
    expectCode(() => forwardOp('op', { ...ctx, origin: '' }), 'FLO_INVALID_ARGUMENT');
    expectCode(() => forwardOp('op', { ...ctx, partition: -1 }), 'FLO_INVALID_ARGUMENT');
    expectCode(() => forwardOp('op', undefined as unknown as typeof ctx), 'FLO_INVALID_ARGUMENT');
  });

  it('tells forwards from operations', () => {
    expect(isOpForward(forwardOp('x', ctx))).toBe(true);
    expect(isOpForward({ type: 'Ping' })).toBe(false);
    expect(isOpForward(null)).toBe(false);
  });
});
