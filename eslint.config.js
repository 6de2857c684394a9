import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', '.stryker/', '.bench-build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // `const { dropped, ...kept } = value` names what it leaves out.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      // Fastify plugins and hooks are async by contract, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      // Control characters in the key and claim rules are the point of those patterns.
      'no-control-regex': 'off',
    },
  },
  // node:test's describe() and test() return promises the runner itself awaits.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-floating-promises': 'off' } },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  // The Uppy test pages run in the browser.
  {
    files: ['test/browser/**/*.js'],
    languageOptions: { globals: { window: 'readonly', Blob: 'readonly', fetch: 'readonly', crypto: 'readonly' } },
  },
  // The example pages run in the browser too.
  {
    files: ['examples/**/*.js'],
    languageOptions: {
      globals: { document: 'readonly', location: 'readonly', history: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly' },
    },
  },
);
