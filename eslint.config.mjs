import tseslint from 'typescript-eslint';

/** Promises and thenables handled on purpose: a floating promise is a lost error or a race. */
const TYPE_AWARE_RULES = {
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/no-misused-promises': 'error',
  '@typescript-eslint/await-thenable': 'error',
  '@typescript-eslint/return-await': ['error', 'in-try-catch'],
  '@typescript-eslint/no-unnecessary-type-assertion': 'error',
  '@typescript-eslint/prefer-promise-reject-errors': 'error',
  '@typescript-eslint/only-throw-error': 'error',
  // One concern per file: a file past 400 lines holds two (issue 13).
  'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
};

/** @scanqueue/wire holds types only: a value import would need code it does not have. */
const WIRE_TYPES_ONLY = {
  name: '@scanqueue/wire',
  allowTypeImports: true,
  message: '@scanqueue/wire is types only: use `import type`',
};

export default tseslint.config(
  {
    ignores: [
      '**/dist/',
      'node_modules/',
      'coverage/',
      '.data/',
      'bench/results/',
      '**/*.mjs',
      '**/*.cjs',
      'jest.config.js',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // The reference agent is a package of its own, published apart from the server (issue 13): it
  // imports Node's built-ins, its own files, its dependency and the wire types, and nothing else.
  // The server compiles against the same wire types and never imports the agent.
  {
    files: ['packages/agent/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [WIRE_TYPES_ONLY],
          patterns: [
            {
              regex: '^(?!node:|\\./[^.]|cli-progress$|@scanqueue/wire$)',
              message:
                'packages/agent imports only node:…, its own ./files, cli-progress and @scanqueue/wire (a new dependency goes in its package.json and here)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [WIRE_TYPES_ONLY],
          patterns: [
            {
              regex: '(^|/)packages/|^@scanqueue/agent(/|$)',
              message: 'the server shares only the types of @scanqueue/wire with the agent',
            },
          ],
        },
      ],
    },
  },
  // Type-aware rules for the server (parserOptions.projectService reads tsconfig.json).
  {
    files: ['src/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: TYPE_AWARE_RULES,
  },
);
