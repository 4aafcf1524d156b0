// Runs the real kiln command line (bin/kiln.js) for the CLI tests of bench, profile and pipeline.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/kiln.js', import.meta.url));
export const kiln = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
