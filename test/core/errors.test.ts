// The error catalog: docs/errors.md lists exactly the codes in ErrorCatalog with the same
// message, retryability and status (checked both ways), and FlotillaError carries them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assert, ErrorCatalog, FlotillaError, isFlotillaError, type ErrorCode } from '../../src/core/errors.js';

interface DocRow {
  code: string;
  message: string;
  retryable: boolean;
  status: number;
}

function splitRow(line: string): string[] {
  // Cells are separated by unescaped pipes; `\|` stands for a literal pipe in a message.
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function parseErrorsTable(): DocRow[] {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const lines = doc.split('\n');
  const header = lines.findIndex((l) => /^\|\s*code\s*\|\s*message\s*\|\s*retryable\s*\|\s*HTTP status\s*\|/.test(l));
  expect(header).toBeGreaterThanOrEqual(0);
  const rows: DocRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = splitRow(line);
    expect(cells, line).toHaveLength(4);
    const [code, message, retryable, status] = cells as [string, string, string, string];
    expect(['yes', 'no'], line).toContain(retryable);
    rows.push({ code: code.replace(/^`|`$/g, ''), message, retryable: retryable === 'yes', status: Number(status) });
  }
  return rows;
}

describe('docs/errors.md', () => {
  const rows = parseErrorsTable();
  const catalogCodes = Object.keys(ErrorCatalog).sort();

  it('lists every catalogued code exactly once, and nothing else', () => {
    const docCodes = rows.map((r) => r.code);
    expect(new Set(docCodes).size).toBe(docCodes.length);
    expect([...docCodes].sort()).toEqual(catalogCodes);
  });

  it.each(Object.values(ErrorCatalog).map((spec) => [spec.code, spec] as const))('%s matches the catalog', (code, spec) => {
    const row = rows.find((r) => r.code === code);
    expect(row).toEqual({ code: spec.code, message: spec.message, retryable: spec.retryable, status: spec.status });
  });

  it('keys every catalog entry by its own code with a FLO_ prefix and a real HTTP status', () => {
    for (const [key, spec] of Object.entries(ErrorCatalog)) {
      expect(spec.code).toBe(key);
      expect(key).toMatch(/^FLO_[A-Z0-9_]+$/);
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.status).toBeLessThan(600);
    }
  });
});

describe('FlotillaError', () => {
  it('carries the catalog fields', () => {
    const err = new FlotillaError('FLO_HLC_DRIFT');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('FlotillaError');
    expect(err.code).toBe('FLO_HLC_DRIFT');
    expect(err.message).toBe(ErrorCatalog.FLO_HLC_DRIFT.message);
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(409);
    expect(err.details).toBeUndefined();
  });

  it('appends the detail to the message and keeps structured details', () => {
    const err = new FlotillaError('FLO_INVALID_ARGUMENT', 'count must be positive', { count: 0 });
    expect(err.message).toBe('Invalid argument: count must be positive');
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(400);
    expect(err.details).toEqual({ count: 0 });
  });

  it('serializes to the documented JSON shape', () => {
    expect(new FlotillaError('FLO_TIMEOUT').toJSON()).toEqual({ error: 'Operation timed out', code: 'FLO_TIMEOUT', retryable: true });
    const withDetails = new FlotillaError('FLO_NOT_OWNER', 'partition 7', { partition: 7, owner: 'n2' });
    expect(JSON.parse(JSON.stringify(withDetails))).toEqual({
      error: 'This node does not own the partition: partition 7',
      code: 'FLO_NOT_OWNER',
      retryable: true,
      details: { partition: 7, owner: 'n2' },
    });
  });

  it.each(Object.keys(ErrorCatalog) as ErrorCode[])('constructs %s', (code) => {
    const err = new FlotillaError(code);
    expect(err.toJSON().code).toBe(code);
    expect(err.status).toBe(ErrorCatalog[code].status);
  });
});

describe('isFlotillaError and assert', () => {
  it('recognizes FlotillaErrors, optionally by code', () => {
    const err = new FlotillaError('FLO_QUEUE_FULL');
    expect(isFlotillaError(err)).toBe(true);
    expect(isFlotillaError(err, 'FLO_QUEUE_FULL')).toBe(true);
    expect(isFlotillaError(err, 'FLO_TIMEOUT')).toBe(false);
    expect(isFlotillaError(new Error('x'))).toBe(false);
    expect(isFlotillaError({ code: 'FLO_QUEUE_FULL' })).toBe(false);
    expect(isFlotillaError(undefined)).toBe(false);
  });

  it('assert throws a plain Error for bugs', () => {
    expect(() => assert(true, 'fine')).not.toThrow();
    let thrown: unknown;
    try {
      assert(false, 'broken invariant');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(isFlotillaError(thrown)).toBe(false);
    expect((thrown as Error).message).toBe('Assertion failed: broken invariant');
  });
});
