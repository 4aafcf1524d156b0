// What a measurement ran on: the header of every report. Numbers from a shared 2-core VM and
// from a 64-core server are not comparable, so the machine travels with them.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ortVersion } from '../runtime/session.js';
import type { Environment } from '../report/types.js';

/** Physical cores from /proc/cpuinfo (distinct physical id + core id pairs); null elsewhere. */
function physicalCores(): number | null {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const pairs = new Set<string>();
    for (const block of text.split(/\n\s*\n/)) {
      const phys = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1] ?? '0';
      const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
      if (core !== undefined) pairs.add(`${phys}:${core}`);
    }
    return pairs.size > 0 ? pairs.size : null;
  } catch {
    return null;
  }
}

export function environment(): Environment {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    logicalCores: os.availableParallelism?.() ?? cpus.length,
    physicalCores: physicalCores(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform}-${process.arch}`,
    node: process.versions.node,
    onnxruntime: ortVersion(),
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    date: new Date().toISOString(),
  };
}
