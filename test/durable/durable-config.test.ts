// The durable settings: defaults, the fields that may be 0 (off), and the bounds checked
// when a node starts.
import { describe, expect, it } from 'vitest';
import { DEFAULT_DURABLE_CONFIG, resolveDurableConfig, type DurableConfig } from '../../src/durable/durable-config.js';
import { isFlotillaError } from '../../src/core/errors.js';

describe('resolveDurableConfig', () => {
  it('answers the defaults when nothing is overridden; retention defaults to 7 days', () => {
    expect(resolveDurableConfig()).toEqual(DEFAULT_DURABLE_CONFIG);
    expect(DEFAULT_DURABLE_CONFIG.workflowRetentionMs).toBe(7 * 24 * 60 * 60 * 1000);
  });

  const accepted: [string, Partial<DurableConfig>][] = [
    ['retention 0 keeps finished executions forever', { workflowRetentionMs: 0 }],
    ['retention of 1 ms', { workflowRetentionMs: 1 }],
    ['purge batch at its bound', { workflowPurgeBatchMax: 10_000 }],
    ['undefined fields keep their default', { workflowRetentionMs: undefined }],
  ];
  it.each(accepted)('accepts %s', (_, overrides) => {
    expect(() => resolveDurableConfig(overrides)).not.toThrow();
  });

  const refused: [string, Partial<DurableConfig>][] = [
    ['a negative retention', { workflowRetentionMs: -1 }],
    ['a fractional retention', { workflowRetentionMs: 1.5 }],
    ['a purge batch of 0', { workflowPurgeBatchMax: 0 }],
    ['a purge batch over its bound', { workflowPurgeBatchMax: 10_001 }],
    ['a purge interval of 0', { workflowPurgeIntervalMs: 0 }],
    ['a timer window of 0', { timerWindowMax: 0 }],
  ];
  it.each(refused)('refuses %s with FLO_CONFIG_INVALID', (_, overrides) => {
    let error: unknown;
    try {
      resolveDurableConfig(overrides);
    } catch (e) {
      error = e;
    }
    expect(isFlotillaError(error, 'FLO_CONFIG_INVALID')).toBe(true);
  });
});
