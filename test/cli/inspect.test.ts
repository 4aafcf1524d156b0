import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelBuilder } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import { encodeModel } from '../../src/onnx/write.js';
import { kiln } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-inspect-'));

function writeConv(): string {
  const b = new ModelBuilder();
  const x = b.input('image', DataType.FLOAT, ['batch', 3, 'height', 'width']);
  const w = b.floats('w', [4, 3, 3, 3], new Float32Array(108).fill(0.1));
  b.output(b.op('Conv', [x, w], { pads: [1, 1, 1, 1] }, { name: 'conv1' }));
  const file = join(dir, 'conv.onnx');
  writeFileSync(file, encodeModel(b.build()));
  return file;
}

test('kiln inspect --json reports I/O with symbolic dims and MACs at --input-shape', () => {
  const file = writeConv();
  const r = kiln(['inspect', file, '--input-shape', 'image=1x3x480x640', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.inputs[0].shape, ['batch', 3, 'height', 'width']);
  assert.equal(j.cost.macs, 4 * 480 * 640 * 27);
  assert.equal(j.parameters.count, 108);
});

test('kiln inspect prints a readable summary', () => {
  const r = kiln(['inspect', writeConv()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /image\s+float32\s+\[batch, 3, height, width\]/);
  assert.match(r.stdout, /Conv\s+1/);
});

test('bad input: exit 1 with one line naming the file, no stack trace', () => {
  const garbage = join(dir, 'garbage.onnx');
  writeFileSync(garbage, Buffer.from('this is not a protobuf at all, just text\n'));
  const r = kiln(['inspect', garbage]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`kiln: ${garbage}: `));
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const missing = kiln(['inspect', join(dir, 'missing.onnx')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /missing\.onnx: no such file/);
});

test('bad usage exits 2: unknown option, malformed --input-shape', () => {
  assert.equal(kiln(['inspect', '--frobnicate', 'x.onnx']).code, 2);
  const r = kiln(['inspect', writeConv(), '--input-shape', 'image=1x3xfoo']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--input-shape expects name=1x3x480x640/);
});

test('kiln --version and --help exit 0', () => {
  const v = kiln(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  const h = kiln(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /inspect/);
});
