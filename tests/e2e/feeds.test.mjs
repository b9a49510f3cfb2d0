// The page never loses the SDK: feeds whose values would crash a naive runtime, and a panic
// injected inside a model run, each answer with a typed error, and right after, in the same
// wasm instance, a good model still loads and runs. On the threaded build (this server is
// cross-origin isolated) and on the single-thread one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serve, watchErrors } from './browser.mjs';

const FACE = '/models/cache/blazeface/face_detection_front_128.onnx';
const V = '/tests/fixtures/values/';

let server;
let browser;

before(async () => {
  server = await serve({ extraRoots: ['tests'] });
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Each bad feed: model, feeds (as plain arrays; `i64` → BigInt64Array), expected code and text. */
const BAD = [
  { model: 'gather', feeds: { i: ['i64', [2], [0, 7]] }, code: 'INPUT_MISMATCH', says: /input "i": node .*Gather.* got index 7 for an axis of 5/ },
  { model: 'gather', feeds: { i: ['i64', [1], [-9]] }, code: 'INPUT_MISMATCH', says: /got index -9/ },
  { model: 'div_i64', feeds: { a: ['i64', [4], [1, 2, 3, 4]], b: ['i64', [4], [1, 0, 1, 1]] }, code: 'INPUT_MISMATCH', says: /input "b": .*by zero/ },
  { model: 'topk', feeds: { x: ['f32', [6], [1, 2, 3, 4, 5, 6]], k: ['i64', [1], [9]] }, code: 'INPUT_MISMATCH', says: /input "k": .*top 9 of an axis of 6/ },
  { model: 'range_i64', feeds: { s: ['i64', [], [0]], l: ['i64', [], [10]], d: ['i64', [], [0]] }, code: 'INPUT_MISMATCH', says: /step of 0/ },
  { model: 'range_i64', feeds: { s: ['i64', [], [0]], l: ['i64', [], [2 ** 52]], d: ['i64', [], [1]] }, code: 'RESOURCE_LIMIT', says: /maxTensorBytes/ },
  { model: 'scatter_elements', feeds: { d: ['f32', [5, 3], new Array(15).fill(0)], i: ['i64', [2, 3], [0, 1, 5, 0, 0, 0]], u: ['f32', [2, 3], new Array(6).fill(1)] }, code: 'INPUT_MISMATCH', says: /got index 5/ },
];

async function page(options) {
  const p = await browser.context.newPage();
  const errors = watchErrors(p);
  await p.goto(`${server.url}/tests/e2e/blank.html`);
  await p.evaluate(async (options) => {
    window.sf = await import('/pkg/index.js');
    await window.sf.init(options);
    window.feeds = (spec) =>
      Object.fromEntries(Object.entries(spec).map(([k, [dtype, dims, data]]) => [k, window.sf.tensor(dtype, dims, data)]));
    /** The good model still loads and runs: BlazeFace answers every output it declares. */
    window.good = async () => {
      const m = await window.sf.Model.load('/models/cache/blazeface/face_detection_front_128.onnx', { backend: 'cpu' });
      const out = await m.run({ 'input:0': window.sf.tensor('f32', [1, 128, 128, 3], new Float32Array(128 * 128 * 3)) });
      const ok = m.outputs.length > 0 && m.outputs.every((o) => out[o.name]?.data.length > 0);
      m.free();
      return ok;
    };
  }, options);
  return { p, errors };
}

for (const [label, options] of [['threaded', {}], ['single-thread', { threads: 1 }]]) {
  test(`${label}: every class of bad feed is refused with its code, then a good model runs in the same instance`, async () => {
    const { p, errors } = await page(options);
    const threads = await p.evaluate(() => window.sf.backends().then((b) => b.cpu.threads));
    assert.equal(threads > 1, label === 'threaded');
    for (const bad of BAD) {
      const r = await p.evaluate(
        async ({ url, feeds }) => {
          const m = await window.sf.Model.load(url, { backend: 'cpu', maxTensorBytes: 1 << 20 });
          const code = await window.codeOf(() => m.run(window.feeds(feeds)));
          // The same model object still answers a good feed afterwards.
          const again = await window.codeOf(() => m.run(window.feeds(Object.fromEntries(Object.keys(feeds).map((k) => [k, feeds[k]])))));
          m.free();
          return { code, again, good: await window.good() };
        },
        { url: `${V}${bad.model}.onnx`, feeds: bad.feeds },
      );
      assert.match(r.code, new RegExp(`^${bad.code}: `), `${bad.model}: ${r.code}`);
      assert.match(r.code, bad.says, `${bad.model}: ${r.code}`);
      assert.equal(r.again, r.code, 'the refused model gives the same answer again (it is still usable)');
      assert.equal(r.good, true, `after ${bad.model}`);
    }
    assert.deepEqual(errors, []);
    await p.close();
  });

  test(`${label}: a panic inside a model run rejects with INTERNAL naming the operation; the model and the page keep working`, async () => {
    const { p } = await page(options);
    const r = await p.evaluate(async (url) => {
      const m = await window.sf.Model.load(url, { backend: 'cpu' });
      const input = { 'input:0': window.sf.tensor('f32', [1, 128, 128, 3], new Float32Array(128 * 128 * 3)) };
      // A test-only export of the wasm glue (not the package API): the next CPU run panics.
      const threads = (await window.sf.backends()).cpu.threads;
      const glue = await import(threads > 1 ? '/pkg/wasm-mt/shopfloor.js' : '/pkg/wasm/shopfloor.js');
      glue.__testPanicNextRun();
      const code = await window.codeOf(() => m.run(input));
      const after = Object.keys(await m.run(input)).length === m.outputs.length; // the same model, right after
      m.free();
      return { code, after, good: await window.good() };
    }, FACE);
    assert.match(r.code, /^INTERNAL: .*panicked while running the CPU plan: injected panic \(__testPanicNextRun\)/);
    assert.equal(r.after, true);
    assert.equal(r.good, true);
    await p.close();
  });
}
