/**
 * `npm run sim -- <scenario> [--nodes N] [--seed S] [--runs K] [--json]`: runs a simulator
 * scenario from the registry. Exit code 0 when its checks hold, 1 when they do not, 2 on
 * bad usage (an unknown scenario lists the known ones).
 */
import { runCli } from './cli-main.js';
import { scenarios } from './scenarios/index.js';

process.exitCode = await runCli(process.argv.slice(2), {
  scenarios,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
