// The master's bounded memory of how its migrations ended.
import { describe, expect, it } from 'vitest';
import { MigrationVerdicts } from '../../src/partitions/migration-verdicts.js';

describe('MigrationVerdicts', () => {
  it('answers what it recorded, unknown otherwise', () => {
    const verdicts = new MigrationVerdicts(4);
    verdicts.record('m1', 'committed');
    verdicts.record('m2', 'cancelled');
    expect(verdicts.verdictOf('m1')).toBe('committed');
    expect(verdicts.verdictOf('m2')).toBe('cancelled');
    expect(verdicts.verdictOf('m3')).toBe('unknown');
  });

  it('forgets the oldest beyond its maximum', () => {
    const verdicts = new MigrationVerdicts(2);
    verdicts.record('m1', 'committed');
    verdicts.record('m2', 'committed');
    verdicts.record('m1', 'cancelled');
    verdicts.record('m3', 'committed');
    expect(verdicts.size).toBe(2);
    expect(verdicts.verdictOf('m2')).toBe('unknown');
    expect(verdicts.verdictOf('m1')).toBe('cancelled');
    expect(verdicts.verdictOf('m3')).toBe('committed');
  });
});
