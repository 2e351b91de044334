// Vitest global setup: gives the PostgreSQL halves of the suite a server, and the etcd
// mode tests an etcd (FLOTILLA_TEST_ETCD_ENDPOINTS; a throwaway one on loopback when the
// `etcd` binary is installed, else those tests skip and say so). With
// FLOTILLA_TEST_POSTGRES_URL set, that server is used as it is. Otherwise, when the
// PostgreSQL server binaries are on this machine, a throwaway cluster is made with initdb
// in a temporary directory, started on a free loopback port, and removed at the end, so
// `npm test` exercises PostgreSQL wherever it is installed. Without the binaries the
// PostgreSQL cases are skipped, and say so.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EtcdServer, etcdBinary } from './helpers/etcd-server.js';

const ENV = 'FLOTILLA_TEST_POSTGRES_URL';
const USER = 'flotilla';
const PASSWORD = 'flotilla';
const DATABASE = 'flotilla_test';

/** Directory holding initdb and pg_ctl: on the PATH, or Debian's versioned directory. */
export function serverBinDir(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  // Resolve links: the other server binaries sit beside the real initdb, not the link.
  if (onPath !== '') return dirname(realpathSync(onPath));
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** initdb and the server refuse to run as root: as root, run them as the `postgres` user. */
export function asServerUser(command: string, args: readonly string[]): void {
  const root = process.getuid?.() === 0;
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, [...args]];
  execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function setupPostgres(): Promise<(() => void) | undefined> {
  if (process.env[ENV] !== undefined && process.env[ENV] !== '') return undefined;
  const bin = serverBinDir();
  if (bin === undefined) {
    process.stderr.write(`[postgres] no PostgreSQL server binaries (initdb) on this machine and ${ENV} unset: the PostgreSQL cases are skipped\n`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  const started = Date.now();
  try {
    // Password authentication over TCP, as a real server has it (the suite checks the refusal of a wrong one).
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
    asServerUser(join(bin, 'initdb'), ['-D', data, '-U', USER, '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8']);
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200`;
    asServerUser(join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    execFileSync(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', USER, DATABASE], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGPASSWORD: PASSWORD } });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`[postgres] could not start a throwaway PostgreSQL (${detail}): the PostgreSQL cases are skipped\n`);
    return undefined;
  }
  process.env[ENV] = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  process.stderr.write(`[postgres] throwaway PostgreSQL on 127.0.0.1:${port} (${bin}), ready in ${Date.now() - started} ms\n`);
  return () => {
    try {
      asServerUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const ETCD_ENV = 'FLOTILLA_TEST_ETCD_ENDPOINTS';

async function setupEtcd(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[ETCD_ENV] !== undefined && process.env[ETCD_ENV] !== '') return undefined;
  const binary = etcdBinary();
  if (binary === undefined) {
    process.stderr.write(`[etcd] no etcd binary on this machine (apt-get install etcd-server) and ${ETCD_ENV} unset: the etcd mode cases are skipped\n`);
    return undefined;
  }
  const started = Date.now();
  let server: EtcdServer;
  try {
    server = await EtcdServer.start(binary);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`[etcd] could not start a throwaway etcd (${detail}): the etcd mode cases are skipped\n`);
    return undefined;
  }
  process.env[ETCD_ENV] = server.endpoint;
  process.stderr.write(`[etcd] throwaway etcd on ${server.endpoint} (${binary}), ready in ${Date.now() - started} ms\n`);
  return () => server.stop();
}

export default async function setup(): Promise<() => Promise<void>> {
  const postgres = await setupPostgres();
  const etcd = await setupEtcd();
  return async () => {
    try {
      postgres?.();
    } finally {
      await etcd?.();
    }
  };
}
