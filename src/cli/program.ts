/**
 * The `flotilla` command's program: `start` runs one node, `dev` a local cluster of node
 * processes, `status` asks a node's admin API how the cluster is, `members` which nodes
 * carry given tags. Bad flags print one
 * line on stderr and exit with status 2. The entry point is `main.ts`.
 */
import { Command, CommanderError, Option } from 'commander';
import { oneLine, USAGE_EXIT_CODE } from './cli-options.js';
import { DEV_HTTP_PORT_DEFAULT, DEV_NODES_DEFAULT } from './dev-defaults.js';
import type { DevFlags } from './dev-command.js';
import type { StartFlags } from './start-command.js';
import { DEV_ADMIN_TOKEN } from '../gateway/admin-access.js';
import type { MembersFlags } from './members-command.js';
import { OPTIMIZE_FOR_CHOICES, OPTIMIZE_FOR_DEFAULT, OPTIMIZE_FOR_ENV } from './v8-profile.js';

/** Default admin API URL of `flotilla status`: node 1 of `flotilla dev`. */
export const STATUS_URL_DEFAULT = `http://127.0.0.1:${DEV_HTTP_PORT_DEFAULT}`;

// Each command's module loads only when that command runs: a node started by `flotilla
// start` then never holds the code (and `node:child_process`, `node:readline`) of `dev`,
// `status` and `members` for its whole life, and those commands skip loading the node.

/** `--ca` of the commands that ask an admin API: the CA its HTTPS certificate chains to. */
const CA_OPTION = (): Option =>
  new Option('--ca <file>', 'PEM CA certificate(s) to trust for an https admin API (instead of NODE_EXTRA_CA_CERTS)').env('FLOTILLA_ADMIN_CA');

/** What a command run ends with. */
export type ExitHandler = (code: number) => void;

function startCommand(exit: ExitHandler): Command {
  return new Command('start')
    .description('run one node (until SIGINT/SIGTERM, which make it leave gracefully)')
    .addOption(new Option('--listen <ip:port>', 'address to bind UDP and TCP to').env('LISTEN_ADDR').default('127.0.0.1:7946'))
    .addOption(new Option('--seeds <list>', 'comma-separated host:port of nodes to join through').env('SEEDS'))
    .addOption(new Option('--advertise <host>', 'host (or host:port) other nodes use to reach this one').env('RUNNER_ADDRESS'))
    .addOption(new Option('--no-advertise-check', 'do not dial the advertised address at start (NAT without hairpin)'))
    .addOption(new Option('--http <[host:]port>', 'serve the admin API (health, members, partitions, metrics) here').env('FLOTILLA_HTTP'))
    .addOption(new Option('--data <dir>', 'data directory of this node').env('FLOTILLA_DATA_DIR'))
    .addOption(new Option('--force-form', 'form a new cluster when no seed answers, even as a former member (only after losing the whole cluster)'))
    .addOption(new Option('--secret <secret>', 'cluster secret (prefer the environment variable)').env('FLOTILLA_SECRET'))
    .addOption(new Option('--secret-previous <secret>', 'previous cluster secret, still accepted from peers during a rotation').env('FLOTILLA_SECRET_PREVIOUS'))
    .addOption(new Option('--tags <k=v,...>', 'tags of this node').env('FLOTILLA_TAGS'))
    .addOption(new Option('--log-level <level>', 'silent, fatal, error, warn, info, debug or trace').env('LOG_LEVEL'))
    .addOption(new Option('--node-id <id>', 'node id (default: random)').env('FLOTILLA_NODE_ID'))
    .addOption(new Option('--cluster-id <id>', 'cluster id; nodes of other clusters are refused').env('FLOTILLA_CLUSTER_ID'))
    .addOption(new Option('--dev', 'development mode: without a secret, use the public dev secret'))
    .addOption(new Option('--swim <k=v,...>', 'SWIM overrides, e.g. probeIntervalMs=500,probeTimeoutMs=200 (see docs/membership.md)').env('FLOTILLA_SWIM'))
    .addOption(new Option('--kv <k=v,...>', 'map store overrides, e.g. writeCopiesMin=2,backupMode=async (see docs/configuration.md)').env('FLOTILLA_KV'))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate of this node: mutual TLS between nodes, HTTPS for the admin API').env('FLOTILLA_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('FLOTILLA_TLS_KEY'))
    .addOption(new Option('--tls-ca <file>', 'PEM CA certificate(s) every peer\'s certificate must chain to').env('FLOTILLA_TLS_CA'))
    .addOption(new Option('--postgres <url>', 'store durable state in PostgreSQL (postgres://user:password@host:port/db)').env('POSTGRES_URL'))
    .addOption(new Option('--etcd <endpoints>', 'etcd mode: register, find peers and lock partitions in etcd (host:port,...)').env('ETCD_ENDPOINTS'))
    .addOption(new Option('--etcd-lease-ttl <seconds>', 'TTL of the etcd lease in etcd mode (bounds failover after a crash); default 10').env('FLOTILLA_ETCD_LEASE_TTL_SEC'))
    .addOption(new Option('--admin-token <token>', 'bearer token of the admin API, required with --http (prefer the environment variable)').env('FLOTILLA_ADMIN_TOKEN'))
    .addOption(new Option('--client <[host:]port>', 'serve smart clients (WebSocket, JWT) here').env('FLOTILLA_CLIENT'))
    .addOption(new Option('--client-advertise <url>', 'ws:// URL clients reach this node at, when not the bound address').env('FLOTILLA_CLIENT_ADVERTISE'))
    .addOption(new Option('--jwt-secret <secret>', 'HS256 secret of client tokens (prefer the environment variable)').env('FLOTILLA_JWT_SECRET'))
    .addOption(new Option('--jwks-url <url>', 'JWKS URL of client tokens (RS256/ES256)').env('FLOTILLA_JWKS_URL'))
    .addOption(new Option('--admin-hosts <list>', 'host names the admin API accepts besides its IP and localhost, e.g. node1.example.com').env('FLOTILLA_ADMIN_HOSTS'))
    .addOption(
      new Option('--optimize-for <what>', 'auto (lean V8 until the node stays busy), memory (interpreter only, small heap) or speed (V8 defaults)')
        .choices(OPTIMIZE_FOR_CHOICES)
        .env(OPTIMIZE_FOR_ENV)
        .default(OPTIMIZE_FOR_DEFAULT),
    )
    // Applied by the entry point before this program loads (see main.ts); declared here for
    // --help and so that a bad value is a usage error.
    .action(async (flags: StartFlags) => exit(await (await import('./start-command.js')).runStart(flags)));
}

function devCommand(exit: ExitHandler): Command {
  return new Command('dev')
    .description('run a local cluster of node processes on 127.0.0.1 (development only)')
    .addOption(new Option('--nodes <n>', 'number of nodes').default(String(DEV_NODES_DEFAULT)))
    .addOption(new Option('--http <[host:]port>', 'admin API of node 1; node i listens on port + i - 1').default(String(DEV_HTTP_PORT_DEFAULT)))
    .addOption(new Option('--data <dir>', 'parent directory of the nodes\' data directories'))
    .addOption(new Option('--log-level <level>', 'log level of every node').env('LOG_LEVEL'))
    .addOption(new Option('--cluster-id <id>', 'cluster id'))
    .addOption(new Option('--swim <k=v,...>', 'SWIM overrides for every node'))
    .addOption(new Option('--kv <k=v,...>', 'map store overrides for every node, e.g. writeCopiesMin=2'))
    .action(async (flags: DevFlags) => exit(await (await import('./dev-command.js')).runDev(flags)));
}

function statusCommand(exit: ExitHandler): Command {
  return new Command('status')
    .description('show a node\'s view of the cluster through its admin API')
    .addOption(new Option('--url <url>', 'admin API base URL').env('FLOTILLA_URL').default(STATUS_URL_DEFAULT))
    .addOption(new Option('--json', 'print one JSON object'))
    .addOption(new Option('--token <token>', 'admin token of the node (default: the dev token of `flotilla dev`)').env('FLOTILLA_ADMIN_TOKEN'))
    .addOption(CA_OPTION())
    .action(async (flags: { url: string; json?: boolean; token?: string; ca?: string }) => {
      const token = flags.token === undefined || flags.token === '' ? DEV_ADMIN_TOKEN : flags.token;
      const { CaFileError, fetchForCaFlag } = await import('./admin-fetch.js');
      let fetch: typeof globalThis.fetch | undefined;
      try {
        fetch = fetchForCaFlag(flags.ca);
      } catch (err) {
        if (!(err instanceof CaFileError)) throw err;
        process.stderr.write(`flotilla status: ${err.message}\n`);
        return exit(USAGE_EXIT_CODE);
      }
      const { runStatus } = await import('./status.js');
      const result = await runStatus({ url: flags.url, json: flags.json === true, token, ...(fetch === undefined ? {} : { fetch }) });
      // Exit 2 still carries a report (the node answered but is not serving); 1 is an error line.
      (result.exitCode === 1 ? process.stderr : process.stdout).write(`${result.output}\n`);
      exit(result.exitCode);
    });
}

function membersCommand(exit: ExitHandler): Command {
  return new Command('members')
    .description('list the members carrying given tags, through a node\'s admin API (service discovery)')
    .addOption(new Option('--url <url>', 'admin API base URL').env('FLOTILLA_URL').default(STATUS_URL_DEFAULT))
    .addOption(new Option('--tag <k=v,...>', 'only members carrying these tags (repeatable)').argParser((value: string, previous: string[] = []) => [...previous, value]))
    .addOption(new Option('--state <state>', 'only members in this state').choices(['alive', 'suspect', 'dead', 'left']))
    .addOption(new Option('--json', 'print the members as a JSON array'))
    .addOption(new Option('--addresses', 'print only their cluster addresses, one a line'))
    .addOption(new Option('--token <token>', 'admin token of the node (default: the dev token of `flotilla dev`)').env('FLOTILLA_ADMIN_TOKEN'))
    .addOption(CA_OPTION())
    .action(async (flags: MembersFlags) => exit(await (await import('./members-command.js')).runMembersCommand(flags, DEV_ADMIN_TOKEN)));
}

/** The `flotilla` program; `exit` receives the status of the command that ran. */
export function buildProgram(exit: ExitHandler): Command {
  const program = new Command('flotilla')
    .description('Flotilla: a cluster runtime for Node.js')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (text, write) => write(`flotilla: ${oneLine(text.replace(/^error: /, ''))}\n`) })
    .exitOverride();
  for (const command of [startCommand(exit), devCommand(exit), statusCommand(exit), membersCommand(exit)]) {
    program.addCommand(command.configureOutput({ outputError: (text, write) => write(`flotilla ${command.name()}: ${oneLine(text.replace(/^error: /, ''))}\n`) }).exitOverride());
  }
  return program;
}

/** Runs the command line `argv` (as `process.argv`); resolves with the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
    }
    process.stderr.write(`flotilla: ${oneLine(err)}\n`);
    return 1;
  }
  return code;
}
