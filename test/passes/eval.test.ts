// Every row of the evaluator table against the ONNX reference outputs shipped in Debian's
// libonnx-testdata: for each single-node backend test whose op has a row, evaluate the node on
// test_data_set_0's inputs and compare with its outputs. A row without any passing reference
// test fails the suite (the table and the implementations must agree).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataType, isFloat } from '../../src/ir/dtype.js';
import { loadModel } from '../../src/onnx/read.js';
import { readTensorProto } from '../../src/onnx/tensor-file.js';
import { EVALUATORS } from '../../src/passes/eval/table.js';
import { evaluate } from '../../src/passes/eval/run.js';
import { Tensor } from '../../src/ir/tensor.js';

const ROOT = '/usr/share/libonnx-testdata/data/node';

function close(got: Tensor, want: Tensor): string | null {
  if (got.dataType !== want.dataType) return `type ${got.dataType}, expected ${want.dataType}`;
  if (got.dims.join(',') !== want.dims.join(',')) return `dims [${got.dims}], expected [${want.dims}]`;
  if (want.dataType === DataType.STRING) return null;
  const a = got.toNumbers(), e = want.toNumbers();
  const half = want.dataType === DataType.FLOAT16 || want.dataType === DataType.BFLOAT16;
  const [abs, rel] = isFloat(want.dataType) ? (half ? [1e-3, 1e-3] : [1e-5, 1e-5]) : [0, 0];
  for (let i = 0; i < e.length; i++) {
    if (Number.isNaN(e[i]) && Number.isNaN(a[i])) continue;
    if (a[i] === e[i]) continue;
    if (!(Math.abs(a[i] - e[i]) <= abs + rel * Math.abs(e[i]))) return `element ${i} is ${a[i]}, expected ${e[i]}`;
  }
  return null;
}

/** onnx 1.12's test data stores bfloat16 tensors as uint16 (numpy has no bfloat16): reinterpret the bits. */
function asDeclared(t: Tensor, declared: number | undefined): Tensor {
  if (declared === DataType.BFLOAT16 && t.dataType === DataType.UINT16) return Tensor.fromBytes(DataType.BFLOAT16, t.dims, t.bytes());
  return t;
}

test('every evaluator row agrees with the libonnx-testdata reference outputs', async (t) => {
  if (!existsSync(ROOT)) return t.skip(`${ROOT} is missing (apt-get install libonnx-testdata)`);
  const passed = new Map<string, string[]>();
  const refused = new Map<string, string[]>();
  const failures: string[] = [];
  for (const dir of readdirSync(ROOT).sort()) {
    if (dir.endsWith('_expanded')) continue;
    const data = join(ROOT, dir, 'test_data_set_0');
    if (!existsSync(data)) continue;
    let model;
    try {
      model = await loadModel(join(ROOT, dir, 'model.onnx'));
    } catch {
      continue; // sequences/optionals the reader does not take are not evaluator cases
    }
    const g = model.graph;
    if (g.nodes.length !== 1) continue;
    const node = g.nodes[0];
    if (node.domain !== '' || !EVALUATORS[node.opType]) continue;
    if ([...g.inputs, ...g.outputs].some((v) => v.type?.kind !== 'tensor')) continue; // optionals, sequences
    const files = readdirSync(data);
    const inputs: (Tensor | null)[] = [];
    const byName = new Map<string, Tensor>();
    g.inputs.filter((v) => !v.isConstant).forEach((v, i) => {
      const f = join(data, `input_${i}.pb`);
      if (existsSync(f)) byName.set(v.name, asDeclared(readTensorProto(f), v.elemType));
    });
    for (const v of g.initializers) byName.set(v.name, v.initializer!);
    let missing = false;
    for (const v of node.inputs) {
      if (!v) inputs.push(null);
      else if (byName.has(v.name)) inputs.push(byName.get(v.name)!);
      else missing = true;
    }
    if (missing) continue;
    const r = evaluate(node, inputs, model.opset('') ?? 1);
    if (!r.ok) {
      refused.set(node.opType, [...(refused.get(node.opType) ?? []), `${dir}: ${r.reason}`]);
      continue;
    }
    const outs = files.filter((f) => /^output_\d+\.pb$/.test(f)).sort();
    let bad: string | null = null;
    node.outputs.forEach((v, i) => {
      if (!v || bad || !outs[i]) return;
      const want = asDeclared(readTensorProto(join(data, `output_${i}.pb`)), g.outputs[i]?.elemType);
      const why = close(r.outputs[i], want);
      if (why) bad = `${dir} output ${i}: ${why}`;
    });
    if (bad) failures.push(bad);
    else passed.set(node.opType, [...(passed.get(node.opType) ?? []), dir]);
  }
  const untested = Object.keys(EVALUATORS).filter((op) => !passed.has(op));
  const total = [...passed.values()].reduce((s, l) => s + l.length, 0);
  console.log(`evaluator: ${total} reference cases pass over ${passed.size} ops; refused (left unfolded, with a reason): ${[...refused.values()].reduce((s, l) => s + l.length, 0)}`);
  for (const [op, why] of refused) console.log(`  ${op}: ${why.slice(0, 3).join(' | ')}`);
  assert.deepEqual(failures, [], `evaluator results differ from the reference:\n${failures.join('\n')}`);
  assert.deepEqual(untested, [], `rows without a passing reference test: ${untested.join(', ')}`);
});
