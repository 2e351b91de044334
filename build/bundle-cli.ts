/**
 * Bundles the `flotilla` command into `dist/cli/`: a small entry plus chunks split where
 * the sources import lazily (each command, each store, the client gateway), instead of the
 * ~210 modules tsc emits. A node keeps every loaded module's source text in its heap for
 * its whole life, and the module loader's own records per module; fewer modules without
 * comments and indentation are about 2 MiB less RSS (docs/benchmarks.md, node-idle).
 */
import { build, type BuildResult, type Plugin } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where `npm run build` writes the bundle; the `flotilla` bin is its `flotilla.js`. */
export const CLI_BUNDLE_DIR = fileURLToPath(new URL('../dist/cli', import.meta.url));

/**
 * Packages left out of the bundle, loaded from node_modules as before: native addons
 * (better-sqlite3, msgpackr's optional extractor) must load from their own directories;
 * the PostgreSQL and etcd clients load only in a node that chose that store, the
 * WebSocket plugin only with the client gateway.
 */
export const CLI_EXTERNAL_PACKAGES: readonly string[] = ['better-sqlite3', 'pg', 'pg-native', 'etcd3', 'msgpackr-extract', '@fastify/websocket'];

/**
 * What Fastify requires only when an option or a route asks for it: the schema compilers
 * (with ajv, most of a megabyte; the admin API and the gateway declare no schemas), pino
 * for Fastify's own logger, light-my-request for `inject`. Bundled, their source sat in
 * every node's heap (a 1.3 MB chunk, 0.8 MiB more RSS than Fastify left out altogether);
 * left out, they still load on demand, resolved from Fastify's directory as Fastify would.
 */
export const FASTIFY_ON_DEMAND: readonly string[] = ['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'pino', 'light-my-request'];

const ON_DEMAND_NAMESPACE = 'fastify-on-demand';

/** Replaces Fastify's on-demand requires by a require from Fastify's own directory, at run time. */
const fastifyOnDemand: Plugin = {
  name: 'fastify-on-demand',
  setup(b) {
    const filter = new RegExp(`^(${FASTIFY_ON_DEMAND.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) =>
      /[\\/]node_modules[\\/]fastify[\\/]/.test(args.importer) ? { path: args.path, namespace: ON_DEMAND_NAMESPACE } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: ON_DEMAND_NAMESPACE }, (args) => ({
      // `require` is the bundle's own (see REQUIRE_SHIM): Fastify is a dependency of this
      // package, so it resolves from here; the package is then resolved from Fastify.
      contents: `module.exports = require('node:module').createRequire(require.resolve('fastify'))(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

const BUILTIN_NAMESPACE = 'builtin-by-require';
const BUILTINS: ReadonlySet<string> = new Set(builtinModules.flatMap((name) => (name.startsWith('node:') ? [name] : [name, `node:${name}`])));

/**
 * Turns every ES module import of a Node builtin into a `require` of it. Node builds an
 * ES module namespace for a builtin by reading each of its exports once, which runs the
 * lazy getters builtins keep for costly members: `tls.rootCertificates` parses the whole
 * root store, `crypto.webcrypto` loads the Web Crypto modules, and both stay in the heap
 * for the life of the process. Through `require`, a member is read when the code uses it.
 */
const builtinsByRequire: Plugin = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) =>
      (args.kind === 'import-statement' || args.kind === 'dynamic-import') && BUILTINS.has(args.path) ? { path: args.path, namespace: BUILTIN_NAMESPACE } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: BUILTIN_NAMESPACE }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/** The requires at the top of Fastify's `lib/server.js` that only its `https`, `http2` and host-name listen options use. */
const FASTIFY_SERVER_BUILTINS: readonly string[] = ['https', 'http2', 'dns'];

/**
 * Defers those requires to first use. Loading `node:http2` builds its C++ binding and
 * compatibility layer, about 0.5 MiB RSS in an idle node, whose admin API runs on our own
 * `node:http` server. Fails the build when Fastify's source no longer has the expected
 * lines, so an upgrade cannot silently undo it.
 */
const fastifyLazyServerBuiltins: Plugin = {
  name: 'fastify-lazy-server-builtins',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]fastify[\\/]lib[\\/]server\.js$/ }, (args) => {
      let source = readFileSync(args.path, 'utf8');
      for (const name of FASTIFY_SERVER_BUILTINS) {
        const line = `const ${name} = require('node:${name}')`;
        if (!source.includes(line)) throw new Error(`fastify/lib/server.js no longer has "${line}": review the fastify-lazy-server-builtins plugin`);
        source = source.replace(line, `let ${name}Module; const ${name} = new Proxy({}, { get: (_, key) => (${name}Module ??= require('node:${name}'))[key] })`);
      }
      return { contents: source, loader: 'js' };
    });
  },
};

/**
 * CommonJS packages inside an ES module bundle still call `require` for Node's builtins;
 * an ES module has no `require`, so the entry and every chunk define one.
 */
const REQUIRE_SHIM = "import { createRequire as __flotillaCreateRequire } from 'node:module'; const require = __flotillaCreateRequire(import.meta.url);";

/** Writes the bundle into `outdir` (default `dist/cli`). */
export function bundleCli(outdir: string = CLI_BUNDLE_DIR): Promise<BuildResult> {
  // Chunk names carry content hashes: chunks of an earlier build would otherwise pile up.
  rmSync(outdir, { recursive: true, force: true });
  return build({
    absWorkingDir: ROOT,
    entryPoints: { flotilla: 'src/cli/main.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Whitespace and syntax only: identifiers keep their names, so stack traces name
    // the functions even without source maps.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // Maps without the sources themselves: `node --enable-source-maps` maps stack
    // traces back to src/ (the sources ship in the package's repository, not its heap).
    sourcemap: 'linked',
    sourcesContent: false,
    external: [...CLI_EXTERNAL_PACKAGES],
    plugins: [fastifyOnDemand, fastifyLazyServerBuiltins, builtinsByRequire],
    banner: { js: REQUIRE_SHIM },
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await bundleCli();
}
