/**
 * `npm run bench [-- suiteId ...]`: runs every suite in `bench/*.bench.ts` (or the named
 * ones), prints the tables, and records them in `docs/benchmarks.md`.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineDescription, toMarkdownTable, type Suite } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const docsPath = path.join(here, '..', 'docs', 'benchmarks.md');

async function loadSuites(): Promise<Suite[]> {
  const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
  const suites: Suite[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { suites?: Suite[] };
    suites.push(...(mod.suites ?? []));
  }
  return suites;
}

function replaceSection(doc: string, id: string, body: string): string {
  const start = `<!-- bench:${id}:start -->`;
  const end = `<!-- bench:${id}:end -->`;
  const block = `${start}\n${body}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const all = await loadSuites();
  const suites = wanted.length > 0 ? all.filter((s) => wanted.includes(s.id)) : all;
  const machine = machineDescription();
  const date = new Date().toISOString().slice(0, 10);
  console.log(`machine: ${machine}`);
  let doc: string;
  try {
    doc = await readFile(docsPath, 'utf8');
  } catch {
    doc = '# Benchmarks\n\nProduced by `npm run bench`; each section is rewritten when its suite runs.\n';
  }
  for (const suite of suites) {
    console.log(`\n## ${suite.title}`);
    const rows = await suite.run();
    const table = toMarkdownTable(rows);
    console.log(table);
    const body = [`## ${suite.title}`, '', suite.notes ?? '', '', `Measured ${date} on ${machine}.`, '', table].join('\n');
    doc = replaceSection(doc, suite.id, body);
  }
  await writeFile(docsPath, doc);
  console.log(`\nwrote ${path.relative(process.cwd(), docsPath)}`);
}

await main();
