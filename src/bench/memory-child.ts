// Child process of memory.ts: reads a MemoryJob as JSON on stdin, prints a MemoryResult as JSON.
// Not a library module: it owns its process, so it may write to stdout.
import { readFileSync } from 'node:fs';
import { createSession } from '../runtime/session.js';
import { randomFeeds, resolveInputs } from './inputs.js';
import { peakRss, type MemoryJob, type MemoryResult } from './memory.js';

const job = JSON.parse(readFileSync(0, 'utf8')) as MemoryJob;
const baselineBytes = process.memoryUsage().rss;
const peakBefore = peakRss();
const session = await createSession(job.model, job.session, job.model);
const feeds = randomFeeds(resolveInputs(session.inputMetadata, job.shapes, job.model, job.model), job.seed);
for (let i = 0; i < Math.max(1, job.runs); i++) await session.run(feeds);
const peakBytes = peakRss();
const residentAfter = process.memoryUsage().rss;
await session.release();
// If the model raised the process's peak, it cost peak − baseline. If start-up (tsx compiling
// TypeScript) had already set a higher peak, the peak hides the model; what stays resident
// after its runs is then the honest lower bound.
const modelBytes = Math.max(0, peakBytes > peakBefore ? peakBytes - baselineBytes : residentAfter - baselineBytes);
const result: MemoryResult = { baselineBytes, peakBytes, modelBytes };
process.stdout.write(JSON.stringify(result));
