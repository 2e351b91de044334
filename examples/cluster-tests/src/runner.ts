/**
 * The cluster-tests runner: one Flotilla node hosting the test entities, with
 * the HTTP API the bash suites drive. Configured from the environment (see `config.ts`);
 * SIGINT or SIGTERM make it leave the cluster gracefully, a second signal stops it at once.
 */
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { serveAdmin, startNode, type AdminServer, type FlotillaNode, type StartNodeOptions } from 'flotilla';
import { loadRunnerConfig, sqlitePath, type RunnerConfig } from './config.js';
import { RUNNER_ENTITIES } from './entities.js';
import { DURABLE_FIXTURES } from './durable-entities.js';
import { EXTRA_ENTITIES, RUNNER_SINGLETONS } from './extra-entities.js';
import { startHttpApi, type HttpApi } from './http-api.js';
import { HTTP_TAG, runnerRoutes } from './routes.js';

/** Exit status for a bad configuration or an API address that cannot be bound. */
export const CONFIG_EXIT_CODE = 2;
/** Exit status when the node could not start or join. */
export const START_FAILED_EXIT_CODE = 1;
/** Exit status after a second signal cut the graceful leave short. */
export const FORCED_EXIT_CODE = 130;

/** The `startNode` options for `config`. */
export function nodeOptionsOf(config: RunnerConfig, logger: Logger): StartNodeOptions {
  const nodeDir = config.nodeId === undefined ? undefined : join(config.dataDir, config.nodeId);
  return {
    ...(config.nodeId === undefined ? {} : { nodeId: config.nodeId }),
    listen: config.clusterListen,
    ...(config.clusterAdvertise === undefined ? {} : { advertise: config.clusterAdvertise }),
    seeds: config.seeds,
    ...(config.secret === undefined ? { dev: true } : { secret: config.secret }),
    ...(nodeDir === undefined ? {} : { dataDir: nodeDir }),
    ...(config.forceForm ? { forceForm: true } : {}),
    tags: { [HTTP_TAG]: config.httpAdvertise },
    logger,
    entities: [...RUNNER_ENTITIES, ...DURABLE_FIXTURES.entities, ...EXTRA_ENTITIES],
    workflows: DURABLE_FIXTURES.workflows,
    timerKinds: DURABLE_FIXTURES.timerKinds,
    singletons: [...RUNNER_SINGLETONS],
    storage: config.postgresUrl === undefined ? { kind: 'sqlite', path: sqlitePath(config) } : { kind: 'postgres', url: config.postgresUrl },
    ...(config.passivateAfterMs === undefined ? {} : { entity: { passivateAfterMs: config.passivateAfterMs } }),
    ...(Object.keys(config.swim).length === 0 ? {} : { swim: config.swim }),
    ...(config.etcdEndpoints.length === 0 ? {} : { etcd: { endpoints: config.etcdEndpoints, ...(config.etcdLeaseTtlSec === undefined ? {} : { leaseTtlSec: config.etcdLeaseTtlSec }), ...(config.etcdPrefix === undefined ? {} : { prefix: config.etcdPrefix }) } }),
  };
}

/** Without FLOTILLA_SECRET the node itself warns loudly about dev mode; this adds the rest. */
function warnings(config: RunnerConfig, log: Logger): void {
  if (config.etcdEndpoints.length > 0) log.info({ etcdEndpoints: config.etcdEndpoints }, 'etcd mode: registering, finding peers and locking partitions in etcd');
}

function waitForShutdown(node: FlotillaNode, api: HttpApi, admin: AdminServer | undefined, log: Logger): Promise<number> {
  return new Promise((resolve) => {
    let requests = 0;
    const shutdown = (): void => {
      requests++;
      if (requests === 1) {
        log.info('leaving the cluster');
        void Promise.allSettled([api.close(), node.leave()])
          .then(() => admin?.close())
          .then(() => resolve(0));
      } else if (requests === 2) {
        void Promise.allSettled([node.stop(), admin?.close()]).finally(() => resolve(FORCED_EXIT_CODE));
      }
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    if (process.env.RUNNER_STOP_ON_STDIN_END === '1') {
      // A launcher that dies without signalling still ends our stdin.
      process.stdin.on('end', shutdown);
      process.stdin.on('error', shutdown);
      process.stdin.resume();
    }
  });
}

/** Runs the runner until it has left the cluster; resolves with the exit status. */
export async function runRunner(env: NodeJS.ProcessEnv): Promise<number> {
  let config: RunnerConfig;
  const boot = pino({ level: 'info' });
  try {
    config = loadRunnerConfig(env);
  } catch (err) {
    boot.error({ err }, 'invalid configuration');
    return CONFIG_EXIT_CODE;
  }
  const log = pino({ level: config.logLevel });
  warnings(config, log);
  let node: FlotillaNode;
  try {
    node = await startNode(nodeOptionsOf(config, log));
  } catch (err) {
    log.error({ err }, 'the node could not start');
    return START_FAILED_EXIT_CODE;
  }
  DURABLE_FIXTURES.bind(node);
  const apiLog = log.child({ nodeId: node.nodeId, component: 'runner-http' });
  let api: HttpApi;
  try {
    api = await startHttpApi({
      host: config.http.host,
      port: config.http.port,
      routes: runnerRoutes(node, { httpAddress: config.httpAdvertise, onPeerError: (peer, err) => apiLog.warn({ peer, err }, 'peer did not list its entities') }),
      requestTimeoutMs: config.requestTimeoutMs,
      bodyBytesMax: config.bodyBytesMax,
      logger: apiLog,
    });
  } catch (err) {
    apiLog.error({ err, listen: config.http }, 'cannot serve the HTTP API');
    await node.stop();
    return CONFIG_EXIT_CODE;
  }
  let admin: AdminServer | undefined;
  if (config.admin !== undefined) {
    try {
      admin = await serveAdmin(node, {
        host: config.admin.host,
        port: config.admin.port,
        token: config.adminToken,
        processMetrics: true,
        logger: log.child({ nodeId: node.nodeId, component: 'admin' }),
      });
    } catch (err) {
      apiLog.error({ err, listen: config.admin }, 'cannot serve the admin API');
      await Promise.allSettled([api.close(), node.stop()]);
      return CONFIG_EXIT_CODE;
    }
  }
  apiLog.info({ url: `http://${config.httpAdvertise}`, admin: config.admin === undefined ? undefined : `http://${config.admin.host}:${admin?.address().port ?? config.admin.port}`, cluster: node.address, storage: config.postgresUrl === undefined ? sqlitePath(config) : 'postgres' }, 'runner API listening');
  return waitForShutdown(node, api, admin, log);
}
