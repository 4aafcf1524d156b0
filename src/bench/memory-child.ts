// Child process of memory.ts: reads a MemoryJob as JSON on stdin, prints a MemoryResult as JSON.
// Not a library module: it owns its process, so it may write to stdout.
import { readFileSync } from 'node:fs';
import { createSession } from '../runtime/session.js';
import { randomFeeds, resolveInputs } from './inputs.js';
import type { MemoryJob, MemoryResult } from './memory.js';

/**
 * Peak RSS of this process. Linux keeps getrusage's maxrss across execve, so a child spawned by
 * a big parent starts with the parent's peak (measured: a parent at 875 MiB gave a tiny model's
 * child an 813 MiB "peak"). VmHWM in /proc/self/status belongs to the address space exec made
 * and starts fresh; getrusage is the fallback where /proc is absent.
 */
function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

const job = JSON.parse(readFileSync(0, 'utf8')) as MemoryJob;
const baselineBytes = process.memoryUsage().rss;
const peakBefore = peakRss();
const session = await createSession(job.model, job.session, job.model);
const feeds = randomFeeds(resolveInputs(session.inputMetadata, job.shapes, job.model), job.seed);
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
