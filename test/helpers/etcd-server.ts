// A throwaway etcd for tests: Debian's `etcd` binary on loopback (or another local
// address, e.g. a host lab's bridge), random free ports, a temporary data directory. Tests can kill it (SIGKILL) and start it again on the same
// ports and data, to see runners detach and come back.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long etcd may take to answer /health after it was started, ms. */
const READY_TIMEOUT_MS = 60_000;

/** The etcd binary on this machine, if any. */
export function etcdBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  return found === '' ? undefined : found;
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** One etcd process, restartable on the same ports and data. */
export class EtcdServer {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    private readonly binary: string,
    readonly dir: string,
    readonly clientPort: number,
    private readonly peerPort: number,
    private readonly host: string,
  ) {}

  /** Starts a fresh etcd listening on `host` and waits until it is healthy. */
  static async start(binary = etcdBinary(), host = '127.0.0.1'): Promise<EtcdServer> {
    if (binary === undefined) throw new Error('no etcd binary');
    const server = new EtcdServer(binary, mkdtempSync(join(tmpdir(), 'flotilla-etcd-')), await freePort(host), await freePort(host), host);
    await server.resume();
    return server;
  }

  get endpoint(): string {
    return `http://${this.host}:${this.clientPort}`;
  }

  /** Starts the process again (after `kill`) and waits until it is healthy. */
  async resume(): Promise<void> {
    const client = this.endpoint;
    const peer = `http://${this.host}:${this.peerPort}`;
    this.output = '';
    const child = spawn(
      this.binary,
      [
        '--name', 'test',
        '--data-dir', join(this.dir, 'data'),
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-4_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.child = child;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${this.output}`);
      try {
        const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1_000) });
        const body = (await res.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`etcd not healthy in ${READY_TIMEOUT_MS} ms: ${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const gone = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill('SIGKILL');
    await gone;
  }

  /** Kill and remove the data directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
