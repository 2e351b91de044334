// Lint rules: type-aware TypeScript checks everywhere, plus the sans-IO rule for the
// layers that must run unchanged under the simulator (no Node imports, no wall clock,
// no real timers, no ambient randomness).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const sansIoLayers = [
  'src/core/**/*.ts',
  'src/membership/**/*.ts',
  'src/partitions/**/*.ts',
  'src/protocol/**/*.ts',
  'src/sharding/**/*.ts',
  'src/grid/**/*.ts',
  'src/entities/**/*.ts',
  'src/durable/**/*.ts',
  'src/client/**/*.ts',
  'src/cluster.ts',
];

/**
 * The layer table of docs/architecture.md: each layer may import only the layers listed
 * here (all of them below it). Kept in one place so the lint rule and the doc agree.
 */
const layerImports = {
  core: [],
  protocol: ['core'],
  membership: ['core', 'protocol'],
  partitions: ['core', 'protocol'],
  transport: ['core', 'protocol'],
  storage: ['core'],
  sharding: ['core', 'partitions', 'protocol', 'storage'],
  grid: ['core', 'partitions', 'protocol', 'storage', 'sharding'],
  entities: ['core', 'partitions', 'protocol', 'storage', 'sharding'],
  durable: ['core', 'partitions', 'protocol', 'storage', 'sharding', 'entities'],
  node: ['core', 'membership', 'partitions', 'protocol', 'transport', 'storage', 'sharding', 'grid', 'entities', 'durable'],
  gateway: ['core', 'membership', 'partitions', 'protocol', 'transport', 'storage', 'sharding', 'grid', 'entities', 'durable', 'node'],
  client: ['core', 'protocol'],
  'client-platform': ['core', 'protocol', 'client'],
  cli: ['core', 'membership', 'partitions', 'protocol', 'transport', 'storage', 'sharding', 'grid', 'entities', 'durable', 'node', 'gateway'],
};
const layers = Object.keys(layerImports);

const nodeBuiltins = [
  { group: ['node:*'], message: 'Sans-IO layers must not import Node built-ins.' },
  {
    group: ['fs', 'net', 'dgram', 'os', 'crypto', 'http', 'https', 'child_process', 'timers', 'worker_threads'],
    message: 'Sans-IO layers must not import Node built-ins.',
  },
];

/** The import rule of one layer: no layer it may not use, and no Node built-ins when sans-IO. */
function layerRule(layer) {
  const forbidden = layers.filter((other) => other !== layer && !layerImports[layer].includes(other));
  const patterns = forbidden.length === 0 ? [] : [{ group: forbidden.map((other) => `../${other}/*`), message: `${layer}/ imports only ${layerImports[layer].join(', ') || 'nothing of other layers'} (docs/architecture.md).` }];
  const sansIo = sansIoLayers.some((glob) => glob.startsWith(`src/${layer}/`));
  return ['error', { patterns: sansIo ? [...nodeBuiltins, ...patterns] : patterns }];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-console': 'off',
    },
  },
  {
    files: sansIoLayers,
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Sans-IO: return a timer effect; the driver owns real timers.' },
        { name: 'setInterval', message: 'Sans-IO: return a timer effect; the driver owns real timers.' },
        { name: 'setImmediate', message: 'Sans-IO: the driver owns scheduling.' },
        { name: 'process', message: 'Sans-IO: no process access; take configuration as input.' },
        { name: 'performance', message: 'Sans-IO: take `now` as a parameter.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Sans-IO: take `now` as a parameter.' },
        { object: 'Math', property: 'random', message: 'Sans-IO: use the injected Random.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Sans-IO: take `now` as a parameter.' },
      ],
    },
  },
  ...layers.map((layer) => ({ files: [`src/${layer}/**/*.ts`], rules: { 'no-restricted-imports': layerRule(layer) } })),
  { files: ['src/cluster.ts'], rules: { 'no-restricted-imports': ['error', { patterns: nodeBuiltins }] } },
  // The client's platform layer reads the platform's timers and WebSocket, but stays isomorphic: no Node built-ins.
  {
    files: ['src/client-platform/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...nodeBuiltins, ...layerRule('client-platform')[1].patterns] }] },
  },
);
