// Worker side of the loader fuzz test (fuzz.test.ts): runs cases in order, reporting the start and
// end of each so that the main thread can bound every case with a watchdog. A case fails when
// the loader throws anything but ModelError, or accepts bytes it then cannot re-encode and reload.
import { parentPort, workerData } from 'node:worker_threads';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../../src/errors.js';
import { decodeModel, loadModel } from '../../src/onnx/read.js';
import { encodeModel } from '../../src/onnx/write.js';
import { verify } from '../../src/ir/verify.js';
import { caseOf, type FuzzInput, type FuzzMessage } from './fuzz-mutate.js';

const input = workerData as FuzzInput;
const post = (m: FuzzMessage): void => parentPort!.postMessage(m);
process.on('unhandledRejection', (e) => post({ type: 'unhandled', detail: String((e as Error)?.stack ?? e) }));

for (let i = input.from; i < input.to; i++) {
  const c = caseOf(input, i);
  post({ type: 'start', i });
  const t0 = performance.now();
  let accepted = false;
  let failure: string | undefined;
  try {
    let model;
    if (i % input.fileEvery === 0) {
      const file = join(input.scratch, `fuzz-${i}.onnx`);
      writeFileSync(file, c.bytes);
      try {
        model = await loadModel(file);
      } finally {
        rmSync(file, { force: true });
      }
    } else model = decodeModel(c.bytes, { file: `fuzz#${i}`, baseDir: input.scratch });
    accepted = true;
    // Whatever the loader accepts must be a valid IR that saves and loads again.
    const problems = verify(model);
    if (problems.length) failure = `accepted but verify() reports: ${problems[0]}`;
    else decodeModel(encodeModel(model), { file: `fuzz#${i} (re-encoded)`, baseDir: input.scratch });
  } catch (e) {
    if (!(e instanceof ModelError)) failure = `${accepted ? 'after loading, ' : ''}${(e as Error)?.name}: ${(e as Error)?.message}\n${String((e as Error)?.stack).split('\n').slice(1, 4).join('\n')}`;
  }
  post({ type: 'done', i, ms: performance.now() - t0, accepted, failure });
}
