import { describe, expect, it } from 'vitest';
import { WarnOnce, warnOnceKeysMax, warnWindowMs } from '../../src/transport/logger.js';
import { RecordingLogger } from './helpers.js';

describe('WarnOnce', () => {
  it('logs a (source, code) pair once, with both in the fields', () => {
    const logger = new RecordingLogger();
    const warn = new WarnOnce(logger);
    expect(warn.warn('1.2.3.4:5', 'FLO_DECODE_MALFORMED', { x: 1 }, 'dropped')).toBe(true);
    expect(warn.warn('1.2.3.4:5', 'FLO_DECODE_MALFORMED', { x: 2 }, 'dropped')).toBe(false);
    expect(warn.warn('1.2.3.4:5', 'FLO_DECODE_TRUNCATED', {}, 'dropped')).toBe(true);
    expect(warn.warn('1.2.3.4:6', 'FLO_DECODE_MALFORMED', {}, 'dropped')).toBe(true);
    expect(logger.lines).toHaveLength(3);
    expect(logger.lines[0]).toEqual({ fields: { x: 1, source: '1.2.3.4:5', code: 'FLO_DECODE_MALFORMED' }, message: 'dropped' });
  });

  it('remembers at most warnOnceKeysMax pairs, forgetting the oldest', () => {
    const logger = new RecordingLogger();
    // A clock a whole budget window further on each call, so only the pair memory is tested.
    let now = 0;
    const warn = new WarnOnce(logger, () => (now += warnWindowMs));
    for (let i = 0; i <= warnOnceKeysMax; i++) warn.warn(`s${i}`, 'c', {}, 'm');
    expect(warn.warn(`s${warnOnceKeysMax}`, 'c', {}, 'm')).toBe(false);
    expect(warn.warn('s0', 'c', {}, 'm')).toBe(true);
  });
});
