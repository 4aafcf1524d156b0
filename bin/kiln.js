#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so that a clone works after `npm ci` without a build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
