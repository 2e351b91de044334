import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as protocol from '../../src/protocol/index.js';

describe('protocol index', () => {
  it('exposes the codec, limits, packing, forwarding and framing', () => {
    const frame = protocol.frame(protocol.encode({ type: 'Nack', seqNo: 3, from: 'n1' }));
    const [payload] = new protocol.FrameDecoder().push(frame);
    expect(protocol.decode(payload!)).toEqual({ type: 'Nack', seqNo: 3, from: 'n1' });
    expect(protocol.GOSSIP_MESSAGE_BYTES_MAX).toBe(4096);
    expect(protocol.UDP_DATAGRAM_BUDGET_BYTES).toBe(1400);
    expect(protocol.MAX_FORWARD_HOPS).toBe(3);
    expect(protocol.PROTOCOL_VERSION).toBe(2);
    for (const name of ['encodedSize', 'encodedUpdateSize', 'fillUpdates', 'UpdateBudget', 'forwardOp', 'canForward', 'messageTypeOfCode']) {
      expect(typeof (protocol as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('stays isomorphic: no Node built-ins or Buffer in src/protocol', () => {
    const dir = new URL('../../src/protocol/', import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const code = readFileSync(new URL(file, dir), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/from ['"]node:|require\(|\bBuffer\b|\bprocess\b/);
    }
  });
});
