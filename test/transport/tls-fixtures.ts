// Test-only TLS material, made fresh by `openssl` in a temporary directory: a cluster CA
// with a node certificate (IP 127.0.0.1, usable as server and client), a second "rogue"
// CA with its own node certificate, and a certificate limited to serverAuth. EC P-256
// keys, valid for two days, so generation takes a fraction of a second.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsFiles, TlsMaterial } from '../../src/transport/index.js';

/** Names of the leaf certificates made. */
export type LeafName = 'node' | 'rogue' | 'server-only';

/** Generated files and helpers to read them. */
export interface TlsFixture {
  readonly dir: string;
  /** Paths of a leaf's certificate and key, with the CA file given (default: the cluster CA). */
  files(leaf: LeafName, ca?: 'ca' | 'rogue-ca'): TlsFiles;
  /** The same as PEM text. */
  material(leaf: LeafName, ca?: 'ca' | 'rogue-ca'): TlsMaterial;
  /** Removes the directory. */
  remove(): void;
}

function openssl(dir: string, args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${args[0] ?? ''} failed (the TLS tests need the openssl command): ${String(err)}`);
  }
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`,
    '-days', '2', '-subj', `/CN=Flotilla test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

function makeLeaf(dir: string, name: string, ca: string, usage: string, serial: number): void {
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(serial), '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
}

/** Generates the fixture; call `remove()` when done. */
export function makeTlsFixture(): TlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-tls-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  makeLeaf(dir, 'node', 'ca', 'serverAuth,clientAuth', 1);
  makeLeaf(dir, 'rogue', 'rogue-ca', 'serverAuth,clientAuth', 2);
  makeLeaf(dir, 'server-only', 'ca', 'serverAuth', 3);
  const files = (leaf: LeafName, ca: 'ca' | 'rogue-ca' = 'ca'): TlsFiles => ({ cert: join(dir, `${leaf}.pem`), key: join(dir, `${leaf}.key`), ca: join(dir, `${ca}.pem`) });
  return {
    dir,
    files,
    material(leaf, ca) {
      const f = files(leaf, ca);
      return { cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8'), ca: readFileSync(f.ca, 'utf8') };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
