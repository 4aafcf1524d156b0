import assert from 'node:assert/strict';
import { test } from 'node:test';
import { format, parseRate, parseRational } from '../../src/video/rational.js';

test('parseRational reads ffprobe and decimal spellings and reduces', () => {
  assert.deepEqual(parseRational('30000/1001'), { num: 30000, den: 1001 });
  assert.deepEqual(parseRational('60/2'), { num: 30, den: 1 });
  assert.deepEqual(parseRational('25'), { num: 25, den: 1 });
  assert.deepEqual(parseRational('12.5'), { num: 25, den: 2 });
  assert.equal(parseRational('0/0'), null);
  assert.equal(parseRational('abc'), null);
});

test('parseRate maps NTSC decimals to the exact 1001 rates and rejects nonsense', () => {
  assert.equal(format(parseRate('59.94')), '60000/1001');
  assert.equal(format(parseRate('29.97')), '30000/1001');
  assert.equal(format(parseRate('23.976')), '24000/1001');
  assert.equal(format(parseRate('60')), '60');
  assert.equal(format(parseRate('60000/1001')), '60000/1001');
  assert.throws(() => parseRate('fast'), /--fps expects/);
  assert.throws(() => parseRate('0'), /--fps expects/);
});
