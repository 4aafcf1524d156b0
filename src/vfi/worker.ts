// The model's thread: runs an Interpolator behind LocalSlots and answers the pipeline's
// messages. Frames arrive as Uint8Arrays over SharedArrayBuffers (shared, not copied).
import { parentPort, workerData } from 'node:worker_threads';
import { KilnError, ModelError, UsageError } from '../errors.js';
import type { InterpolatorOptions } from './interpolator.js';
import { LocalSlots } from './slots.js';

export type Request =
  | { id: number; op: 'prepare'; slot: number; rgb: Uint8Array }
  | { id: number; op: 'interpolate'; a: number; b: number; t: number; out: Uint8Array }
  | { id: number; op: 'stats' }
  | { id: number; op: 'close' };

export interface WorkerInit {
  model: string;
  width: number;
  height: number;
  opts: InterpolatorOptions;
}

export interface SerializedError {
  kind: 'ModelError' | 'UsageError' | 'KilnError' | 'Error';
  message: string;
  file?: string;
  detail?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof ModelError) return { kind: 'ModelError', message: e.message, file: e.file, detail: e.message.slice(e.file.length + 2) };
  if (e instanceof UsageError) return { kind: 'UsageError', message: e.message };
  if (e instanceof KilnError) return { kind: 'KilnError', message: e.message };
  return { kind: 'Error', message: (e as Error)?.stack ?? String(e) };
}

const port = parentPort!;
const init = workerData as WorkerInit;
let slots: LocalSlots;
try {
  slots = await LocalSlots.open(init.model, init.width, init.height, init.opts);
  port.postMessage({ id: 0, ok: true, value: slots.info });
} catch (e) {
  port.postMessage({ id: 0, ok: false, error: serializeError(e) });
  process.exit(0);
}

port.on('message', async (m: Request) => {
  try {
    let value: unknown;
    if (m.op === 'prepare') value = await slots.prepare(m.rgb, m.slot);
    else if (m.op === 'interpolate') value = await slots.interpolate(m.a, m.b, m.t, m.out);
    else if (m.op === 'stats') value = await slots.stats();
    else if (m.op === 'close') {
      await slots.close();
      port.postMessage({ id: m.id, ok: true });
      port.close();
      return;
    }
    port.postMessage({ id: m.id, ok: true, value });
  } catch (e) {
    port.postMessage({ id: m.id, ok: false, error: serializeError(e) });
  }
});
