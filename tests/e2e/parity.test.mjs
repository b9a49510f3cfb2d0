// The shipped package in headless Chromium gives onnxruntime's answers (models/cache/refs, written by
// scripts/make_refs.py): on the CPU with both wasm builds (single-thread and threaded), on WebGPU
// (SwiftShader), and after the GPU device is lost (the model moves to the CPU and still answers).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { launch, serve, watchErrors } from './browser.mjs';
import { readNpy } from './npy.mjs';

const CACHE = fileURLToPath(new URL('../../models/cache/', import.meta.url));
const ref = (p) => readNpy(CACHE + 'refs/' + p);

/** A model, its feeds and onnxruntime's outputs (by output name). */
function spec(url, inputs, outputs) {
  return {
    url: `/models/cache/${url}`,
    feeds: Object.fromEntries(Object.entries(inputs).map(([n, p]) => [n, ref(p)])),
    want: Object.fromEntries(Object.entries(outputs).map(([n, p]) => [n, ref(p)])),
  };
}

const BLAZEFACE = spec(
  'blazeface/face_detection_front_128.onnx',
  { 'input:0': 'blazeface_128/input_input_0.npy' },
  {
    'Identity:0': 'blazeface_128/output_Identity_0.npy',
    'Identity_1:0': 'blazeface_128/output_Identity_1_0.npy',
    'Identity_2:0': 'blazeface_128/output_Identity_2_0.npy',
    'Identity_3:0': 'blazeface_128/output_Identity_3_0.npy',
  },
);
const PPOCR_CLS = spec(
  'ppocr/ppocr_cls.onnx',
  { x: 'ppocr_cls_48x192/input_x.npy' },
  { 'save_infer_model/scale_0.tmp_1': 'ppocr_cls_48x192/output_save_infer_model_scale_0.tmp_1.npy' },
);
const OWW_MEL = spec(
  'openwakeword/melspectrogram.onnx',
  { input: 'oww_melspectrogram/input_input.npy' },
  { output: 'oww_melspectrogram/output_output.npy' },
);
const OWW_EMBEDDING = spec(
  'openwakeword/embedding_model.onnx',
  { input_1: 'oww_embedding/input_input_1.npy' },
  { conv2d_19: 'oww_embedding/output_conv2d_19.npy' },
);
const SILERO = spec(
  'silero/silero_vad_op18_ifless.onnx',
  { input: 'silero_vad/input_input.npy', sr: 'silero_vad/input_sr.npy', state: 'silero_vad/input_state.npy' },
  { output: 'silero_vad/output_output.npy', stateN: 'silero_vad/output_stateN.npy' },
);

let server;
let browser;
const errors = [];
before(async () => {
  server = await serve({ extraRoots: ['tests'] });
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh page with the package imported and `init(options)` awaited; the page's GPU devices are kept in `window.gpuDevices`. */
async function open(options, { deviceLoss = false } = {}) {
  const page = await browser.context.newPage();
  // Losing the device on purpose makes the browser log GPU errors; exceptions still count.
  const seen = watchErrors(page);
  errors.push(deviceLoss ? { filter: (f) => seen.filter(f) } : seen);
  await page.addInitScript(() => {
    window.gpuDevices = [];
    const requestDevice = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const device = await requestDevice.apply(this, args);
      window.gpuDevices.push(device);
      return device;
    };
  });
  await page.goto(`${server.url}/tests/e2e/blank.html`);
  await page.evaluate(async (options) => {
    window.sf = await import('/pkg/index.js');
    await window.sf.init(options);
  }, options);
  return page;
}

/**
 * Loads each model with `options`, runs it on its feeds and returns, per model, the worst error
 * relative to the largest reference value of each output, and what `info()` says after the run.
 */
function runSpecs(page, specs, options) {
  return page.evaluate(
    async ({ specs, options }) => {
      const { sf } = window;
      const tensorOf = (t) => sf.tensor(t.dtype, t.dims, t.dtype === 'i64' ? BigInt64Array.from(t.data, BigInt) : Float32Array.from(t.data));
      const out = [];
      for (const s of specs) {
        // The GPU plan is compiled for fixed shapes: the feeds' own.
        const inputShapes = Object.fromEntries(Object.entries(s.feeds).map(([n, t]) => [n, t.dims]));
        const m = await sf.Model.load(s.url, options.backend === 'webgpu' ? { ...options, inputShapes } : options);
        const got = await m.run(Object.fromEntries(Object.entries(s.feeds).map(([n, t]) => [n, tensorOf(t)])));
        const errs = {};
        for (const [name, want] of Object.entries(s.want)) {
          const g = got[name];
          if (!g || g.dims.join() !== want.dims.join()) {
            errs[name] = `dims ${g?.dims} vs ${want.dims}`;
            continue;
          }
          const scale = want.data.reduce((a, v) => Math.max(a, Math.abs(v)), 1e-12);
          let worst = 0;
          for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(g.data[i] - want.data[i]));
          errs[name] = worst / scale;
        }
        const info = m.info();
        out.push({ url: s.url, errs, backend: info.backend, reason: info.backendReason });
        m.free();
      }
      return out;
    },
    { specs, options },
  );
}

function assertClose(results, tolerance, backend) {
  for (const r of results) {
    assert.equal(r.backend, backend, `${r.url}: ${r.reason}`);
    for (const [name, e] of Object.entries(r.errs)) {
      assert.equal(typeof e, 'number', `${r.url} ${name}: ${e}`);
      assert.ok(e <= tolerance, `${r.url} ${name}: relative error ${e.toExponential(2)} > ${tolerance}`);
    }
  }
}

const CPU_SPECS = [BLAZEFACE, OWW_MEL, OWW_EMBEDDING, SILERO, PPOCR_CLS];

for (const [build, options, threads] of [
  ['single-thread', { threads: 1 }, 1],
  ['threaded', { threads: 2 }, 2],
]) {
  test(`the ${build} build matches onnxruntime on the CPU (BlazeFace, openWakeWord, Silero VAD, PP-OCR cls)`, async () => {
    const page = await open(options);
    const cpu = await page.evaluate(async () => (await window.sf.backends()).cpu);
    assert.equal(cpu.simd, 'simd128');
    assert.equal(cpu.threads, threads, cpu.threadsReason);
    assertClose(await runSpecs(page, CPU_SPECS, { backend: 'cpu' }), 1e-4, 'cpu');
    await page.close();
  });
}

test('Chromium offers a WebGPU adapter (SwiftShader, a fallback adapter) beside the CPU', async () => {
  const page = await open({});
  const b = await page.evaluate(() => window.sf.backends());
  assert.equal(b.cpu.available, true);
  assert.equal(b.webgpu.available, true, b.webgpu.reason);
  assert.equal(b.webgpu.adapter.isFallbackAdapter, true);
  assert.ok(b.webgpu.adapter.maxBufferSize >= 256 * 1024 * 1024, JSON.stringify(b.webgpu.adapter));
  await page.close();
});

test('WebGPU matches onnxruntime (BlazeFace, PP-OCR cls, openWakeWord)', async () => {
  const page = await open({});
  assertClose(await runSpecs(page, [BLAZEFACE, PPOCR_CLS, OWW_MEL, OWW_EMBEDDING], { backend: 'webgpu' }), 1e-3, 'webgpu');
  await page.close();
});

test('a lost GPU device moves the model to the CPU, the run still answers, and the next model gets a fresh device', async () => {
  const page = await open({}, { deviceLoss: true });
  const r = await page.evaluate(
    async ({ s }) => {
      const { sf } = window;
      const feeds = { 'input:0': sf.tensor('f32', s.feeds['input:0'].dims, Float32Array.from(s.feeds['input:0'].data)) };
      const want = s.want['Identity:0'];
      const err = (got) => {
        const scale = want.data.reduce((a, v) => Math.max(a, Math.abs(v)), 1e-12);
        return want.data.reduce((a, v, i) => Math.max(a, Math.abs(got.data[i] - v)), 0) / scale;
      };
      const m = await sf.Model.load(s.url, { backend: 'webgpu' });
      const before = { backend: m.info().backend, err: err((await m.run(feeds))['Identity:0']) };
      const devices = window.gpuDevices.length;
      window.gpuDevices.at(-1).destroy();
      const lost = { err: err((await m.run(feeds))['Identity:0']), backend: m.info().backend, reason: m.info().backendReason };
      const fresh = await sf.Model.load(s.url, { backend: 'webgpu' });
      const again = { backend: fresh.info().backend, err: err((await fresh.run(feeds))['Identity:0']), newDevice: window.gpuDevices.length > devices };
      return { before, lost, again };
    },
    { s: BLAZEFACE },
  );
  assert.equal(r.before.backend, 'webgpu');
  assert.ok(r.before.err <= 1e-3, JSON.stringify(r));
  assert.equal(r.lost.backend, 'cpu');
  assert.match(r.lost.reason, /WebGPU failure/);
  assert.ok(r.lost.err <= 1e-4, JSON.stringify(r));
  assert.equal(r.again.backend, 'webgpu', JSON.stringify(r));
  assert.ok(r.again.newDevice, 'a model loaded after the loss asks for a new device');
  assert.ok(r.again.err <= 1e-3, JSON.stringify(r));
  await page.close();
});

test('no uncaught errors in the pages', () => {
  assert.deepEqual(errors.flatMap((e) => (Array.isArray(e) ? e : e.filter((m) => m.startsWith('pageerror')))), []);
});
