// `kiln interpolate` as a user runs it: exit codes, the --json summary, messages for bad input,
// Ctrl-C, and image mode. Each case spawns bin/kiln.js.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readPicture } from '../../src/vfi/images.js';
import { badInputs } from '../fixtures/vfi/bad.js';
import { photosMissing, renderClip, renderPicturePair } from '../fixtures/vfi/clips.js';
import { streams } from '../fixtures/vfi/measure.js';
import { fixtureModels, model, whyNoModels } from '../fixtures/vfi/models.js';

const KILN = fileURLToPath(new URL('../../bin/kiln.js', import.meta.url));
const kiln = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [KILN, 'interpolate', ...args], { encoding: 'utf8', env });
const skipReason = () => (fixtureModels() ? photosMissing() : whyNoModels());
const cutClip = () => renderClip({ name: 'cut', width: 320, height: 240, rate: '30', frames: 20, cutAt: 10, audio: true, codec: 'x264' });

test('--json prints the summary on stdout: frames in/out, wall time, fps, stage shares', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const out = join(mkdtempSync(join(tmpdir(), 'kiln-cli-')), 'out.mp4');
  const r = kiln([cutClip(), '-o', out, '--model', model('kiln_blend'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress when stderr is not a terminal');
  const s = JSON.parse(r.stdout);
  assert.equal(s.framesIn, 20);
  assert.equal(s.framesOut, 40);
  assert.ok(s.wallMs > 0 && s.fps > 0);
  const shares = s.share.decode + s.share.infer + s.share.encode;
  assert.ok(Math.abs(shares - 1) < 0.01, `shares sum to ${shares}`);
  assert.ok(['decode', 'infer', 'encode'].includes(s.bottleneck));
  assert.equal(streams(out).length, 2);
});

test('bad input: each a one-line error naming the problem, exit 1, nothing written', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-'));
  const m = ['--model', model('kiln_blend')];
  const cases: [string, string[], RegExp][] = [
    ['missing file', ['/nonexistent/in.mp4', '-o', join(dir, 'a.mp4'), ...m], /in\.mp4: no such file/],
    ['not a video', [badInputs.notVideo(), '-o', join(dir, 'b.mp4'), ...m], /not a video or image ffprobe can read/],
    ['one frame', [badInputs.oneFrame(), '-o', join(dir, 'c.mp4'), ...m], /has 1 frame; interpolation needs at least 2/],
    ['10-bit', [badInputs.tenBit(), '-o', join(dir, 'd.mp4'), ...m], /more than 8 bits per component/],
    ['alpha', [badInputs.alpha(), '-o', join(dir, 'e.mp4'), ...m], /alpha channel/],
    ['variable frame rate', [badInputs.vfr(), '-o', join(dir, 'f.mp4'), ...m], /variable frame rate/],
    ['huge', [badInputs.huge(), '-o', join(dir, 'g.mkv'), ...m], /larger than kiln's limit/],
    ['odd size for H.264', [badInputs.odd(), '-o', join(dir, 'h.mp4'), ...m], /odd dimension.*--codec ffv1/],
    ['wrong model', [cutClip(), '-o', join(dir, 'i.mp4'), '--model', model('wrong_inputs')], /inputs are image float32\[1,3,H,W\]; supported: kiln/],
    ['output is the input', [cutClip(), '-o', cutClip(), ...m], /is the input file/],
    ['model file missing', [cutClip(), '-o', join(dir, 'j.mp4'), '--model', join(dir, 'none.onnx')], /none\.onnx: no such model file/],
  ];
  for (const [name, args, message] of cases) {
    const r = kiln(args);
    assert.equal(r.status, 1, `${name}: exit ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, message, name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
  }
  assert.deepEqual(readdirSync(dir), []);
  const usage = kiln([cutClip(), '-o', join(dir, 'k.mp4'), ...m, '--factor', '3']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--factor must be 2, 4 or 8/);
});

test('-o through a symlink to the input is refused too', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-'));
  const input = join(dir, 'in.mp4');
  copyFileSync(cutClip(), input);
  symlinkSync(input, join(dir, 'link.mp4'));
  const r = kiln([input, '-o', join(dir, 'link.mp4'), '--model', model('kiln_blend')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is the input file/);
});

test('without ffmpeg on PATH the error says how to install it', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const empty = mkdtempSync(join(tmpdir(), 'kiln-nopath-'));
  mkdirSync(join(empty, 'bin'));
  const r = kiln([cutClip(), '-o', join(empty, 'x.mp4'), '--model', model('kiln_blend')], { ...process.env, PATH: join(empty, 'bin'), KILN_FFMPEG: '', KILN_FFPROBE: '' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /ffprobe was not found.*apt-get install ffmpeg/);
  // ffprobe there, ffmpeg not: the decoder's spawn fails the same way, and nothing is left behind.
  const r2 = kiln([cutClip(), '-o', join(empty, 'y.mp4'), '--model', model('kiln_blend')], { ...process.env, KILN_FFMPEG: join(empty, 'bin', 'ffmpeg') });
  assert.equal(r2.status, 1, r2.stderr);
  assert.match(r2.stderr, /ffmpeg was not found.*apt-get install ffmpeg/);
  assert.deepEqual(readdirSync(empty), ['bin']);
});

test('Ctrl-C stops the pipeline: exit 130, no output and no temporary file', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const input = renderClip({ name: 'long', width: 320, height: 240, rate: '30', frames: 150, codec: 'x264' });
  const dir = mkdtempSync(join(tmpdir(), 'kiln-int-'));
  const child = spawn(process.execPath, [KILN, 'interpolate', input, '-o', join(dir, 'out.mp4'), '--model', model('kiln_flow'), '--factor', '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Interrupt once ffmpeg has started writing the temporary file.
  const started = Date.now();
  while (readdirSync(dir).length === 0 && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 50));
  assert.equal(readdirSync(dir).length, 1, 'the temporary output appeared');
  assert.match(readdirSync(dir)[0], /^\.out\.kiln-\d+-[0-9a-f]+\.partial\.mp4$/);
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted \(Ctrl-C\); no output was written/);
  assert.deepEqual(readdirSync(dir), []);
});

test('image mode: the middle frame, and --frames N into a numbered pattern', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const files = renderPicturePair('odd', 333, 277, 12, 6);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-img-'));
  const mid = join(dir, 'mid.png');
  const r = kiln([files.a, files.b, '-o', mid, '--model', model('kiln_blend'), '--t', '0.25']);
  assert.equal(r.status, 0, r.stderr);
  const [A, B, M] = await Promise.all([readPicture(files.a), readPicture(files.b), readPicture(mid)]);
  assert.deepEqual([M.width, M.height], [333, 277]);
  let worst = 0;
  for (let i = 0; i < M.rgb.length; i++) worst = Math.max(worst, Math.abs(M.rgb[i] - (0.75 * A.rgb[i] + 0.25 * B.rgb[i])));
  assert.ok(worst <= 1, `max error ${worst}`);
  const many = kiln([files.a, files.b, '-o', join(dir, 'f_%02d.png'), '--model', model('kiln_blend'), '--frames', '3', '--json']);
  assert.equal(many.status, 0, many.stderr);
  assert.deepEqual(JSON.parse(many.stdout).outputs.map((o: { t: number }) => o.t), [0.25, 0.5, 0.75]);
  for (const k of ['01', '02', '03']) assert.ok(existsSync(join(dir, `f_${k}.png`)));
  const bad = kiln([files.a, files.b, '-o', join(dir, 'x.png'), '--model', model('kiln_blend'), '--frames', '3']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /needs one %d/);
  assert.deepEqual(readdirSync(dir).sort(), ['f_01.png', 'f_02.png', 'f_03.png', 'mid.png']);
});

test('--profile sets up the session from src/runtime/profiles.ts and refuses one this process cannot run', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-prof-'));
  const ok = kiln([cutClip(), '-o', join(dir, 'edge.mp4'), '--model', model('kiln_blend'), '--profile', 'edge', '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /profile 'edge' targets fp16; interpolate runs the model file as given/);
  assert.equal(JSON.parse(ok.stdout).framesOut, 40);
  const browser = kiln([cutClip(), '-o', join(dir, 'b.mp4'), '--model', model('kiln_blend'), '--profile', 'browser-wasm']);
  assert.equal(browser.status, 1);
  assert.match(browser.stderr, /runs in a browser/);
  const unknown = kiln([cutClip(), '-o', join(dir, 'u.mp4'), '--model', model('kiln_blend'), '--profile', 'mainframe']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown profile 'mainframe'/);
  assert.deepEqual(readdirSync(dir), ['edge.mp4']);
});
