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
  'src/client/**/*.ts',
  'src/cluster.ts',
];

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
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Sans-IO layers must not import Node built-ins.' },
            {
              group: ['fs', 'net', 'dgram', 'os', 'crypto', 'http', 'https', 'child_process', 'timers', 'worker_threads'],
              message: 'Sans-IO layers must not import Node built-ins.',
            },
          ],
        },
      ],
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
  {
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The client is isomorphic.' },
            { group: ['../node/*', '../transport/*', '../storage/*', '../gateway/*', '../cli/*'], message: 'The client imports only core and protocol.' },
          ],
        },
      ],
    },
  },
);
