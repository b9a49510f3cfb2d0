// The WebGPU backend through the npm package in headless Chromium (SwiftShader adapter): the same
// answers as the CPU, "auto" measuring both, overlapping runs refused with BUSY by design.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { launch, serve, watchErrors } from './browser.mjs';
import { readNpy } from './npy.mjs';

const CACHE = fileURLToPath(new URL('../../models/cache/', import.meta.url));
const FACE = '/models/cache/blazeface/face_detection_front_128.onnx';

let server;
let browser;
let page;
let errors;
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: true });
  page = await browser.context.newPage();
  errors = watchErrors(page);
  await page.goto(`${server.url}/www/index.html`);
  await page.evaluate(async () => {
    window.sf = await import('/pkg/index.js');
    await window.sf.init();
  });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function inPage(fn, arg) {
  return page.evaluate(
    async ([src, arg]) => {
      const f = new Function(`return (${src})`)();
      try {
        return { ok: true, value: await f(window.sf, arg) };
      } catch (e) {
        return { ok: false, code: e.code, message: e.message };
      }
    },
    [fn.toString(), arg],
  );
}

test('backend "webgpu" runs BlazeFace on the GPU with the CPU\'s answers', async () => {
  const input = readNpy(CACHE + 'refs/blazeface_128/input_input_0.npy');
  const r = await inPage(
    async (sf, { url, input }) => {
      const feeds = { 'input:0': { dims: input.dims, data: Float32Array.from(input.data) } };
      const gpu = await sf.Model.load(url, { backend: 'webgpu' });
      const cpu = await sf.Model.load(url, { backend: 'cpu' });
      const [g, c] = [await gpu.run(feeds), await cpu.run(feeds)];
      let worst = 0;
      for (const k of Object.keys(c)) {
        const scale = c[k].data.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-12);
        for (let i = 0; i < c[k].data.length; i++) worst = Math.max(worst, Math.abs(g[k].data[i] - c[k].data[i]) / scale);
      }
      const info = gpu.info();
      return { worst, backend: info.backend, gpu: info.gpu, ops: Object.values(info.ops).map((o) => o.backend) };
    },
    { url: FACE, input },
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.backend, 'webgpu');
  assert.ok(r.value.worst <= 1e-3, `GPU vs CPU relative error ${r.value.worst}`);
  assert.ok(r.value.gpu.dispatches > 10 && r.value.gpu.dispatches < 200, JSON.stringify(r.value.gpu));
  assert.ok(r.value.ops.every((b) => b === 'webgpu'));
});

test('"auto" measures both backends and says why it chose one', async () => {
  const r = await inPage(async (sf, { url }) => (await sf.Model.load(url)).info(), { url: FACE });
  assert.ok(r.ok, JSON.stringify(r));
  assert.match(r.value.backendReason, /^auto: (CPU|WebGPU) measured [\d.]+ ms per run vs (WebGPU|CPU) [\d.]+ ms/);
});

test('symbolic dims without inputShapes: a WebGPU plan per input shape, each with the CPU\'s answers', async () => {
  const r = await inPage(async (sf) => {
    const url = '/models/cache/ppocr/ppocr_cls.onnx';
    const gpu = await sf.Model.load(url, { backend: 'webgpu' });
    const cpu = await sf.Model.load(url, { backend: 'cpu' });
    const loadReason = gpu.info().backendReason;
    const runs = [];
    for (const w of [96, 192, 96]) {
      const data = Float32Array.from({ length: 3 * 48 * w }, (_, i) => Math.sin(i * 0.37));
      const feeds = { x: sf.tensor('f32', [1, 3, 48, w], data) };
      const [g, c] = [await gpu.run(feeds), await cpu.run(feeds)];
      const k = Object.keys(c)[0];
      const worst = c[k].data.reduce((m, v, i) => Math.max(m, Math.abs(g[k].data[i] - v)), 0);
      const info = gpu.info();
      runs.push({ w, worst, backend: info.backend, dispatches: info.gpu?.dispatches, reason: info.backendReason });
    }
    gpu.free();
    cpu.free();
    return { loadReason, runs };
  });
  assert.ok(r.ok, JSON.stringify(r));
  assert.match(r.value.loadReason, /per input shape/);
  for (const run of r.value.runs) {
    assert.equal(run.backend, 'webgpu', JSON.stringify(run));
    assert.ok(run.dispatches > 10, JSON.stringify(run));
    assert.ok(run.worst <= 1e-3, `width ${run.w}: GPU vs CPU ${run.worst}`);
  }
});

test('overlapping runs on one GPU model: one answers, the other rejects with BUSY', async () => {
  const r = await inPage(
    async (sf, { url }) => {
      const m = await sf.Model.load(url, { backend: 'webgpu' });
      const feeds = { 'input:0': sf.tensor('f32', [1, 128, 128, 3], new Float32Array(49152).fill(0.5)) };
      const settled = await Promise.allSettled([m.run(feeds), m.run(feeds)]);
      const after = await m.run(feeds); // and the model still works
      return { states: settled.map((s) => s.status === 'fulfilled' ? 'ok' : s.reason.code), after: Object.keys(after).length };
    },
    { url: FACE },
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value.states, ['ok', 'BUSY']);
  assert.equal(r.value.after, 4);
  assert.deepEqual(errors.filter((e) => !e.includes('WebGPU')), []);
});

test('requestDevice failing: "webgpu" rejects with BACKEND_UNAVAILABLE, "auto" runs on the CPU and says why', async () => {
  const p = await browser.context.newPage();
  const pageErrors = watchErrors(p);
  // Before any SDK code: every device request fails, as when the GPU process is gone.
  await p.addInitScript(() => {
    GPUAdapter.prototype.requestDevice = () => Promise.reject(new DOMException('the GPU process is gone', 'OperationError'));
  });
  await p.goto(`${server.url}/www/index.html`);
  const r = await p.evaluate(async (url) => {
    const sf = await import('/pkg/index.js');
    const out = {};
    try {
      await sf.Model.load(url, { backend: 'webgpu' });
      out.webgpu = 'loaded';
    } catch (e) {
      out.webgpu = `${e.code}: ${e.message}`;
    }
    const m = await sf.Model.load(url);
    const info = m.info();
    out.auto = [info.backend, info.backendReason];
    const o = await m.run({ 'input:0': sf.tensor('f32', [1, 128, 128, 3], new Float32Array(49152).fill(0.5)) });
    out.outputs = Object.keys(o).length;
    return out;
  }, FACE);
  console.log(`# requestDevice failing: webgpu → ${r.webgpu}; auto → ${r.auto.join(': ')}`);
  assert.match(r.webgpu, /^BACKEND_UNAVAILABLE: .*refused a device: OperationError: the GPU process is gone$/);
  assert.equal(r.auto[0], 'cpu');
  assert.match(r.auto[1], /GPU process is gone|no WebGPU device/i);
  assert.equal(r.outputs, 4);
  assert.deepEqual(pageErrors.filter((e) => !e.includes('WebGPU')), []);
  await p.close();
});
