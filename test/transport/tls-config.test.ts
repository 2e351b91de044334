// Loading and checking TLS material: every kind of wrong file fails with one
// FLO_CONFIG_INVALID naming that file, and the transport configuration checks material
// given inline the same way.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { checkTlsMaterial, loadTlsFiles, resolveTransportConfig, TLS_PEM_BYTES_MAX, type TlsFiles } from '../../src/transport/index.js';
import { makeTlsFixture, type TlsFixture } from './tls-fixtures.js';

let fx: TlsFixture;
beforeAll(() => {
  fx = makeTlsFixture();
  writeFileSync(join(fx.dir, 'garbage.pem'), 'not a pem file\n');
  writeFileSync(join(fx.dir, 'huge.pem'), Buffer.alloc(TLS_PEM_BYTES_MAX + 1, 0x41));
});
afterAll(() => fx.remove());

function configError(fn: () => unknown): { message: string; details: Readonly<Record<string, unknown>> | undefined } {
  try {
    fn();
  } catch (err) {
    if (!isFlotillaError(err, 'FLO_CONFIG_INVALID')) throw err;
    expect(err.message).not.toContain('\n');
    return { message: err.message, details: err.details };
  }
  throw new Error('expected FLO_CONFIG_INVALID');
}

describe('loadTlsFiles', () => {
  it('loads a matching certificate, key and CA', () => {
    const material = loadTlsFiles(fx.files('node'));
    expect(material.cert).toContain('BEGIN CERTIFICATE');
    expect(material.key).toContain('PRIVATE KEY');
    expect(material.ca).toContain('BEGIN CERTIFICATE');
  });

  // Each case swaps one file of a good set; the error must name that file.
  const cases: [string, (f: TlsFiles) => TlsFiles, (f: TlsFiles) => string, RegExp][] = [
    ['a missing certificate', (f) => ({ ...f, cert: join(fx.dir, 'missing.pem') }), () => join(fx.dir, 'missing.pem'), /no such file/],
    ['a missing key', (f) => ({ ...f, key: join(fx.dir, 'missing.key') }), () => join(fx.dir, 'missing.key'), /no such file/],
    ['a missing CA', (f) => ({ ...f, ca: join(fx.dir, 'missing-ca.pem') }), () => join(fx.dir, 'missing-ca.pem'), /no such file/],
    ['a directory', (f) => ({ ...f, cert: fx.dir }), () => fx.dir, /directory/],
    ['a certificate that is not PEM', (f) => ({ ...f, cert: join(fx.dir, 'garbage.pem') }), () => join(fx.dir, 'garbage.pem'), /no PEM certificate/],
    ['a key that is not PEM', (f) => ({ ...f, key: join(fx.dir, 'garbage.pem') }), () => join(fx.dir, 'garbage.pem'), /no PEM private key/],
    ['a CA that is not PEM', (f) => ({ ...f, ca: join(fx.dir, 'garbage.pem') }), () => join(fx.dir, 'garbage.pem'), /no PEM certificate/],
    ['a huge file', (f) => ({ ...f, ca: join(fx.dir, 'huge.pem') }), () => join(fx.dir, 'huge.pem'), /bytes is over/],
    ['the key of another certificate', (f) => ({ ...f, key: fx.files('rogue').key }), (f) => f.key, /not the private key/],
    ['a certificate from another CA', (f) => ({ ...f, ca: fx.files('rogue', 'rogue-ca').ca }), (f) => f.cert, /not signed by a certificate in/],
    ['a certificate only for servers', () => fx.files('server-only'), (f) => f.cert, /serverAuth and clientAuth/],
  ];
  it.each(cases)('refuses %s, naming the file', (_what, change, named, reason) => {
    const files = change(fx.files('node'));
    const { message } = configError(() => loadTlsFiles(files));
    expect(message).toContain(named(files));
    expect(message).toMatch(reason);
  });

  it('refuses an expired certificate (checked against the given time)', () => {
    const threeDaysMs = 3 * 86_400_000;
    const { message } = configError(() => loadTlsFiles(fx.files('node'), Date.now() + threeDaysMs));
    expect(message).toContain(fx.files('node').cert);
    expect(message).toMatch(/expired/);
  });

  it('refuses an empty path', () => {
    expect(configError(() => loadTlsFiles({ ...fx.files('node'), key: '' })).message).toMatch(/key file: a path is required/);
  });
});

describe('transport.tls', () => {
  it('is off by default and accepted when consistent', () => {
    expect(resolveTransportConfig().tls).toBeUndefined();
    const tls = fx.material('node');
    expect(resolveTransportConfig({ tls }).tls).toBe(tls);
  });

  it('accepts PEM bytes as well as text', () => {
    const m = fx.material('node');
    expect(() => checkTlsMaterial({ cert: Buffer.from(m.cert), key: new TextEncoder().encode(m.key as string), ca: m.ca })).not.toThrow();
  });

  it.each([
    ['cert', { cert: 'nope' }, /transport\.tls\.cert: no PEM certificate/],
    ['key', { key: 42 }, /transport\.tls\.key: PEM text or bytes are required/],
    ['ca', { ca: undefined }, /transport\.tls\.ca: PEM text or bytes are required/],
  ] as const)('names the bad part inline (%s)', (_part, change, reason) => {
    const material = { ...fx.material('node'), ...change } as unknown as Parameters<typeof checkTlsMaterial>[0];
    expect(configError(() => resolveTransportConfig({ tls: material })).message).toMatch(reason);
  });

  it('refuses a key that does not match, inline', () => {
    const material = { ...fx.material('node'), key: fx.material('rogue').key };
    expect(configError(() => resolveTransportConfig({ tls: material })).message).toMatch(/transport\.tls\.key is not the private key/);
  });
});
