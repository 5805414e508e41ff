// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules that do I/O: the pure core may import none of them (STYLE.md: a pure core, adapters around it). */
const ioModules = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'net',
  'http',
  'https',
  'stream',
  'crypto',
  'worker_threads',
  'better-sqlite3',
  '@kubernetes/*',
  '@aws-sdk/*',
  'chokidar',
  'ws',
  'piscina',
  'electron',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'test-results/**',
      'playwright-report/**',
      'bin/**',
      'bench/.tmp*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
    },
  },
  {
    // One bundled copy of the Kubernetes client at run time (see sync-engine/vendor/kube.ts). Before the core
    // block, which replaces this rule for sync-engine/core with a stricter one.
    files: ['sync-engine/**/*.ts', 'main/**/*.ts'],
    ignores: ['sync-engine/vendor/**', '**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              allowTypeImports: true,
              message:
                'import values from sync-engine/vendor/kube.js (bundled at build time); types may come from here',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['sync-engine/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ioModules,
              message: 'sync-engine/core is pure: no I/O modules. Put I/O in endpoints/, state/ or controller/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
