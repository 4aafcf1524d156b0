// kiln's command line. Each command lives in its own file exporting `command()`, which builds
// a commander Command whose action lazily imports the library code it needs. This file owns the
// only top-level catch: library errors become one clear line and an exit code
// (0 success, 1 failed operation, 2 bad usage); --verbose adds the stack.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { KilnError, UsageError } from '../errors.js';

/** Registered commands, in the order `kiln --help` lists them. */
const COMMANDS = ['inspect', 'bench', 'profile', 'pipeline', 'optimize', 'quantize', 'interpolate', 'demo'];

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

async function main(argv: string[]): Promise<number> {
  const program = new Command('kiln')
    .description('Take a vision model from a PyTorch prototype to production ONNX.')
    .version(pkg.version, '-V, --version')
    .option('-v, --verbose', 'print stack traces and debug logs')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const name of COMMANDS) {
    const mod = (await import(`./${name}.js`)) as { command: () => Command };
    program.addCommand(mod.command().exitOverride());
  }
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2; // commander already printed the message
    }
    const verbose = argv.includes('--verbose') || argv.includes('-v');
    if (e instanceof UsageError) {
      process.stderr.write(`kiln: ${e.message}\n`);
      return 2;
    }
    if (e instanceof KilnError) {
      process.stderr.write(`kiln: ${e.message}\n`);
      if (verbose && e.stack) process.stderr.write(`${e.stack}\n`);
      return 1;
    }
    process.stderr.write(`kiln: unexpected error: ${(e as Error)?.message ?? String(e)}\n`);
    if (verbose) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    else process.stderr.write('(run with --verbose for the stack trace)\n');
    return 1;
  }
}

// `kiln inspect m.onnx | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv);
