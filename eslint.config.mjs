// ESLint flat config: typescript-eslint's recommended type-checked rules for every
// workspace's TypeScript (sources and tests); formatting is Prettier's job, so
// eslint-config-prettier comes last and switches off the stylistic rules.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Every module opens with a comment that says what it is for (before its imports). */
const moduleHeader = {
  meta: { type: 'suggestion', messages: { missing: 'start the module with a short comment saying what it is for' } },
  create(context) {
    return {
      Program(program) {
        const first = program.body[0];
        const comment = context.sourceCode.getAllComments()[0];
        if (first && (!comment || comment.range[0] > first.range[0]))
          context.report({ node: first, messageId: 'missing' });
      },
    };
  },
};

export default defineConfig(
  globalIgnores([
    '**/dist/',
    '**/node_modules/',
    '.dapr/',
    '.tools/',
    '.run/',
    '**/coverage/',
    'bench/results/',
    // Go sources and scripts of the third-party builds; nothing for ESLint there.
    'third_party/',
  ]),

  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Express 5 forwards a rejected promise from a route handler or middleware to
      // the error handler, so async handlers passed as arguments are safe; the
      // other no-misused-promises checks (conditionals, spreads, attributes) stay on.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      // `_`-prefixed names mark parameters kept for a signature and deliberately
      // unused destructured fields.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // A chain of ternaries hides a table or a sequence of checks: write it as one.
      'no-nested-ternary': 'error',
    },
  },
  {
    files: ['**/src/**/*.ts'],
    plugins: { house: { rules: { 'module-header': moduleHeader } } },
    rules: { 'house/module-header': 'error' },
  },

  // The layering the code keeps: domain code depends only on the domain (its ports) and packages/common;
  // packages/common on no service; neither service on the other.
  {
    files: ['*-service/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '^\\.\\./(adapters|entry-points)(/|$)|^\\.\\./(config|server|main|app|metrics|instrument|models-config)$',
              message: 'domain code depends only on the domain (its ports) and packages/common',
            },
            { regex: '(gateway|ai-core)-service', message: 'a service never imports the other' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(gateway|ai-core)-service', message: 'shared packages depend on no service' }] },
      ],
    },
  },
  {
    files: ['gateway-service/src/**/*.ts'],
    ignores: ['gateway-service/src/domain/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: 'ai-core-service',
              message: 'the gateway reaches ai-core through Dapr and packages/common, never its code',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['ai-core-service/src/**/*.ts'],
    ignores: ['ai-core-service/src/domain/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: 'gateway-service', message: 'ai-core never imports the gateway' }] },
      ],
    },
  },

  {
    // Tests are not in their workspace's tsconfig.json (which builds src/ only),
    // so the project service would not find them; tsconfig.test.json is the
    // program that type-checks every test directory.
    files: ['**/test/**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: ['./tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },

  {
    // Tests: one relaxation, for a reason.
    files: ['**/test/**/*.ts'],
    rules: {
      // Fakes implement async ports with `async` methods that need no `await`: `async`
      // keeps a thrown error a rejection, as in the adapters they stand in for.
      '@typescript-eslint/require-await': 'off',
    },
  },

  {
    // Plain JS (jest.config.js, the jest reporter, this file): untyped recommended
    // rules. The few Node globals they use are listed here rather than pulling in
    // the `globals` package.
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' },
    },
  },

  prettier,
);
