// FP32 vs static INT8 (QDQ) vs FP16 on this CPU, for the corpus CNNs and the VFI model: latency
// of all precisions measured interleaved in one run (ratios hold on a busy machine), and output
// error on inputs the calibration never saw.
//
// CNNs: calibrated on 16 photos, scored on the remaining photos (top-1 agreement with FP32 and
// logit SQNR); the corpus weights are random (seeded), which the notes say.
// VFI: vfi-dev triplets (frame0, frame2, t = 0.5) in thirds: calibration, held-out (auto budget), scoring: PSNR of
// each precision against the true middle frame (uint8), and INT8's PSNR against FP32's output.
// Targets (issue 4): INT8 ≥ 1.6× FP32 on ResNet-18-class CNNs with top-1 agreement ≥ 99 %; the VFI
// model's INT8 PSNR within 0.3 dB of FP32. Anchor: onnxruntime INT8 ResNet-50 is 1.82× on a VNNI Xeon.
import { inputDefaults } from '../src/runtime/input-defaults.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { environment } from '../src/bench/env.js';
import { loadModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { decodeImage, loadSamples, PRESETS } from '../src/quantize/calibrate.js';
import { measureSpeed } from '../src/quantize/evaluate.js';
import type { Sample } from '../src/quantize/graph-util.js';
import { quantizeModel, type QuantizeOptions, type QuantizeReport } from '../src/quantize/index.js';
import { createSession, ort, run as runSession } from '../src/runtime/session.js';
import type { Cell, Report } from '../src/report/types.js';
import { REPORT_SCHEMA } from '../src/report/types.js';
import { BenchSkipped, REPO, type BenchContext } from './lib.js';

const INT8_U8 = 'INT8 (QDQ, uint8 act.)';
const INT8_S8 = 'INT8 (QDQ, int8 act.)';
const INT8_AUTO = 'INT8 auto (PSNR ≥ 40 dB vs FP32)';
const INT8_W7 = 'INT8 (QDQ, 7-bit weights)';
const CNNS = ['resnet18', 'mobilenet_v3_small', 'efficientnet_b0'];
const SEQUENCE_MODELS = ['lstm', 'attention', 'gru'];
const CORPUS = path.join(REPO, '.cache/corpus');
const PHOTO_DIRS = ['/usr/share/backgrounds', '/usr/share/backgrounds/mate/nature'];
const VFI_DEV = path.join(REPO, '../shared/data/vfi-dev/ucf101');

function photos(): string[] {
  const out: string[] = [];
  for (const d of PHOTO_DIRS) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) if (/\.jpe?g$/i.test(f) && statSync(path.join(d, f)).isFile()) out.push(path.join(d, f));
  }
  return out;
}

async function imageSample(files: string[], size: number, preset: { mean: number[]; std: number[] }): Promise<Float32Array> {
  const rgb = await decodeImage(files[0], size, size);
  const x = new Float32Array(3 * size * size);
  for (let p = 0; p < size * size; p++) for (let c = 0; c < 3; c++) x[c * size * size + p] = (rgb[p * 3 + c] / 255 - preset.mean[c]) / preset.std[c];
  return x;
}

async function planar(file: string, w: number, h: number): Promise<Float32Array> {
  const rgb = await decodeImage(file, w, h);
  const x = new Float32Array(3 * w * h);
  for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) x[c * w * h + p] = rgb[p * 3 + c] / 255;
  return x;
}

function vfiModel(ctx: BenchContext): string | null {
  const env = process.env.KILN_VFI_MODEL;
  if (env && existsSync(env)) return env;
  const dir = path.join(REPO, 'models');
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort() : [];
  if (found.length) return path.join(dir, found[0]);
  // No shipped model yet: export the training run's best checkpoint (read-only use of training/).
  const out = path.join(REPO, '.cache/quantize-bench/kiln-vfi.onnx');
  const ckpt = path.join(REPO, 'training/checkpoints/best.pt');
  if (!existsSync(ckpt)) return null;
  ctx.log('exporting training/checkpoints/best.pt to .cache/quantize-bench/kiln-vfi.onnx');
  const r = spawnSync('/usr/bin/python3', ['-m', 'kiln_vfi.export', '--ckpt', 'checkpoints/best.pt', '--out', out], { cwd: path.join(REPO, 'training'), encoding: 'utf8', timeout: 600_000 });
  return r.status === 0 && existsSync(out) ? out : null;
}

const psnr8 = (a: Float32Array, ref: Float32Array): number => {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.round(Math.min(1, Math.max(0, a[i])) * 255) - Math.round(ref[i] * 255);
    se += d * d;
  }
  return 10 * Math.log10((255 * 255) / (se / a.length));
};

interface Row extends Record<string, Cell> {
  model: string;
  precision: string;
  median: number;
  speedup: number;
}

export async function run(ctx: BenchContext): Promise<Report> {
  const env = environment();
  const runs = ctx.quick ? 5 : 20;
  const missing = [...CNNS, ...SEQUENCE_MODELS].filter((n) => !existsSync(path.join(CORPUS, `${n}.onnx`)));
  if (missing.length) {
    ctx.log(`exporting corpus models ${missing.join(', ')}`);
    spawnSync('/usr/bin/python3', [path.join(REPO, 'scripts/export-corpus.py'), '--only', ...missing], { cwd: REPO, encoding: 'utf8', timeout: 900_000 });
  }
  const cnns = CNNS.filter((n) => existsSync(path.join(CORPUS, `${n}.onnx`)));
  const pics = photos();
  if (!cnns.length) throw new BenchSkipped('no corpus CNN (scripts/export-corpus.py failed)');
  if (pics.length < 12) throw new BenchSkipped(`need ≥ 12 photos in ${PHOTO_DIRS.join(', ')} (Debian mate-backgrounds), found ${pics.length}`);
  const nCalib = ctx.quick ? 8 : 16;
  const nEval = ctx.quick ? 6 : pics.length - nCalib;
  ctx.log(`decoding ${nCalib + nEval} photos at 224×224 (ImageNet normalization)`);
  const imgs: Float32Array[] = [];
  for (const f of pics.slice(0, nCalib + nEval)) imgs.push(await imageSample([f], 224, PRESETS.imagenet));
  const rows: Row[] = [];
  const texts: string[] = [];
  const raw: Record<string, unknown> = {};
  const actRows: Record<string, Cell>[] = [];

  for (const name of cnns) {
    const file = path.join(CORPUS, `${name}.onnx`);
    const model = await loadModel(file);
    const input = model.graph.inputs[0].name;
    const samples: Sample[] = imgs.map((x) => ({ [input]: new ort.Tensor('float32', x, [1, 3, 224, 224]) }));
    const common: Partial<QuantizeOptions> = { calib: { kind: 'given', samples }, heldOut: nEval, speedRuns: 0, onProgress: (m) => ctx.log(`${name}: ${m}`) };
    const variants: { label: string; opts: QuantizeOptions }[] = [
      { label: INT8_U8, opts: { ...common, mode: 'int8' } as QuantizeOptions },
      { label: 'FP16', opts: { ...common, mode: 'fp16', keepIoTypes: true } as QuantizeOptions },
    ];
    if (name === 'resnet18' && !ctx.quick) variants.push({ label: INT8_S8, opts: { ...common, mode: 'int8', activations: 'int8' } as QuantizeOptions });
    const built: { label: string; bytes: Uint8Array; report: QuantizeReport }[] = [];
    for (const v of variants) {
      const r = await quantizeModel(model, v.opts);
      built.push({ label: v.label, bytes: encodeModel(r.model), report: r.report });
    }
    ctx.log(`${name}: timing FP32 and ${built.length} variants interleaved, ${runs} rounds`);
    const sp = await measureSpeed([encodeModel(model), ...built.map((b) => b.bytes)], samples[nCalib], { runs, warmup: 3 });
    rows.push({ model: name, precision: 'FP32', median: sp.medianMs[0], speedup: 1, sqnr: null, top1: null, psnrFp32: null, psnrGt: null, intOps: null });
    built.forEach((b, i) => {
      const o = b.report.outputs[0];
      rows.push({ model: name, precision: b.label, median: sp.medianMs[i + 1], speedup: sp.medianMs[0] / sp.medianMs[i + 1], sqnr: o.sqnr, top1: o.top1Agreement ?? null, psnrFp32: null, psnrGt: null, intOps: Object.values(b.report.ort.integerOps).reduce((a, c) => a + c, 0) });
      if (built.some((x) => x.label === INT8_S8) && (b.label === INT8_U8 || b.label === INT8_S8)) actRows.push({ model: name, activations: b.label === INT8_U8 ? 'uint8 asymmetric' : 'int8 symmetric', median: sp.medianMs[i + 1], speedup: sp.medianMs[0] / sp.medianMs[i + 1], sqnr: o.sqnr, fusedConv: b.report.ort.integerOps.QLinearConv ?? 0 });
    });
    raw[name] = { samplesMs: sp.samples, labels: ['FP32', ...built.map((b) => b.label)], reports: built.map((b) => b.report) };
  }

  // Sequence models (corpus LSTM and attention block): dynamic INT8, at the weight width the
  // quantizer picks for this CPU and at 8 bits, and FP16; scored on seeded random sequences.
  for (const name of SEQUENCE_MODELS) {
    const file = path.join(CORPUS, `${name}.onnx`);
    if (!existsSync(file)) {
      texts.push(`${name}: skipped — ${path.relative(REPO, file)} absent (scripts/export-corpus.py)`);
      continue;
    }
    const model = await loadModel(file);
    const { samples } = await loadSamples(model, { kind: 'random', count: 12, seed: 3 });
    const common: Partial<QuantizeOptions> = { calib: { kind: 'given', samples }, heldOut: 8, speedRuns: 0, onProgress: (m) => ctx.log(`${name}: ${m}`) };
    const variants: { label: string; opts: QuantizeOptions }[] = [
      { label: 'INT8 dynamic (default weights)', opts: { ...common, mode: 'int8-dynamic' } as QuantizeOptions },
      { label: 'INT8 dynamic, 8-bit weights', opts: { ...common, mode: 'int8-dynamic', weightBits: 8 } as QuantizeOptions },
      { label: 'FP16', opts: { ...common, mode: 'fp16', keepIoTypes: true } as QuantizeOptions },
    ];
    const built: { label: string; bytes: Uint8Array; report: QuantizeReport }[] = [];
    for (const v of variants) {
      const r = await quantizeModel(model, v.opts);
      const label = v.label.includes('default') ? `INT8 dynamic (${r.report.calibration?.weightBits}-bit weights, default here)` : v.label;
      built.push({ label, bytes: encodeModel(r.model), report: r.report });
    }
    const sp = await measureSpeed([encodeModel(model), ...built.map((b) => b.bytes)], samples[0], { runs, warmup: 3 });
    rows.push({ model: name, precision: 'FP32', median: sp.medianMs[0], speedup: 1, sqnr: null, top1: null, psnrFp32: null, psnrGt: null, intOps: null });
    built.forEach((b, i) => rows.push({ model: name, precision: b.label, median: sp.medianMs[i + 1], speedup: sp.medianMs[0] / sp.medianMs[i + 1], sqnr: b.report.outputs[0].sqnr, top1: null, psnrFp32: null, psnrGt: null, intOps: Object.values(b.report.ort.integerOps).reduce((a, c) => a + c, 0) }));
    raw[name] = { samplesMs: sp.samples, labels: ['FP32', ...built.map((b) => b.label)], reports: built.map((b) => b.report) };
  }

  // The VFI model.
  const vfi = vfiModel(ctx);
  const triplets = existsSync(VFI_DEV) ? readdirSync(VFI_DEV).filter((d) => existsSync(path.join(VFI_DEV, d, 'frame1.png'))).sort((a, b) => Number(a) - Number(b)) : [];
  if (!vfi) texts.push('VFI: skipped — no models/*.onnx, no $KILN_VFI_MODEL and no training checkpoint to export.');
  else if (triplets.length < 4) texts.push(`VFI: skipped — ${VFI_DEV} (validation triplets) absent.`);
  else {
    const model = await loadModel(vfi);
    const step = model.metadataProps.find((p) => p.key === 'kiln.train_step')?.value;
    if (step) texts.push(`VFI model: ${path.relative(REPO, vfi)}, training step ${step} (metadata kiln.train_step).`);
    const declared = inputDefaults(model.metadataProps, vfi);
    const names = model.graph.inputs.map((v) => v.name).filter((n) => !declared.has(n));
    const [w, h] = [320, 240];
    const use = ctx.quick ? triplets.slice(0, 8) : triplets;
    // Three disjoint thirds: calibration, held-out scoring inside quantizeModel (and the auto
    // budget), and the final PSNR against the true frames, which no choice has seen.
    const third = Math.floor(use.length / 3);
    const half = use.length - third; // samples given to quantizeModel
    const heldOut = third;
    ctx.log(`VFI ${path.basename(vfi)}: decoding ${use.length} triplets`);
    const trip: { s: Sample; gt: Float32Array }[] = [];
    for (const d of use) {
      const [a, gt, b] = await Promise.all(['frame0', 'frame1', 'frame2'].map((f) => planar(path.join(VFI_DEV, d, `${f}.png`), w, h)));
      const s: Sample = { [names[0]]: new ort.Tensor('float32', a, [1, 3, h, w]), [names[1]]: new ort.Tensor('float32', b, [1, 3, h, w]) };
      if (names[2]) s[names[2]] = new ort.Tensor('float32', new Float32Array([0.5]), [1, 1, 1, 1]);
      // the model's declared setting inputs (the motion scale: 1), as kiln interpolate feeds them
      for (const [k, v] of declared) s[k] = new ort.Tensor('float32', new Float32Array([v]), [1]);
      trip.push({ s, gt });
    }
    const samples = trip.slice(0, half).map((t) => t.s);
    const common = { calib: { kind: 'given' as const, samples }, heldOut, speedRuns: 0, onProgress: (m: string) => ctx.log(`vfi: ${m}`) };
    const built = [];
    const variants = [[INT8_U8, { ...common, mode: 'int8' }], [INT8_W7, { ...common, mode: 'int8', weightBits: 7 }], [INT8_AUTO, { ...common, mode: 'auto', budget: { metric: 'psnr', min: 40 } }], ['FP16', { ...common, mode: 'fp16', keepIoTypes: true }]] as const;
    for (const [label, opts] of ctx.quick ? variants.filter((v) => v[0] !== INT8_AUTO) : variants) {
      const r = await quantizeModel(model, opts as QuantizeOptions);
      built.push({ label, bytes: encodeModel(r.model), report: r.report });
    }
    const all = [encodeModel(model), ...built.map((b) => b.bytes)];
    const gtPsnr: number[] = [];
    for (const bytes of all) {
      const s = await createSession(bytes);
      let sum = 0;
      for (const t of trip.slice(half)) {
        const res = await runSession(s, t.s);
        sum += psnr8((res.output ?? Object.values(res)[0]).data as Float32Array, t.gt);
      }
      gtPsnr.push(sum / (trip.length - half));
      await s.release();
    }
    // Time at 640×480 (the size VFI targets are quoted at): the frames upscaled, t = 0.5.
    const big: Sample = {};
    const f0 = await planar(path.join(VFI_DEV, use[0], 'frame0.png'), 640, 480);
    const f2 = await planar(path.join(VFI_DEV, use[0], 'frame2.png'), 640, 480);
    big[names[0]] = new ort.Tensor('float32', f0, [1, 3, 480, 640]);
    big[names[1]] = new ort.Tensor('float32', f2, [1, 3, 480, 640]);
    if (names[2]) big[names[2]] = new ort.Tensor('float32', new Float32Array([0.5]), [1, 1, 1, 1]);
    for (const [k, v] of declared) big[k] = new ort.Tensor('float32', new Float32Array([v]), [1]);
    ctx.log(`vfi: timing FP32, INT8, FP16 interleaved at 640×480, ${runs} rounds`);
    const sp = await measureSpeed(all, big, { runs, warmup: 2 });
    const label = `vfi ${path.basename(vfi)}`;
    rows.push({ model: label, precision: 'FP32', median: sp.medianMs[0], speedup: 1, sqnr: null, top1: null, psnrFp32: null, psnrGt: gtPsnr[0], intOps: null });
    built.forEach((b, i) => {
      const o = b.report.outputs[0];
      rows.push({ model: label, precision: b.label, median: sp.medianMs[i + 1], speedup: sp.medianMs[0] / sp.medianMs[i + 1], sqnr: o.sqnr, top1: null, psnrFp32: o.psnr ?? null, psnrGt: gtPsnr[i + 1], intOps: Object.values(b.report.ort.integerOps).reduce((a, c) => a + c, 0) });
    });
    const drop = gtPsnr[0] - gtPsnr[1];
    const int8Out = built[0].report.outputs[0];
    if (int8Out.maxAbs === 0)
      texts.push(`VFI caveat: the INT8 output equals the FP32 output exactly (max |Δ| = 0). This model's output does not depend on its convolutions (a checkpoint whose flow/mask heads are still zero outputs the average of the two frames), so the 0.3 dB target is not tested by it; rerun with a trained model (KILN_VFI_MODEL=…).`);
    texts.push(`VFI (${path.basename(vfi)}, calibrated on triplets ${use.slice(0, half - heldOut).join(',')}, held out ${use.slice(half - heldOut, half).join(',')} (budget), scored against the true frames on ${use.slice(half).join(',')}): INT8 PSNR vs ground truth ${gtPsnr[1].toFixed(2)} dB, FP32 ${gtPsnr[0].toFixed(2)} dB — ${drop <= 0.3 ? 'PASS' : 'FAIL'} (target: within 0.3 dB; drop ${drop.toFixed(3)} dB). INT8 speed-up at 640×480: ${(sp.medianMs[0] / sp.medianMs[1]).toFixed(2)}×.`);
    const wi = built.findIndex((b) => b.label === INT8_W7);
    if (wi >= 0) {
      const d = gtPsnr[0] - gtPsnr[wi + 1];
      texts.push(`VFI INT8 with 7-bit weights (no u8×s8 saturation on x86 without VNNI): PSNR vs ground truth ${gtPsnr[wi + 1].toFixed(2)} dB — ${d <= 0.3 ? 'PASS' : 'FAIL'} (drop ${d.toFixed(3)} dB), ${(sp.medianMs[0] / sp.medianMs[wi + 1]).toFixed(2)}× FP32.`);
    }
    const ai = built.findIndex((b) => b.label === INT8_AUTO);
    if (ai >= 0) {
      const a = built[ai].report;
      const d = gtPsnr[0] - gtPsnr[ai + 1];
      texts.push(`VFI INT8 auto: ${a.sensitivity?.keptFloat.length ?? 0} of ${a.sensitivity?.rows.length ?? 0} conv layers kept float (${(a.sensitivity?.keptFloat ?? []).join(', ') || 'none'}) to reach PSNR ≥ 40 dB vs FP32 on the held-out triplets: PSNR vs ground truth ${gtPsnr[ai + 1].toFixed(2)} dB — ${d <= 0.3 ? 'PASS' : 'FAIL'} (drop ${d.toFixed(3)} dB), ${(sp.medianMs[0] / sp.medianMs[ai + 1]).toFixed(2)}× FP32.`);
    }
    raw.vfi = { model: vfi, samplesMs: sp.samples, gtPsnr, reports: built.map((b) => b.report) };
  }

  const r18 = rows.find((r) => r.model === 'resnet18' && r.precision === INT8_U8);
  if (r18) texts.unshift(`ResNet-18 INT8: ${r18.speedup.toFixed(2)}× FP32, top-1 agreement ${Number(r18.top1).toFixed(1)} % on ${nEval} photos not used for calibration — ${r18.speedup >= 1.6 && Number(r18.top1) >= 99 ? 'PASS' : 'FAIL'} (target ≥ 1.6× and ≥ 99 %; anchor: onnxruntime INT8 ResNet-50 1.82× on a VNNI Xeon).`);
  return {
    schema: REPORT_SCHEMA,
    kind: 'custom',
    title: 'quantization: FP32 vs INT8 vs FP16',
    env,
    settings: { provider: 'cpu', threads: 'default', rounds: runs, calibrationPhotos: nCalib, evaluationPhotos: nEval, calibrator: 'minmax' },
    sections: [
      {
        id: 'precisions',
        title: 'Latency and error per precision (interleaved, same run)',
        text: texts,
        table: {
          columns: [
            { key: 'model', title: 'model' },
            { key: 'precision', title: 'precision' },
            { key: 'median', title: 'median', unit: 'ms' },
            { key: 'speedup', title: 'FP32 ÷ this', unit: '×', digits: 3 },
            { key: 'sqnr', title: 'output SQNR vs FP32', unit: 'dB', digits: 3 },
            { key: 'top1', title: 'top-1 agreement', unit: '%', digits: 4 },
            { key: 'psnrFp32', title: 'PSNR vs FP32 output', unit: 'dB', digits: 4 },
            { key: 'psnrGt', title: 'PSNR vs true frame', unit: 'dB', digits: 4 },
            { key: 'intOps', title: 'integer kernels' },
          ],
          rows,
        },
      },
      ...(actRows.length
        ? [{
            id: 'activations',
            title: 'Activation encoding: uint8 asymmetric (default) vs int8 symmetric',
            text: ['Measured in the same interleaved run as above. onnxruntime on x86 runs u8×s8 integer GEMMs; with int8 symmetric activations the Relu after a Conv is no longer folded into the Q (ReluQuantFusion needs the lowest zero point) and fewer convs fuse.'],
            table: {
              columns: [
                { key: 'model', title: 'model' },
                { key: 'activations', title: 'activations' },
                { key: 'median', title: 'median', unit: 'ms' },
                { key: 'speedup', title: 'FP32 ÷ this', unit: '×', digits: 3 },
                { key: 'sqnr', title: 'output SQNR', unit: 'dB', digits: 3 },
                { key: 'fusedConv', title: 'QLinearConv' },
              ],
              rows: actRows,
            },
          }]
        : []),
    ],
    notes: [
      'The corpus CNNs have random (seeded) weights, not trained ones: top-1 agreement measures how far INT8 moves the argmax of such logits, which is usually harder than for a trained net with confident predictions.',
      'FP16 on onnxruntime’s CPU EP is not a speed option: most ops have no float16 kernel, so onnxruntime inserts Casts and computes in float32; FP16 is for GPU deployment.',
      'Static INT8 uses MinMax calibration, per-channel symmetric int8 weights, int32 biases, uint8 asymmetric activations.',
    ],
    raw,
  };
}
