// Several "hosts" on one machine for multi-host tests: one network namespace per host,
// each joined by a veth pair to a bridge in the test's own namespace, with real IP
// routing between them. The test process reaches every host directly through the
// bridge's host-side address (no relay), and so can a server bound to that address
// (PostgreSQL here). Names carry this process's pid; leftovers of a run that died are
// removed by the next one. Needs root and `ip` (iproute2).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Prefix of every namespace and interface a lab makes (then the pid). */
const PREFIX = 'fh';
/** Most hosts per lab (addresses .1 to .99). */
export const HOSTS_MAX = 99;
/** Labs created by this process so far: each gets its own names and subnet. */
let labsCreated = 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces and bridges left by labs whose process is gone. */
function sweepLeftovers(): void {
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of namespaces.split('\n')) {
    const m = new RegExp(`^(${PREFIX}(\\d+)(?:x\\d+)?n\\d+)\\b`).exec(line);
    if (m !== null && !alive(Number(m[2]))) spawnSync('ip', ['netns', 'del', m[1]!]);
  }
  const links = spawnSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of links.split('\n')) {
    const m = new RegExp(`^\\d+: (${PREFIX}(\\d+)(?:x\\d+)?br)[:@]`).exec(line);
    if (m !== null && !alive(Number(m[2]))) spawnSync('ip', ['link', 'del', m[1]!]);
  }
}

/** One host: a namespace with one address on the lab's subnet. */
export interface Host {
  readonly index: number;
  readonly ns: string;
  /** The veth end in the test's namespace, on the bridge. */
  readonly hostSideDev: string;
  readonly ip: string;
}

/** A process started inside a host. */
export interface HostProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | string>;
}

/** A bridge and `count` hosts on it. */
export class HostLab {
  readonly hosts: Host[] = [];
  readonly processes: HostProcess[] = [];
  /** The bridge's address in the test's namespace: what hosts dial to reach servers run by the test. */
  readonly gateway: string;
  private readonly bridge: string;
  private destroyed = false;

  private constructor(
    private readonly id: string,
    readonly subnet: string,
  ) {
    this.bridge = `${id}br`;
    this.gateway = `${subnet}.254`;
  }

  /** Creates the bridge and `count` hosts, every link up. */
  static create(count: number): HostLab {
    if (count > HOSTS_MAX) throw new Error(`at most ${HOSTS_MAX} hosts`);
    sweepLeftovers();
    const seq = labsCreated++;
    // A later lab of this process gets fresh names: a deleted namespace's links go away asynchronously.
    const lab = new HostLab(seq === 0 ? `${PREFIX}${process.pid}` : `${PREFIX}${process.pid}x${seq}`, `10.215.${(process.pid + seq) % 250}`);
    try {
      ip('link', 'add', lab.bridge, 'type', 'bridge');
      ip('addr', 'add', `${lab.gateway}/24`, 'dev', lab.bridge);
      ip('link', 'set', lab.bridge, 'up');
      for (let i = 0; i < count; i++) lab.addHost(i);
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  private addHost(index: number): void {
    const host: Host = { index, ns: `${this.id}n${index}`, hostSideDev: `${this.id}h${index}`, ip: `${this.subnet}.${index + 1}` };
    const inside = `${this.id}e${index}`;
    ip('netns', 'add', host.ns);
    this.hosts.push(host);
    ip('-n', host.ns, 'link', 'set', 'lo', 'up');
    ip('link', 'add', host.hostSideDev, 'type', 'veth', 'peer', 'name', inside, 'netns', host.ns);
    ip('link', 'set', host.hostSideDev, 'master', this.bridge);
    ip('link', 'set', host.hostSideDev, 'up');
    ip('-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', inside);
    ip('-n', host.ns, 'link', 'set', inside, 'up');
  }

  /** Runs `node <args>` inside host `index` with `env` added; output kept by line. */
  spawnNode(index: number, args: readonly string[], env: Record<string, string>, cwd: string): HostProcess {
    const host = this.hosts[index]!;
    const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
    const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    const proc = { child, lines, exited };
    this.processes.push(proc);
    return proc;
  }

  /**
   * Takes host `index`'s link down (`up` false) or up again: its host-side veth leaves or
   * rejoins the bridge's traffic, so the host is cut from every other host and from the
   * servers on the bridge address, as a host whose cable is pulled.
   */
  setLink(index: number, up: boolean): void {
    ip('link', 'set', this.hosts[index]!.hostSideDev, up ? 'up' : 'down');
  }

  /**
   * Runs `command` inside host `index` (e.g. curl against the host's own address), killed
   * after `timeoutMs`; never rejects. Several can run at once, alongside the test's other waits.
   */
  exec(index: number, command: readonly string[], timeoutMs: number): Promise<{ status: number | null; stdout: string }> {
    const run = spawn('ip', ['netns', 'exec', this.hosts[index]!.ns, ...command], { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    run.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    return new Promise((resolve) => {
      run.once('error', () => resolve({ status: null, stdout }));
      run.once('close', (code) => resolve({ status: code, stdout }));
    });
  }

  /** Kills every process started here and removes the hosts and the bridge. Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const { child } of this.processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const host of this.hosts) {
      spawnSync('ip', ['link', 'del', host.hostSideDev]);
      spawnSync('ip', ['netns', 'del', host.ns]);
    }
    spawnSync('ip', ['link', 'del', this.bridge]);
  }
}
