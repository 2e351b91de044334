// A throwaway PostgreSQL for multi-host tests, listening on the host lab's bridge address
// (never on a public interface) so processes inside the lab's namespaces reach it over
// real routing, with password authentication allowed from the lab's subnet only.
import { appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asServerUser, serverBinDir } from '../global-setup.js';

const USER = 'flotilla';
const PASSWORD = 'flotilla';
const DATABASE = 'flotilla_hosts';
/** PostgreSQL's own port: the bridge address is the lab's alone, so nothing else binds it. */
const PORT = 5432;

/** A running server and how to stop it. */
export interface LabPostgres {
  readonly url: string;
  stop(): void;
}

/** Why the server cannot be started here, or undefined. */
export function labPostgresUnavailable(): string | undefined {
  return serverBinDir() === undefined ? 'no PostgreSQL server binaries (initdb)' : undefined;
}

/** Starts PostgreSQL on `address:5432`, trusting password logins from `subnet` (e.g. `10.215.3`). */
export function startLabPostgres(address: string, subnet: string): LabPostgres {
  const bin = serverBinDir();
  if (bin === undefined) throw new Error('no PostgreSQL server binaries');
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-hosts-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
  try {
    asServerUser(join(bin, 'initdb'), ['-D', data, '-U', USER, '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8']);
    appendFileSync(join(data, 'pg_hba.conf'), `host all all ${subnet}.0/24 scram-sha-256\n`);
    const options = `-p ${PORT} -k ${dir} -c listen_addresses=${address} -c max_connections=200`;
    asServerUser(join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    execFileSync(join(bin, 'createdb'), ['-h', address, '-p', String(PORT), '-U', USER, DATABASE], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGPASSWORD: PASSWORD } });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@${address}:${PORT}/${DATABASE}`,
    stop: () => {
      try {
        asServerUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
