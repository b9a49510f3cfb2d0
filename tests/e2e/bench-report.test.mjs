// The benchmark's arithmetic (bench/): output cross-check, statistics, ratios and the report,
// checked without a browser. The benchmark itself runs with `make bench`, not in the tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, stats } from '../../bench/harness.js';
import { MAX_REL_DIFF, medianCold, ratios, renderChart, renderMarkdown } from '../../bench/report.mjs';

test('compare: max |a-b| over the peer output range, per output; size or name mismatch is infinite', () => {
  const b = { y: Float32Array.from([0, 2, -4]) };
  assert.equal(compare({ y: Float32Array.from([0, 2, -4]) }, b).maxRelDiff, 0);
  assert.ok(Math.abs(compare({ y: Float32Array.from([0.4, 2, -4]) }, b).maxRelDiff - 0.1) < 1e-7);
  assert.equal(compare({ y: Float32Array.from([0, 2]) }, b).maxRelDiff, Infinity);
  assert.equal(compare({ z: Float32Array.from([0, 2, -4]) }, b).maxRelDiff, Infinity);
  assert.equal(compare({ y: Float32Array.from([NaN, 2, -4]) }, b).maxRelDiff, Infinity);
});

test('stats: median and p90 of unsorted times', () => {
  const s = stats([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
  assert.deepEqual([s.runs, s.min, s.median, s.p90, s.max], [10, 1, 6, 10, 10]);
});

const run = (ours, peer, maxRelDiff = 1e-6) => ({
  maxRelDiff,
  shopfloor: stats([ours, ours * 1.1, ours * 0.9]),
  ort: stats([peer, peer * 1.1, peer * 0.9]),
});

const report = {
  date: '2026-11-23T20:00:00.000Z',
  machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 24 },
  models: [
    { id: 'a', title: 'Model A' },
    { id: 'b', title: 'Model B' },
    { id: 'c', title: 'Model C' },
  ],
  paths: {
    cpu: {
      env: { userAgent: 'Mozilla/5.0 Chrome/156.0.0.0', webgpuAdapter: null },
      threads: 1,
      models: {
        a: { warm: run(50, 100), shopfloorCold: { firstMs: 800, peakWasmBytes: 2 ** 20 }, ortCold: { firstMs: 900, version: '1.30.0' } },
        b: { warm: run(30, 10, 0.5) }, // fast but wrong: must not count
        c: { warm: { error: 'UNSUPPORTED_OP: Foo' } },
      },
    },
  },
  bundle: { 'shopfloor:cpu': { raw: 3e6, gz: 1e6, files: [{ url: '/pkg/wasm/x.wasm', raw: 3e6, gz: 1.5e6 }] } },
};

test('ratios: shopfloor / peer medians; a mismatching output is marked invalid; errors are left out', () => {
  const r = ratios(report);
  assert.equal(r.length, 2);
  assert.equal(r[0].ratio, 0.5);
  assert.equal(r[0].valid, true);
  assert.equal(r[1].ratio, 3);
  assert.equal(r[1].valid, false);
  assert.ok(0.5 > MAX_REL_DIFF);
});

test('markdown: table rows, the mismatch not counted as a result, errors and targets shown', () => {
  const md = renderMarkdown(report);
  assert.match(md, /onnxruntime-web 1\.30\.0/);
  assert.match(md, /\| Model A \| 50\.0 \/ 55\.0 \| 100 \/ 110 \| \*\*0\.50×\*\* \|/);
  assert.match(md, /\| Model B \|.*\(outputs differ\)/);
  assert.doesNotMatch(md, /3\.00×\*\*/);
  assert.match(md, /\| Model C \| error: UNSUPPORTED_OP: Foo/);
  assert.match(md, /met on 1 of 2 models/);
  assert.match(md, /wasm < 2 MB gzipped: met \(1\.50 MB\)/);
  // 800 / 900 ms: 0.89×, over the 0.8× line; models without both cold starts are left out.
  assert.match(md, /First inference ≤ 0\.8× onnxruntime-web's, CPU, 1 thread: met on 0 of 1 models \(Model A 0\.89×\)/);
});

test('medianCold: the median cold start whole, every time kept, failures counted; all failed is the first error', () => {
  const c = medianCold([{ firstMs: 900, peakWasmBytes: 9 }, { firstMs: 700, peakWasmBytes: 7 }, { error: 'timeout' }, { firstMs: 800, peakWasmBytes: 8 }]);
  assert.deepEqual(c, { firstMs: 800, peakWasmBytes: 8, firstMsAll: [700, 800, 900], failedStarts: 1 });
  assert.equal(medianCold([{ firstMs: 5 }, { firstMs: 3 }]).firstMs, 3); // even count: the lower middle one
  assert.deepEqual(medianCold([{ error: 'a' }, { error: 'b' }]), { error: 'a' });
  assert.deepEqual(medianCold([]), { error: 'no cold start' });
  const md = renderMarkdown({ ...report, paths: { cpu: { ...report.paths.cpu, models: { a: { ...report.paths.cpu.models.a, shopfloorCold: { firstMs: 700 } } } } } });
  assert.match(md, /met on 1 of 1 models \(Model A 0\.78×\)/);
});

test('chart: an SVG with one bar per comparable result and the 1x line', () => {
  const svg = renderChart(report);
  assert.match(svg, /^<svg /);
  assert.equal((svg.match(/<rect /g) ?? []).length, 1 + 2); // background + 2 bars
  assert.match(svg, /0\.50×/);
  assert.match(svg, /3\.00× \(outputs differ\)/);
});
