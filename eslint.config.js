import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'src/onnx/generated/', 'training/', 'models/', '.cache/', 'web/vendor/', 'out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  { languageOptions: { globals: { ...globals.node } } },
  // Only the CLI, scripts, benchmarks and tests talk to the terminal.
  { files: ['src/cli/**', 'scripts/**', 'bench/**', 'test/**', 'bin/**'], rules: { 'no-console': 'off' } },
);
