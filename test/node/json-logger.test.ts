import { describe, expect, it } from 'vitest';
import { createJsonLogger, type JsonLogLevel } from '../../src/node/json-logger.js';

function capture(level?: JsonLogLevel) {
  const lines: string[] = [];
  const log = createJsonLogger({ level, base: { nodeId: 'n1' }, write: (line) => lines.push(line), now: () => 1_000 });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createJsonLogger', () => {
  it('writes one pino-format line per event: level number, time, bindings, fields, msg', () => {
    const { log, lines, parsed } = capture();
    log.info({ member: 'n2', count: 3 }, 'member joined');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(parsed()[0]).toEqual({ level: 30, time: 1_000, nodeId: 'n1', member: 'n2', count: 3, msg: 'member joined' });
  });

  it('drops lines below its level and writes nothing when silent', () => {
    const warn = capture('warn');
    warn.log.info({}, 'quiet');
    warn.log.debug({}, 'quieter');
    warn.log.warn({}, 'loud');
    warn.log.error({}, 'louder');
    expect(warn.parsed().map((l) => l.level)).toEqual([40, 50]);
    const silent = capture('silent');
    silent.log.error({}, 'never');
    expect(silent.lines).toHaveLength(0);
  });

  it('children add their bindings to every line', () => {
    const { log, parsed } = capture();
    log.child({ component: 'admin' }).child({ request: 7 }).warn({ status: 503 }, 'slow');
    expect(parsed()[0]).toMatchObject({ nodeId: 'n1', component: 'admin', request: 7, status: 503, level: 40 });
  });

  it('serialises errors, bigints and cycles without throwing', () => {
    const { log, parsed } = capture();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const err = Object.assign(new Error('boom'), { code: 'FLO_TIMEOUT' });
    log.error({ err, big: 12n, cyclic, gone: undefined }, 'failed "quoted"\nline');
    const line = parsed()[0]!;
    expect(line.err).toMatchObject({ type: 'Error', message: 'boom', code: 'FLO_TIMEOUT' });
    expect(line.big).toBe('12');
    expect(line.cyclic).toEqual({ a: 1, self: '[Circular]' });
    expect('gone' in line).toBe(false);
    expect(line.msg).toBe('failed "quoted"\nline');
  });
});
