// PostgreSQL options without a server: defaults, checks, the URL given to the pool, the
// description for logs, and error mapping.
import { describe, expect, it } from 'vitest';
import { FlotillaError, isFlotillaError } from '../../src/core/errors.js';
import { POSTGRES_DEFAULTS, postgresError, resolvePostgresOptions } from '../../src/storage/postgres-connection.js';

function configError(body: () => unknown): FlotillaError | undefined {
  try {
    body();
    return undefined;
  } catch (error) {
    return isFlotillaError(error, 'FLO_CONFIG_INVALID') ? error : undefined;
  }
}

describe('resolvePostgresOptions', () => {
  it('applies defaults and describes host, port and database without credentials', () => {
    const r = resolvePostgresOptions({ url: 'postgres://alice:pa55word@db.example:6543/prod' });
    expect(r).toMatchObject({ poolSize: POSTGRES_DEFAULTS.poolSize, schema: 'public', connectTimeoutMs: POSTGRES_DEFAULTS.connectTimeoutMs });
    expect(r.description).toBe('postgres db.example:6543/prod');
    expect(new URL(r.connectionString).searchParams.get('options')).toBe('-c search_path=public');
  });

  it('names a non-default schema, defaults the port, and keeps options already in the URL', () => {
    const r = resolvePostgresOptions({ url: 'postgresql://h/db?options=-c%20statement_timeout%3D5000&sslmode=disable', schema: 'cluster_2' });
    expect(r.description).toBe('postgres h:5432/db schema cluster_2');
    const params = new URL(r.connectionString).searchParams;
    expect(params.get('options')).toBe('-c statement_timeout=5000 -c search_path=cluster_2');
    expect(params.get('sslmode')).toBe('disable');
  });

  const invalid: [string, Parameters<typeof resolvePostgresOptions>[0]][] = [
    ['poolSize 0', { url: 'postgres://h/db', poolSize: 0 }],
    ['poolSize 1.5', { url: 'postgres://h/db', poolSize: 1.5 }],
    ['schema with a quote', { url: 'postgres://h/db', schema: 'a"b' }],
    ['schema in upper case', { url: 'postgres://h/db', schema: 'Public' }],
    ['schema starting with a digit', { url: 'postgres://h/db', schema: '1abc' }],
    ['connectTimeoutMs 0', { url: 'postgres://h/db', connectTimeoutMs: 0 }],
    ['not a URL', { url: 'not a url with a s3cret' }],
    ['another scheme', { url: 'mysql://h/db' }],
  ];
  for (const [name, options] of invalid) {
    it(`${name} is FLO_CONFIG_INVALID`, () => {
      const error = configError(() => resolvePostgresOptions(options));
      expect(error).toBeDefined();
      expect(error?.message).not.toContain('s3cret');
    });
  }
});

describe('postgresError', () => {
  it('wraps driver errors in FLO_STORAGE with the SQLSTATE; passes catalogued errors through', () => {
    const driverError = Object.assign(new Error('relation does not exist'), { code: '42P01' });
    const wrapped = postgresError('postgres h:5432/db', driverError);
    expect(wrapped.code).toBe('FLO_STORAGE');
    expect(wrapped.message).toContain('postgres h:5432/db: relation does not exist');
    expect(wrapped.details).toEqual({ code: '42P01' });
    const schema = new FlotillaError('FLO_STORAGE_SCHEMA', 'newer');
    expect(postgresError('x', schema)).toBe(schema);
    const aggregate = new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')], '');
    expect(postgresError('d', aggregate).message).toContain('ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432');
  });
});
