/**
 * Entry point of the cluster-tests runner (see `runner.ts`): runs it with this process's
 * environment and exits with its status once it has left the cluster.
 */
import { runRunner } from './runner.js';

process.exit(await runRunner(process.env));
