import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as limits from '../../src/protocol/limits.js';
import { DATAGRAM_MESSAGE_TYPES, MESSAGE_TYPE_CODES } from '../../src/protocol/type-codes.js';
import type { MessageType } from '../../src/protocol/messages.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md', () => {
  it('lists exactly the type codes of the code, with their class', () => {
    const rows = [...doc.matchAll(/^\| (\d+) \| (\w+) \| (datagram|stream) \|/gm)].map((m) => [m[2], Number(m[1]), m[3]]);
    const expected = (Object.keys(MESSAGE_TYPE_CODES) as MessageType[]).map((type) => [
      type,
      MESSAGE_TYPE_CODES[type],
      DATAGRAM_MESSAGE_TYPES.has(type) ? 'datagram' : 'stream',
    ]);
    expect(rows).toEqual(expected);
  });

  it('lists every limit with its value', () => {
    const rows = Object.fromEntries([...doc.matchAll(/^\| `(\w+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]));
    expect(rows).toEqual({ ...limits });
  });
});
