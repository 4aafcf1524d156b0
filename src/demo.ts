// The README's main job on embedded defaults: render a short sample clip from a real photo,
// optimize the shipped model for that clip's size (verified on onnxruntime), and interpolate
// the clip 2× with the optimized model. Everything lands in .cache/demo/.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { KilnError } from './errors.js';
import { loadModel } from './onnx/read.js';
import { saveModel } from './onnx/write.js';
import { optimizeModel, type OptimizeReport } from './passes/index.js';
import { interpolateVideo, type Summary } from './video/pipeline.js';
import { ffmpegPath, INSTALL_HINT } from './video/ffmpeg.js';
import { SHIPPED_MODEL } from './vfi/models.js';

export const DEMO_DIR = fileURLToPath(new URL('../.cache/demo/', import.meta.url));

/** Photos from Debian's mate-backgrounds (GPL-2+): rendered at run time, never committed. */
const PHOTOS = ['/usr/share/backgrounds/mate/nature/Storm.jpg', '/usr/share/backgrounds/mate/nature/Wood.jpg'];

export interface DemoResult {
  sample: string;
  optimizedModel: string;
  optimization: OptimizeReport;
  interpolation: Summary;
}

/**
 * A 3 s 640×480 30 fps clip: the camera pans and zooms across a photo (motion of 1–4 px per
 * frame, like real footage), with a 440 Hz tone as its audio track.
 */
export function makeSampleClip(out: string, opts: { width?: number; height?: number; seconds?: number } = {}): string {
  const photo = PHOTOS.find(existsSync);
  if (!photo) throw new KilnError(`no sample photo found (looked for ${PHOTOS.join(', ')}); install it with: apt-get install mate-backgrounds`);
  const w = opts.width ?? 640, h = opts.height ?? 480, secs = opts.seconds ?? 3;
  const tmp = `${out}.kiln-tmp-${process.pid}.mp4`;
  // Scale the photo to twice the clip width, then move a clip-sized window over it.
  const filter = `scale=${2 * w}:-2,crop=${w}:${h}:x='(iw-${w})*t/${secs}':y='(ih-${h})*(0.5+0.4*sin(t))',format=yuv420p`;
  const r = spawnSync(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-loop', '1', '-framerate', '30', '-i', photo,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${secs}`,
    '-vf', filter, '-t', String(secs), '-r', '30',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-c:a', 'aac', '-b:a', '64k', '-shortest', tmp,
  ], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    if (r.error) throw new KilnError(`cannot run ffmpeg: ${r.error.message}; ${INSTALL_HINT}`);
    throw new KilnError(`ffmpeg could not render the sample clip: ${r.stderr.trim()}`);
  }
  renameSync(tmp, out);
  return out;
}

export async function runDemo(opts: { onLog?: (s: string) => void } = {}): Promise<DemoResult> {
  const log = opts.onLog ?? (() => {});
  if (!existsSync(SHIPPED_MODEL)) throw new KilnError(`the shipped model ${SHIPPED_MODEL} is missing`);
  mkdirSync(DEMO_DIR, { recursive: true });
  const sample = join(DEMO_DIR, 'sample-640x480.mp4');
  if (!existsSync(sample)) {
    log(`rendering ${sample} from a photo`);
    makeSampleClip(sample);
  }
  log('optimizing the shipped model for 640×480 (each rewrite verified on onnxruntime)');
  const model = await loadModel(SHIPPED_MODEL);
  const shape = [1, 3, 480, 640];
  const inputShapes: Record<string, number[]> = {};
  for (const v of model.graph.inputs) {
    if (v.isConstant) continue;
    const rank = v.shape?.length ?? 0;
    inputShapes[v.name] = rank === 4 && v.shape?.[1] === 3 ? shape : Array(rank).fill(1);
  }
  const { model: optimized, report } = await optimizeModel(model, { inputShapes });
  const optimizedModel = join(DEMO_DIR, 'kiln-vfi.640x480.onnx');
  await saveModel(optimized, optimizedModel);
  log('interpolating the clip 2× with the optimized model');
  const interpolation = await interpolateVideo({ input: sample, output: join(DEMO_DIR, 'sample-640x480-2x.mp4'), factor: 2, model: optimizedModel });
  return { sample, optimizedModel, optimization: report, interpolation };
}
