// onnxruntime's own graph optimizer, run offline: a session at the requested level writes the
// graph it would run (SessionOptions.optimizedModelFilePath) and we read it back. 'basic' rewrites
// are portable ONNX; 'extended', 'layout' and 'all' may add com.microsoft fused ops and NCHWc
// layouts chosen for this machine's CPU and execution provider, so such a file belongs to this
// hardware (https://onnxruntime.ai/docs/performance/model-optimizations/graph-optimizations.html).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSession, ortVersion, type OptLevel } from '../runtime/session.js';

export const HARDWARE_BOUND: readonly OptLevel[] = ['extended', 'layout', 'all'];

export function ortLevelNote(level: OptLevel): string {
  const where = `onnxruntime ${ortVersion()} CPU on ${process.platform}-${process.arch}`;
  return HARDWARE_BOUND.includes(level)
    ? `onnxruntime '${level}' output is tied to this hardware (${where}): it may hold com.microsoft fused ops and layouts for this CPU; regenerate it on the deployment machine`
    : `onnxruntime '${level}' rewrites are portable ONNX (${where})`;
}

export async function ortOptimize(model: Uint8Array, level: OptLevel): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ort-opt-'));
  try {
    const outPath = join(dir, 'optimized.onnx');
    const s = await createSession(model, { optLevel: level, optimizedModelPath: outPath, threads: 1 }, `onnxruntime ${level} optimizer`);
    await s.release();
    return new Uint8Array(readFileSync(outPath));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
