import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantizeModel } from '../../src/quantize/index.js';
import { parseBudget, rankBySensitivity } from '../../src/quantize/sensitivity.js';
import { UsageError } from '../../src/errors.js';
import { sensitiveNet, resnetTiny } from './models.js';

test('the deliberately sensitive layer (huge activation range) is found and kept float to meet the budget', async () => {
  const { report } = await quantizeModel(sensitiveNet(), { mode: 'int8', calib: { kind: 'random', count: 12 }, budget: { metric: 'psnr', min: 35 }, speedRuns: 0 });
  const s = report.sensitivity!;
  assert.ok(s.allQuantized < 35, `fully quantized PSNR ${s.allQuantized} should miss the budget (else the test proves nothing)`);
  const worstTensor = [...s.rows].sort((a, b) => a.tensorSqnr - b.tensorSqnr)[0];
  assert.equal(worstTensor.node, 'hot', 'lowest tensor SQNR');
  assert.equal(rankBySensitivity(s.rows)[0].node, 'hot', 'first in the keep-float order');
  assert.deepEqual(s.keptFloat, ['hot']);
  assert.ok(s.met && s.final >= 35, `final ${s.final}`);
  assert.ok(report.outputs[0].psnr! >= 35, 'the written model meets the budget on the held-out samples');
  assert.ok(report.keptFloat.some((k) => k.node === 'hot' && /quality budget/.test(k.reason)));
});

test('auto mode on a well-behaved net keeps nothing float', async () => {
  const { report } = await quantizeModel(resnetTiny(), { mode: 'auto', calib: { kind: 'random', count: 10 }, speedRuns: 0 });
  assert.equal(report.sensitivity!.metric, 'top1');
  assert.deepEqual(report.sensitivity!.keptFloat, []);
  assert.equal(report.sensitivity!.rows.length, 7);
});

test('budget specs', () => {
  assert.deepEqual(parseBudget('psnr=38'), { metric: 'psnr', min: 38 });
  assert.deepEqual(parseBudget('TOP1 = 99.5'), { metric: 'top1', min: 99.5 });
  assert.throws(() => parseBudget('psnr>38'), UsageError);
});
