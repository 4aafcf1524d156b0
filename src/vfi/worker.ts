// The model's thread: loads the model as soon as it starts, builds an Interpolator behind
// LocalSlots once it is told the frame size, and answers the pipeline's messages. Frames arrive
// as Uint8Arrays over SharedArrayBuffers (shared, not copied).
import { parentPort, workerData } from 'node:worker_threads';
import { KilnError, ModelError, UsageError } from '../errors.js';
import type { InterpolatorOptions } from './interpolator.js';
import { LocalLoader, type LocalSlots } from './slots.js';

export type Request =
  | { id: number; op: 'size'; width: number; height: number }
  | { id: number; op: 'prepare'; slot: number; rgb: Uint8Array }
  | { id: number; op: 'interpolate'; a: number; b: number; t: number; out: Uint8Array }
  | { id: number; op: 'stats' }
  | { id: number; op: 'close' };

export interface WorkerInit {
  model: string;
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
let loader: LocalLoader;
let slots: LocalSlots | null = null;
try {
  loader = await LocalLoader.load(init.model, init.opts);
  port.postMessage({ id: 0, ok: true });
} catch (e) {
  port.postMessage({ id: 0, ok: false, error: serializeError(e) });
  process.exit(0);
}

port.on('message', async (m: Request) => {
  try {
    if (m.op === 'close') {
      await (slots ?? loader).close();
      port.postMessage({ id: m.id, ok: true });
      port.close();
      return;
    }
    let value: unknown;
    if (m.op === 'size') {
      slots = await loader.size(m.width, m.height);
      value = slots.info;
    } else if (!slots) throw new KilnError(`model thread: '${m.op}' before the frame size was given`);
    else if (m.op === 'prepare') value = await slots.prepare(m.rgb, m.slot);
    else if (m.op === 'interpolate') value = await slots.interpolate(m.a, m.b, m.t, m.out);
    else value = await slots.stats();
    port.postMessage({ id: m.id, ok: true, value });
  } catch (e) {
    port.postMessage({ id: m.id, ok: false, error: serializeError(e) });
  }
});
