import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModel } from '../../src/onnx/write.js';
import { resnetTiny, warpNet } from '../quantize/models.js';
import { INT8_SQNR_MIN_DB } from '../quantize/tolerances.js';
import { kiln } from '../helpers/cli.js';

let dir = '';
let cnn = '';
let warp = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-cli-quantize-'));
  cnn = join(dir, 'cnn.onnx');
  warp = join(dir, 'warp.onnx');
  await saveModel(resnetTiny(), cnn);
  await saveModel(warpNet(), warp);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const files = (): string[] => readdirSync(dir).sort();

test('kiln quantize --mode int8 writes the model and a report whose numbers are real', () => {
  const out = join(dir, 'cnn.int8.onnx');
  const r = kiln(['quantize', cnn, '-o', out, '--calib', 'random', '--calib-count', '10', '--speed-runs', '5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: calibrating on random data/);
  assert.match(r.stdout, /QLinearConv×6/);
  assert.match(r.stdout, /speed \(image=1x3x32x32, median of 5 interleaved runs\): FP32 [\d.]+ ms, int8 [\d.]+ ms/);
  const report = JSON.parse(readFileSync(join(dir, 'cnn.int8.report.json'), 'utf8'));
  assert.equal(report.outputs[0].name, 'logits');
  assert.ok(report.outputs[0].sqnr > INT8_SQNR_MIN_DB && Number.isFinite(report.outputs[0].sqnr));
  assert.ok(report.speed.fp32Ms > 0 && report.speed.quantizedMs > 0);
  assert.ok(Math.abs(report.speed.speedup - report.speed.fp32Ms / report.speed.quantizedMs) < 1e-9);
  assert.equal(report.calibration.samples + report.calibration.heldOut, 10);
});

test('kiln quantize --json prints the report; fp16 --keep-io-types keeps float32 I/O', () => {
  const out = join(dir, 'warp.fp16.onnx');
  const r = kiln(['quantize', warp, '-o', out, '--mode', 'fp16', '--keep-io-types', '--speed-runs', '0', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.mode, 'fp16');
  assert.equal(j.output, out);
  assert.ok(j.outputs[0].psnr > 50, `PSNR ${j.outputs[0].psnr}`);
  assert.ok(existsSync(out));
});

test('kiln quantize --sensitivity prints the layer table', () => {
  const r = kiln(['quantize', warp, '-o', join(dir, 'warp.int8.onnx'), '--calib', 'random', '--sensitivity', '--speed-runs', '0', '--exclude', 'op:GridSample']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sensitivity \(psnr/);
  assert.match(r.stdout, /enc1 +Conv/);
  assert.match(r.stdout, /warp +GridSample +excluded \(--exclude op:GridSample\)/);
});

test('bad input: clear errors, exit codes, nothing written', () => {
  const before = files();
  const quantized = join(dir, 'cnn.int8.onnx');
  const cases: [string[], number, RegExp][] = [
    [['quantize', quantized, '-o', join(dir, 'again.onnx'), '--calib', 'random'], 1, /already quantized/],
    [['quantize', warp, '-o', join(dir, 'x.onnx'), '--calib', 'random', '--exclude', 'op:GridSampler'], 2, /no GridSampler node/],
    [['quantize', warp, '-o', join(dir, 'x.onnx'), '--mode', 'int8-dynamic'], 2, /ConvInteger/],
    [['quantize', cnn, '-o', join(dir, 'x.onnx')], 2, /needs calibration data/],
    [['quantize', cnn, '-o', cnn, '--calib', 'random'], 2, /must differ from the input/],
    [['quantize', cnn, '-o', join(dir, 'x.onnx'), '--mode', 'int4'], 2, /--mode must be one of/],
  ];
  const imgs = join(dir, 'imgs');
  mkdirSync(imgs);
  writeFileSync(join(imgs, 'readme.txt'), 'not an image');
  cases.push([['quantize', cnn, '-o', join(dir, 'x.onnx'), '--calib', imgs], 2, /readme\.txt is not an image/]);
  for (const [args, code, msg] of cases) {
    const r = kiln(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  rmSync(imgs, { recursive: true });
  assert.deepEqual(files(), before, 'no output or temp file was left');
});
