#!/usr/bin/env node
/**
 * The `flotilla` executable. It applies the V8 profile (`--optimize-for`) before anything
 * else loads: V8 tiers up the module loader's own functions while it loads the program's
 * few hundred modules, and once its optimizing compiler has run, that compiler's pages of
 * the `node` executable stay resident for the life of the process (about 5 MiB of RSS).
 * Hence this small module and a dynamic import of the program.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { applyOptimizeFor, optimizeForOf } from './v8-profile.js';

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const choice = optimizeForOf(process.argv, process.env);
  if (choice !== undefined) applyOptimizeFor(choice);
  const { main } = await import('./program.js');
  process.exit(await main(process.argv));
}
