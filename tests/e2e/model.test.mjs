// The Model API from the npm package in headless Chromium: load by URL with progress and sha256,
// run, match onnxruntime's reference, and every error path with a real bad input, after which
// the module keeps working.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serve, watchErrors } from './browser.mjs';
import { readNpy } from './npy.mjs';

const CACHE = fileURLToPath(new URL('../../models/cache/', import.meta.url));
const FACE = '/models/cache/blazeface/face_detection_front_128.onnx';
const FACE_SHA = createHash('sha256').update(readFileSync(CACHE + 'blazeface/face_detection_front_128.onnx')).digest('hex');

let server;
let browser;
let page;
let errors;
// Failing servers, as a portal's model host can be.
const ROUTES = {
  '/flaky/500.onnx': (req, res) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error\n'),
  // Promises the whole model, sends half of it, then drops the connection.
  '/flaky/cut.onnx': (req, res) => {
    const bytes = readFileSync(CACHE + 'blazeface/face_detection_front_128.onnx');
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
    res.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => res.destroy(), 50));
  },
};

before(async () => {
  server = await serve({ routes: ROUTES });
  browser = await launch({ webgpu: false });
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

/** Runs `fn(sf, arg)` in the page and returns `{ ok, value }` or `{ ok: false, code, message }`. */
async function inPage(fn, arg) {
  return page.evaluate(
    async ([src, arg]) => {
      const f = new Function(`return (${src})`)();
      try {
        return { ok: true, value: await f(window.sf, arg) };
      } catch (e) {
        return { ok: false, code: e.code, message: e.message, name: e.name, isError: e instanceof Error };
      }
    },
    [fn.toString(), arg],
  );
}

test('loads BlazeFace by URL with progress and sha256, and matches onnxruntime', async () => {
  const input = readNpy(CACHE + 'refs/blazeface_128/input_input_0.npy');
  const r = await inPage(
    async (sf, { url, sha, input }) => {
      const progress = [];
      const m = await sf.Model.load(url, { sha256: sha, backend: 'cpu', onProgress: (p) => progress.push(p) });
      const out = await m.run({ 'input:0': { dims: input.dims, data: Float32Array.from(input.data) } });
      const info = m.info();
      const res = {
        inputs: m.inputs,
        outputs: m.outputs.map((o) => o.name),
        info: { backend: info.backend, plan: info.plan, sha256: info.sha256, conv: info.ops.Conv, fixes: info.loaderFixes },
        progress: { calls: progress.length, last: progress.at(-1) },
        out: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dims: t.dims, dtype: t.dtype, data: Array.from(t.data) }])),
      };
      m.free();
      return res;
    },
    { url: FACE, sha: FACE_SHA, input },
  );
  assert.ok(r.ok, JSON.stringify(r));
  const v = r.value;
  assert.deepEqual(v.inputs, [{ name: 'input:0', dtype: 'f32', modelDtype: 'f32', shape: [1, 128, 128, 3] }]);
  assert.deepEqual(v.outputs, ['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0']);
  assert.equal(v.info.backend, 'cpu');
  assert.equal(v.info.plan, 'static');
  assert.equal(v.info.sha256, FACE_SHA);
  assert.equal(v.info.conv.backend, 'cpu');
  assert.ok(v.info.fixes.some((f) => f.includes('ConstantOfShape')));
  assert.ok(v.progress.calls >= 1);
  assert.equal(v.progress.last.loaded, v.progress.last.total);
  for (const [name, file] of [['Identity:0', 'output_Identity_0'], ['Identity_3:0', 'output_Identity_3_0']]) {
    const want = readNpy(`${CACHE}refs/blazeface_128/${file}.npy`);
    const got = v.out[name];
    assert.deepEqual(got.dims, want.dims);
    assert.equal(got.dtype, 'f32');
    const scale = Math.max(...want.data.map(Math.abs));
    const err = Math.max(...got.data.map((x, i) => Math.abs(x - want.data[i]))) / scale;
    assert.ok(err <= 1e-4, `${name}: relative error ${err}`);
  }
});

test('symbolic dims: one model runs at several shapes; i64 and scalar inputs work', async () => {
  const r = await inPage(async (sf) => {
    const m = await sf.Model.load('/models/cache/silero/silero_vad_op18_ifless.onnx');
    const shapes = m.inputs.map((i) => i.shape);
    const outs = [];
    for (const n of [512, 1024]) {
      const out = await m.run({
        input: sf.tensor('f32', [1, n], new Float32Array(n)),
        sr: sf.tensor('i64', [], [16000]),
        state: sf.tensor('f32', [2, 1, 128], new Float32Array(256)),
      });
      outs.push(out.stateN.dims);
    }
    return { shapes, outs, plans: m.info().cachedPlans };
  });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value.shapes, [['batch', 'sequence'], [], [2, 'batch', 128]]);
  assert.deepEqual(r.value.outs, [[2, 1, 128], [2, 1, 128]]);
  assert.equal(r.value.plans, 2);
});

test('max pools over tiling, overlapping and padded windows at odd sides give a plain loop\'s answers (our CPU kernel, wasm SIMD rows and tails)', async () => {
  const r = await inPage(async (sf) => {
    const [C, H, W] = [5, 13, 21];
    let seed = 7;
    // Few distinct values: windows hold ties and negative maxima.
    const x = Float32Array.from({ length: C * H * W }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 41) - 20);
    const m = await sf.Model.load('/models/cache/fixtures/window_max_pool.onnx', { backend: 'cpu' });
    const out = await m.run({ x: { dims: [1, C, H, W], data: x } });
    m.free();
    const bad = [];
    // [kernel, strides, pads (top, left, bottom, right), ceil mode], as make_refs.py writes them.
    const pools = {
      p2x2: [[2, 2], [2, 2], [0, 0, 0, 0], false],
      p1x2: [[1, 2], [1, 2], [0, 0, 0, 0], false],
      p2x1: [[2, 1], [2, 1], [0, 0, 0, 0], false],
      p3x3: [[3, 3], [3, 3], [0, 0, 0, 0], false],
      o3s2: [[3, 3], [2, 2], [0, 0, 0, 0], false],
      o3s1p1: [[3, 3], [1, 1], [1, 1, 1, 1], false],
      o2s2ceil: [[2, 2], [2, 2], [0, 0, 0, 0], true],
      o2x4: [[2, 4], [1, 3], [1, 2, 0, 1], false],
      o3s2ceil: [[3, 3], [2, 2], [0, 0, 0, 0], true],
      o3s2p1: [[3, 3], [2, 2], [1, 1, 1, 1], false],
      o2x5s1: [[2, 5], [1, 1], [0, 2, 1, 0], false],
    };
    for (const [name, [[kh, kw], [sh, sw], [pt, pl, pb, pr], ceil]] of Object.entries(pools)) {
      const round = ceil ? Math.ceil : Math.floor;
      const [oh, ow] = [round((H + pt + pb - kh) / sh) + 1, round((W + pl + pr - kw) / sw) + 1];
      const got = out[name];
      if (got.dims.join() !== [1, C, oh, ow].join()) bad.push(`${name}: dims ${got.dims}`);
      for (let c = 0; c < C; c++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            let want = -Infinity;
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const [iy, ix] = [oy * sh + ky - pt, ox * sw + kx - pl];
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) want = Math.max(want, x[(c * H + iy) * W + ix]);
              }
            const v = got.data[(c * oh + oy) * ow + ox];
            if (v !== want && bad.length < 5) bad.push(`${name}[${c},${oy},${ox}] = ${v}, want ${want}`);
          }
    }
    return { bad };
  });
  assert.ok(r.ok, r.message);
  assert.deepEqual(r.value.bad, []);
});

test('matrix products at sides no kernel tile divides, with fused bias and ReLU, and one deeper than the kernel\'s blocks, give a plain loop\'s answers (1e-5)', async () => {
  const r = await inPage(async (sf) => {
    const w = (n) => Float32Array.from({ length: n }, (_, i) => (((i * 7919) % 23) - 11) / 8);
    let seed = 11;
    const noise = (n) => Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
    const [M, K, N1, N2] = [13, 37, 29, 19];
    const a = noise(M * K);
    const x = noise(3 * 11 * 17);
    const [LM, LK, LN] = [11, 300, 21];
    const l = noise(LM * LK);
    const m = await sf.Model.load('/models/cache/fixtures/products.onnx', { backend: 'cpu' });
    const out = await m.run({ a: { dims: [M, K], data: a }, x: { dims: [1, 3, 11, 17], data: x }, l: { dims: [LM, LK], data: l } });
    m.free();
    const [w1, w2, b2, w3, b3, w4] = [w(K * N1), w(K * N2), w(N2), w(10 * 27), w(10), w(LK * LN)];
    const want = { mm: [], gemm_relu: [], conv: [], mm_long: [] };
    for (let i = 0; i < LM; i++)
      for (let j = 0; j < LN; j++) {
        let s = 0;
        for (let k = 0; k < LK; k++) s += l[i * LK + k] * w4[k * LN + j];
        want.mm_long.push(s);
      }
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N1; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[i * K + k] * w1[k * N1 + j];
        want.mm.push(s);
      }
      for (let j = 0; j < N2; j++) {
        let s = b2[j];
        for (let k = 0; k < K; k++) s += a[i * K + k] * w2[k * N2 + j];
        want.gemm_relu.push(Math.max(0, s));
      }
    }
    for (let o = 0; o < 10; o++)
      for (let y = 0; y < 11; y++)
        for (let xx = 0; xx < 17; xx++) {
          let s = b3[o];
          for (let c = 0; c < 3; c++)
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const [iy, ix] = [y + ky - 1, xx + kx - 1];
                if (iy >= 0 && iy < 11 && ix >= 0 && ix < 17) s += x[(c * 11 + iy) * 17 + ix] * w3[((o * 3 + c) * 3 + ky) * 3 + kx];
              }
          want.conv.push(s);
        }
    const worst = {};
    for (const [name, ref] of Object.entries(want)) {
      const got = out[name].data;
      const scale = ref.reduce((acc, v) => Math.max(acc, Math.abs(v)), 1e-30);
      worst[name] = got.length === ref.length ? ref.reduce((acc, v, i) => Math.max(acc, Math.abs(got[i] - v) / scale), 0) : `length ${got.length}, want ${ref.length}`;
    }
    return worst;
  });
  assert.ok(r.ok, r.message);
  for (const [name, worst] of Object.entries(r.value)) assert.ok(worst <= 1e-5, `${name}: ${worst}`);
});

test('Sigmoid and Tanh give their f32 rational fits bit for bit: NaN, ±0, ±∞, the clamps and a sweep, at a length no vector divides', async () => {
  const r = await inPage(async (sf) => {
    const special = [NaN, 0, -0, Infinity, -Infinity, 1e30, -1e30, 3.4e38, -3.4e38, 1e-40, -1e-40, 14.5, -14.5, 14.499999, -14.499999, 7.5, -7.5, 7.4999995, -7.4999995, 1, -1, 0.5];
    const sweep = Array.from({ length: 4093 }, (_, i) => -20 + (40 * i) / 4092);
    const v = Float32Array.from([...special, ...sweep]);
    const m = await sf.Model.load('/models/cache/fixtures/activations.onnx', { backend: 'cpu', inputShapes: { v: [v.length] }, allowNonFinite: true });
    const out = await m.run({ v: { dims: [v.length], data: v } });
    m.free();
    // tract-linalg's ssigmoid and stanh, one f32 rounding per operation.
    const f = Math.fround;
    const fit = (x, lo, hi, a, b, offset) => {
      const c = x < lo ? lo : x > hi ? hi : x;
      const x2 = f(c * c);
      let p = f(a[0]);
      for (const k of a.slice(1)) p = f(f(x2 * p) + f(k));
      p = f(p * c);
      let q = f(b[0]);
      for (const k of b.slice(1)) q = f(f(x2 * q) + f(k));
      const r = f(p / q);
      return offset === undefined ? r : f(r + offset);
    };
    const sig = (x) => fit(x, -14.5, 14.5, [-4.433153405e-18, 1.169974371e-14, -1.875289645e-11, 4.257889523e-8, 0.00004811817576, 0.008163842030, 0.2499999971], [3.922935744e-6, 0.001524872358, 0.1159886749, 1.0], 0.5);
    const tanh = (x) => fit(x, -7.5, 7.5, [-8.488492677e-14, 5.277853000e-11, -2.022500419e-8, 0.00001115424833, 0.003103950131, 0.1308400453, 0.9999999934], [0.0002546136580, 0.02449515379, 0.4641733162, 1.0]);
    const wrong = [];
    for (const [name, ref] of [['sigmoid', sig], ['tanh', tanh]]) {
      const got = out[name].data;
      if (got.length !== v.length) wrong.push(`${name}: length ${got.length}`);
      for (let i = 0; i < v.length && wrong.length < 8; i++) {
        const want = ref(v[i]);
        if (!Object.is(got[i], want) && !(Number.isNaN(got[i]) && Number.isNaN(want))) wrong.push(`${name}(${v[i]}) = ${got[i]}, want ${want}`);
      }
    }
    return wrong;
  });
  assert.ok(r.ok, r.message);
  assert.deepEqual(r.value, []);
});

test("Silero VAD's standard file: its If on sr picks the 16 or 8 kHz network per value, matching onnxruntime", async () => {
  const streams = [16000, 8000].map((rate) => {
    const frames = readNpy(`${CACHE}refs/silero_stream_${rate}/frames.npy`);
    const probs = readNpy(`${CACHE}refs/silero_stream_${rate}/probs.npy`);
    return { rate, len: frames.dims[1], frames: frames.data.slice(0, 12 * frames.dims[1]), probs: probs.data.slice(0, 12) };
  });
  const r = await inPage(async (sf, streams) => {
    const m = await sf.Model.load('/models/cache/silero/silero_vad.onnx');
    const got = {};
    for (const s of streams) {
      let state = sf.tensor('f32', [2, 1, 128], new Float32Array(256));
      got[s.rate] = [];
      for (let i = 0; i < s.probs.length; i++) {
        const input = sf.tensor('f32', [1, s.len], Float32Array.from(s.frames.slice(i * s.len, (i + 1) * s.len)));
        const out = await m.run({ input, state, sr: sf.tensor('i64', [], [s.rate]) });
        got[s.rate].push(out.output.data[0]);
        state = out.stateN;
      }
    }
    const info = m.info();
    m.free();
    return { got, plan: info.plan, cachedPlans: info.cachedPlans };
  }, streams);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.plan, 'per-value');
  assert.equal(r.value.cachedPlans, 2);
  for (const s of streams) {
    s.probs.forEach((p, i) => assert.ok(Math.abs(r.value.got[s.rate][i] - p) < 1e-4, `${s.rate} Hz frame ${i}: ${r.value.got[s.rate][i]} vs ${p}`));
  }
});

test('a shape fed at run time: a plan per value; an absurd one is RESOURCE_LIMIT and the model still answers', async () => {
  const r = await inPage(async (sf) => {
    const m = await sf.Model.load('/models/cache/runtime-shapes/constant_of_shape.onnx');
    const dims = [];
    for (const s of [[2, 3], [4, 1]]) dims.push((await m.run({ s: sf.tensor('i64', [2], s) })).y.dims);
    let refused;
    try {
      await m.run({ s: sf.tensor('i64', [2], [1e6, 1e6]) });
    } catch (e) {
      refused = { code: e.code, message: e.message };
    }
    const after = (await m.run({ s: sf.tensor('i64', [2], [1, 2]) })).y;
    return { dims, refused, after: { dims: after.dims, data: Array.from(after.data) } };
  });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value.dims, [[2, 3], [4, 1]]);
  assert.equal(r.value.refused?.code, 'RESOURCE_LIMIT', JSON.stringify(r.value.refused));
  assert.match(r.value.refused.message, /"s"/);
  assert.deepEqual(r.value.after, { dims: [1, 2], data: [2.5, 2.5] });
});

const ERROR_CASES = [
  ['a URL that answers 404', 'FETCH_FAILED', async (sf) => sf.Model.load('/models/cache/nope.onnx')],
  ['a URL that answers 500', 'FETCH_FAILED', async (sf) => sf.Model.load('/flaky/500.onnx')],
  ['a body cut short', 'FETCH_FAILED', async (sf) => sf.Model.load('/flaky/cut.onnx')],
  ['a body cut short, with progress', 'FETCH_FAILED', async (sf) => sf.Model.load('/flaky/cut.onnx', { onProgress: () => {} })],
  ['a download aborted half-way', 'ABORTED', async (sf, { url }) => {
    const ctrl = new AbortController();
    return sf.Model.load(url, { signal: ctrl.signal, cache: false, onProgress: ({ loaded, total }) => loaded > total / 2 && ctrl.abort() });
  }],
  ['a signal aborted before the load', 'ABORTED', async (sf, { url }) => sf.Model.load(url, { signal: AbortSignal.abort() })],
  ['random bytes', 'MODEL_INVALID', async (sf) => sf.Model.load(Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251))],
  ['a truncated real model', 'MODEL_INVALID', async (sf, { url }) => {
    const b = new Uint8Array(await (await fetch(url)).arrayBuffer());
    return sf.Model.load(b.subarray(0, b.length >> 1));
  }],
  ['an op tract lacks', 'UNSUPPORTED_OP', async (sf) => sf.Model.load('/models/cache/fixtures/unsupported_op.onnx')],
  ['a wrong sha256', 'INTEGRITY_MISMATCH', async (sf, { url }) => sf.Model.load(url, { sha256: '0'.repeat(64) })],
  ['backend webgpu', 'BACKEND_UNAVAILABLE', async (sf, { url }) => sf.Model.load(url, { backend: 'webgpu' })],
  ['an unknown backend', 'INVALID_ARGUMENT', async (sf, { url }) => sf.Model.load(url, { backend: 'tpu' })],
  ['a weight over maxTensorBytes', 'RESOURCE_LIMIT', async (sf, { url }) => sf.Model.load(url, { maxTensorBytes: 4096 })],
  ['a wrong input name', 'INPUT_MISMATCH', async (sf, { url }) => (await sf.Model.load(url)).run({ image: sf.tensor('f32', [1], [0]) })],
  ['a wrong dtype', 'INPUT_MISMATCH', async (sf, { url }) => (await sf.Model.load(url)).run({ 'input:0': { dims: [1, 128, 128, 3], data: new Int32Array(49152) } })],
  ['a Float64Array', 'INPUT_MISMATCH', async (sf, { url }) => (await sf.Model.load(url)).run({ 'input:0': { dims: [1, 128, 128, 3], data: new Float64Array(49152) } })],
  ['a wrong shape', 'INPUT_MISMATCH', async (sf, { url }) => (await sf.Model.load(url)).run({ 'input:0': { dims: [1, 3, 128, 128], data: new Float32Array(49152) } })],
  ['data shorter than dims', 'INPUT_MISMATCH', async (sf, { url }) => (await sf.Model.load(url)).run({ 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(10) } })],
  ['a NaN in the input', 'INPUT_MISMATCH', async (sf, { url }) => {
    const data = new Float32Array(49152).fill(0.5);
    data[100] = NaN;
    return (await sf.Model.load(url)).run({ 'input:0': { dims: [1, 128, 128, 3], data } });
  }],
  ['an infinity as the last value', 'INPUT_MISMATCH', async (sf, { url }) => {
    const data = new Float32Array(49152).fill(0.5);
    data[49151] = -Infinity;
    return (await sf.Model.load(url)).run({ 'input:0': { dims: [1, 128, 128, 3], data } });
  }],
  ['negative dims', 'INPUT_MISMATCH', async (sf, { url }) => (await sf.Model.load(url)).run({ 'input:0': { dims: [1, -128, 128, 3], data: new Float32Array(10) } })],
  ['a non-object feed', 'INVALID_ARGUMENT', async (sf, { url }) => (await sf.Model.load(url)).run([1, 2])],
  ['a freed model', 'INVALID_ARGUMENT', async (sf, { url }) => {
    const m = await sf.Model.load(url);
    m.free();
    return m.run({});
  }],
];

for (const [what, code, fn] of ERROR_CASES) {
  test(`${what} rejects with ${code}, then the module still runs a model`, async () => {
    const r = await inPage(fn, { url: FACE });
    assert.equal(r.ok, false, `${what} should fail`);
    assert.equal(r.code, code, `${what}: ${r.code} ${r.message}`);
    assert.equal(r.isError, true);
    assert.equal(r.name, 'ShopfloorError');
    assert.ok(r.message.length > 20, r.message);
    const again = await inPage(async (sf, { url }) => {
      const m = await sf.Model.load(url);
      const out = await m.run({ 'input:0': sf.tensor('f32', [1, 128, 128, 3], new Float32Array(49152).fill(0.5)) });
      m.free();
      return out['Identity:0'].dims;
    }, { url: FACE });
    assert.ok(again.ok, JSON.stringify(again));
    assert.deepEqual(again.value, [1, 512, 1]);
  });
}

test('no uncaught errors in the page', () => {
  assert.deepEqual(errors.filter((e) => !e.includes('404') && !e.includes('500') && !e.includes('ERR_')), []);
});

test('free() and the FinalizationRegistry release models', async () => {
  const { context, close } = await launch({ webgpu: false, args: ['--js-flags=--expose-gc'] });
  try {
    const p = await context.newPage();
    await p.goto(`${server.url}/pkg/package.json`);
    const r = await p.evaluate(async (url) => {
      const sf = await import('/pkg/index.js');
      const base = (await sf.memoryStats()).liveModels;
      const kept = await sf.Model.load(url);
      const loaded = (await sf.memoryStats()).liveModels;
      kept.free();
      kept.free(); // idempotent
      const afterFree = (await sf.memoryStats()).liveModels;
      // Held until counted (a GC during the loads would collect them early), then dropped
      // without free().
      let dropped = [];
      for (let i = 0; i < 4; i++) dropped.push(await sf.Model.load(url));
      const leaked = (await sf.memoryStats()).liveModels;
      dropped = null;
      let collected = leaked;
      for (let i = 0; i < 50 && collected > base; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 50));
        collected = (await sf.memoryStats()).liveModels;
      }
      return { base, loaded, afterFree, leaked, collected };
    }, FACE);
    assert.deepEqual(r, { base: 0, loaded: 1, afterFree: 0, leaked: 4, collected: 0 });
  } finally {
    await close();
  }
});

test('free() while a run is pending: the run settles (answer or code), the module keeps working', async () => {
  const r = await inPage(async (sf, { url }) => {
    const input = sf.tensor('f32', [1, 128, 128, 3], new Float32Array(49152).fill(0.5));
    // Earlier tests in this page leave models to the FinalizationRegistry: count from here.
    const before = (await sf.memoryStats()).liveModels;
    const outcomes = [];
    for (let i = 0; i < 5; i++) {
      const m = await sf.Model.load(url);
      const pending = m.run({ 'input:0': input });
      m.free();
      outcomes.push(await pending.then((o) => `answered ${o['Identity:0'].dims}`, (e) => e.code));
    }
    const m = await sf.Model.load(url);
    const again = (await m.run({ 'input:0': input }))['Identity:0'].dims;
    m.free();
    return { outcomes, again, before, live: (await sf.memoryStats()).liveModels };
  }, { url: FACE });
  assert.ok(r.ok, JSON.stringify(r));
  for (const o of r.value.outcomes) assert.ok(o === 'answered 1,512,1' || o === 'INVALID_ARGUMENT', o);
  assert.deepEqual(r.value.again, [1, 512, 1]);
  assert.ok(r.value.live <= r.value.before, `live models ${r.value.before} before, ${r.value.live} after`);
});

test('stride-1 convolutions (1×3, 3×1, 3×3, 5×5, 2×4; 3 to 9 outputs; asymmetric padding; leaky ReLU, max, ReLU, min folded in; direct and Winograd kernels) give a plain loop\'s answers (1e-5)', async () => {
  const r = await inPage(async (sf) => {
    const w = (n) => Float32Array.from({ length: n }, (_, i) => (((i * 7919) % 23) - 11) / 8);
    let seed = 9;
    const noise = (n) => Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
    // kernel, output channels, pads (top, left, bottom, right), the element-wise steps after it,
    // as tests/parity/make_refs.py writes them: direct.onnx for the kernel without im2col (5
    // channels), winograd.onnx for F(4, 3) and F(2×2, 3×3) (9 channels).
    const leakyMax = (s) => Math.max(s < 0 ? s * Math.fround(0.2) : s, Math.fround(-0.4));
    const reluMin = (s) => Math.min(Math.max(s, 0), 0.5);
    const fixtures = {
      direct: [[5, 9, 27], {
        c1x3p1: [[1, 3], 6, [0, 1, 0, 1]],
        c3x1valid: [[3, 1], 9, [0, 0, 0, 0]],
        c3x3p1: [[3, 3], 4, [1, 1, 1, 1]],
        c5x5p2: [[5, 5], 3, [2, 2, 2, 2]],
        c2x4asym: [[2, 4], 7, [0, 1, 1, 2]],
        c3x3leaky: [[3, 3], 5, [1, 1, 1, 1], leakyMax],
        c1x3clamp: [[1, 3], 6, [0, 1, 0, 1], reluMin],
      }],
      winograd: [[9, 10, 13], {
        w3x1valid: [[3, 1], 6, [0, 0, 0, 0]],
        w3x1pad: [[3, 1], 5, [2, 0, 1, 0]],
        w1x3p1: [[1, 3], 7, [0, 1, 0, 1], reluMin],
        w3x3p1: [[3, 3], 5, [1, 1, 1, 1]],
        w3x3leaky: [[3, 3], 9, [0, 1, 1, 0], leakyMax],
      }],
    };
    const worst = {};
    for (const [file, [[C, H, W], cases]] of Object.entries(fixtures)) {
      const x = noise(C * H * W);
      const m = await sf.Model.load(`/models/cache/fixtures/${file}.onnx`, { backend: 'cpu' });
      const out = await m.run({ x: { dims: [1, C, H, W], data: x } });
      m.free();
      for (const [name, [[kh, kw], M, [pt, pl, pb, pr], then = (s) => s]] of Object.entries(cases)) {
        const k = w(M * C * kh * kw);
        const [oh, ow] = [H + pt + pb - kh + 1, W + pl + pr - kw + 1];
        const ref = [];
        for (let o = 0; o < M; o++)
          for (let y = 0; y < oh; y++)
            for (let xx = 0; xx < ow; xx++) {
              let s = 0.25 * o;
              for (let c = 0; c < C; c++)
                for (let ky = 0; ky < kh; ky++)
                  for (let kx = 0; kx < kw; kx++) {
                    const [iy, ix] = [y + ky - pt, xx + kx - pl];
                    if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += x[(c * H + iy) * W + ix] * k[((o * C + c) * kh + ky) * kw + kx];
                  }
              ref.push(then(s));
            }
        const got = out[name];
        const scale = ref.reduce((acc, v) => Math.max(acc, Math.abs(v)), 1e-30);
        worst[name] = got.dims.join('x') !== `1x${M}x${oh}x${ow}` ? `dims ${got.dims}, want 1x${M}x${oh}x${ow}` : ref.reduce((acc, v, i) => Math.max(acc, Math.abs(got.data[i] - v) / scale), 0);
      }
    }
    return worst;
  });
  assert.ok(r.ok, r.message);
  assert.equal(Object.keys(r.value).length, 12);
  for (const [name, worst] of Object.entries(r.value)) assert.ok(worst <= 1e-5, `${name}: ${worst}`);
});

test('1×1 convolutions (1, 4, 6, 7, 9, 10, 11 outputs; planes of 243 and 64; with and without bias; the input added back, then a ReLU) give a plain loop\'s answers (1e-5)', async () => {
  const r = await inPage(async (sf) => {
    const w = (n) => Float32Array.from({ length: n }, (_, i) => (((i * 7919) % 23) - 11) / 8);
    let seed = 13;
    const noise = (n) => Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
    const inputs = { x: [11, 9, 27], y: [7, 4, 16] };
    const feeds = {};
    for (const [name, [C, H, W]] of Object.entries(inputs)) feeds[name] = { dims: [1, C, H, W], data: noise(C * H * W) };
    const m = await sf.Model.load('/models/cache/fixtures/pointwise.onnx', { backend: 'cpu' });
    const out = await m.run(feeds);
    m.free();
    // input, output channels, bias, the input added back, ReLU, as tests/parity/make_refs.py
    // writes them.
    const cases = { p6: ['x', 6, true], p9: ['x', 9, true], p1: ['x', 1, true], q4nobias: ['y', 4, false], q10: ['y', 10, true], p11res: ['x', 11, true, true, true], q7res: ['y', 7, false, true, false] };
    const worst = {};
    for (const [name, [src, M, bias, residual = false, relu = false]] of Object.entries(cases)) {
      const [C, H, W] = inputs[src];
      const [x, k, plane] = [feeds[src].data, w(M * C), H * W];
      const ref = [];
      for (let o = 0; o < M; o++)
        for (let p = 0; p < plane; p++) {
          let s = bias ? 0.25 * o : 0;
          for (let c = 0; c < C; c++) s += x[c * plane + p] * k[o * C + c];
          if (residual) s += x[o * plane + p];
          ref.push(relu ? Math.max(s, 0) : s);
        }
      const got = out[name];
      const scale = ref.reduce((acc, v) => Math.max(acc, Math.abs(v)), 1e-30);
      worst[name] = got.dims.join('x') !== `1x${M}x${H}x${W}` ? `dims ${got.dims}, want 1x${M}x${H}x${W}` : ref.reduce((acc, v, i) => Math.max(acc, Math.abs(got.data[i] - v) / scale), 0);
    }
    return worst;
  });
  assert.ok(r.ok, r.message);
  assert.equal(Object.keys(r.value).length, 7);
  for (const [name, worst] of Object.entries(r.value)) assert.ok(worst <= 1e-5, `${name}: ${worst}`);
});

test('LRN across channels and steps by per-channel constants give a plain loop\'s answers (1e-5)', async () => {
  const r = await inPage(async (sf) => {
    let seed = 29;
    const noise = (n) => Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 8 - 4);
    const [x, y, z] = [noise(11 * 35), noise(2 * 6 * 6), noise(5 * 7 * 9)];
    const m = await sf.Model.load('/models/cache/fixtures/lrn_chains.onnx', { backend: 'cpu' });
    const out = await m.run({ x: { dims: [1, 11, 5, 7], data: x }, y: { dims: [2, 6, 3, 2], data: y }, z: { dims: [1, 5, 7, 9], data: z } });
    m.free();
    // As tests/parity/make_refs.py writes them.
    const s = (i) => 0.5 + 0.1 * i;
    const t = (i) => 0.25 * i - 1;
    const lrn = (size, alpha, beta, bias) =>
      Array.from(x, (v, i) => {
        const [c, p] = [Math.floor(i / 35), i % 35];
        let sum = 0;
        for (let k = Math.max(0, c - Math.floor((size - 1) / 2)); k <= Math.min(10, c + Math.ceil((size - 1) / 2)); k++) sum += x[k * 35 + p] ** 2;
        return v / (bias + (alpha / size) * sum) ** beta;
      });
    const refs = {
      lrn5: lrn(5, 1e-2, 0.75, 1),
      lrn4: lrn(4, 0.5, 0.6, 2),
      affine_relu: Array.from(x, (v, i) => Math.max(v * s(Math.floor(i / 35)) + t(Math.floor(i / 35)), 0)),
      small_sub: Array.from(y, (v, i) => (v - t(Math.floor(i / 6) % 6)) * s(Math.floor(i / 6) % 6)),
      small_rsub: Array.from(y, (v, i) => t(Math.floor(i / 6) % 6) - v),
      last_axis: Array.from(z, (v, i) => Math.min(v * (1 - 0.2 * (i % 9)) + 0.3 * (i % 9), 1.5)),
    };
    const worst = {};
    for (const [name, ref] of Object.entries(refs)) {
      const got = out[name];
      const scale = ref.reduce((acc, v) => Math.max(acc, Math.abs(v)), 1e-30);
      worst[name] = got.data.length !== ref.length ? `length ${got.data.length}` : ref.reduce((acc, v, i) => Math.max(acc, Math.abs(got.data[i] - v) / scale), 0);
    }
    return worst;
  });
  assert.ok(r.ok, r.message);
  assert.equal(Object.keys(r.value).length, 6);
  for (const [name, worst] of Object.entries(r.value)) assert.ok(worst <= 1e-5, `${name}: ${worst}`);
});

test('hard swish between affine steps after depthwise and 1×1 convolutions, and y·max(y, 0), give a plain loop\'s answers (1e-5)', async () => {
  const r = await inPage(async (sf) => {
    const w = (n) => Float32Array.from({ length: n }, (_, i) => (((i * 7919) % 23) - 11) / 8);
    let seed = 17;
    const noise = (n) => Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 8 - 4);
    const [C, H, W, M] = [20, 9, 13, 12];
    const x = noise(C * H * W);
    const m = await sf.Model.load('/models/cache/fixtures/chains.onnx', { backend: 'cpu' });
    const out = await m.run({ x: { dims: [1, C, H, W], data: x } });
    m.free();
    // As tests/parity/make_refs.py writes them.
    const hs = (v) => {
      const l = 0.8 * v + 0.1;
      return 1.2 * ((l * Math.min(Math.max(l + 3, 0), 6)) / 6) - 0.05;
    };
    const [dk, pk] = [w(C * 9), w(M * C)];
    const dw = [];
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let xx = 0; xx < W; xx++) {
          let s = 0.25 * c;
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) {
              const [iy, ix] = [y + ky - 1, xx + kx - 1];
              if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += x[(c * H + iy) * W + ix] * dk[(c * 3 + ky) * 3 + kx];
            }
          dw.push(hs(s));
        }
    const pw = [];
    for (let o = 0; o < M; o++)
      for (let p = 0; p < H * W; p++) {
        let s = 0.25 * o;
        for (let c = 0; c < C; c++) s += x[c * H * W + p] * pk[o * C + c];
        pw.push(hs(s));
      }
    const relu = Array.from(x, (v) => (v + 0.5) * Math.max(v + 0.5, 0));
    const worst = {};
    for (const [name, ref, channels] of [['dw_out', dw, C], ['pw_out', pw, M], ['relu_times', relu, C]]) {
      const got = out[name];
      const scale = ref.reduce((acc, v) => Math.max(acc, Math.abs(v)), 1e-30);
      worst[name] = got.dims.join('x') !== `1x${channels}x${H}x${W}` ? `dims ${got.dims}` : ref.reduce((acc, v, i) => Math.max(acc, Math.abs(got.data[i] - v) / scale), 0);
    }
    return worst;
  });
  assert.ok(r.ok, r.message);
  assert.equal(Object.keys(r.value).length, 3);
  for (const [name, worst] of Object.entries(r.value)) assert.ok(worst <= 1e-5, `${name}: ${worst}`);
});

test('depthwise convolutions of 21 and 24 channels (channels last in the wasm plan), kernels 3, 5 and 7, some clipped, give a plain loop\'s answers (1e-5)', async () => {
  const r = await inPage(async (sf) => {
    const w = (n) => Float32Array.from({ length: n }, (_, i) => (((i * 7919) % 23) - 11) / 8);
    let seed = 11;
    const noise = (n) => Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
    const inputs = { x: [21, 13, 23], y: [24, 9, 17] };
    const feeds = {};
    for (const [name, [C, H, W]] of Object.entries(inputs)) feeds[name] = { dims: [1, C, H, W], data: noise(C * H * W) };
    const m = await sf.Model.load('/models/cache/fixtures/depthwise_last.onnx', { backend: 'cpu' });
    const out = await m.run(feeds);
    m.free();
    // input, kernel, strides, pads (top, left, bottom, right), clip, as tests/parity/make_refs.py
    // writes them.
    const cases = {
      l3s1p1: ['x', [3, 3], [1, 1], [1, 1, 1, 1]], l5s2p2: ['x', [5, 5], [2, 2], [2, 2, 2, 2]],
      l3s2same: ['x', [3, 3], [2, 2], [0, 0, 1, 1], [-0.5, 0.5]], l5s1p2: ['x', [5, 5], [1, 1], [2, 2, 2, 2]],
      l3s21: ['x', [3, 3], [2, 1], [1, 1, 1, 1]], l3s3: ['x', [3, 3], [3, 3], [1, 0, 1, 0]],
      m3s1valid: ['y', [3, 3], [1, 1], [0, 0, 0, 0], [0, 6]], m5s2p1: ['y', [5, 5], [2, 2], [1, 2, 2, 1]],
      m7s1p3: ['y', [7, 7], [1, 1], [3, 3, 3, 3]],
    };
    const worst = {};
    for (const [name, [src, [kh, kw], [sh, sw], [pt, pl, pb, pr], clip]] of Object.entries(cases)) {
      const [C, H, W] = inputs[src];
      const [x, k] = [feeds[src].data, w(C * kh * kw)];
      const [oh, ow] = [Math.floor((H + pt + pb - kh) / sh) + 1, Math.floor((W + pl + pr - kw) / sw) + 1];
      const ref = [];
      for (let c = 0; c < C; c++)
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++) {
            let s = 0.25 * c;
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const [iy, ix] = [y * sh + ky - pt, xx * sw + kx - pl];
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += x[(c * H + iy) * W + ix] * k[(c * kh + ky) * kw + kx];
              }
            ref.push(clip ? Math.min(Math.max(s, clip[0]), clip[1]) : s);
          }
      const got = out[name];
      const scale = ref.reduce((acc, v) => Math.max(acc, Math.abs(v)), 1e-30);
      worst[name] = got.dims.join('x') !== `1x${C}x${oh}x${ow}` ? `dims ${got.dims}, want 1x${C}x${oh}x${ow}` : ref.reduce((acc, v, i) => Math.max(acc, Math.abs(got.data[i] - v) / scale), 0);
    }
    return worst;
  });
  assert.ok(r.ok, r.message);
  assert.equal(Object.keys(r.value).length, 9);
  for (const [name, worst] of Object.entries(r.value)) assert.ok(worst <= 1e-5, `${name}: ${worst}`);
});

test('depthwise convolutions at odd sides, rows of 3 to 23 outputs, strides 1, 2 and 3, asymmetric padding, give a plain loop\'s answers (1e-5)', async () => {
  const r = await inPage(async (sf) => {
    const w = (n) => Float32Array.from({ length: n }, (_, i) => (((i * 7919) % 23) - 11) / 8);
    let seed = 5;
    const noise = (n) => Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
    const [C, H, W] = [6, 13, 23];
    const x = noise(C * H * W);
    const m = await sf.Model.load('/models/cache/fixtures/depthwise.onnx', { backend: 'cpu' });
    const out = await m.run({ x: { dims: [1, C, H, W], data: x } });
    m.free();
    // kernel, strides, pads (top, left, bottom, right), as tests/parity/make_refs.py writes them.
    const cases = { dw3s1p1: [[3, 3], [1, 1], [1, 1, 1, 1]], dw5s2p2: [[5, 5], [2, 2], [2, 2, 2, 2]], dw3s2same: [[3, 3], [2, 2], [0, 0, 1, 1]], dw3s1valid: [[3, 3], [1, 1], [0, 0, 0, 0]], dw5s1p2: [[5, 5], [1, 1], [2, 2, 2, 2]], dw3s21: [[3, 3], [2, 1], [1, 1, 1, 1]], dw3s3: [[3, 3], [3, 3], [1, 0, 1, 0]], dw3x21s1: [[3, 21], [1, 1], [0, 0, 0, 0]], dw3x19s2: [[3, 19], [2, 2], [1, 0, 1, 0]], dw3x17s1: [[3, 17], [1, 1], [1, 0, 1, 0]] };
    const worst = {};
    for (const [name, [[kh, kw], [sh, sw], [pt, pl, pb, pr]]] of Object.entries(cases)) {
      const k = w(C * kh * kw);
      const [oh, ow] = [Math.floor((H + pt + pb - kh) / sh) + 1, Math.floor((W + pl + pr - kw) / sw) + 1];
      const ref = [];
      for (let c = 0; c < C; c++)
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++) {
            let s = 0.25 * c;
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const [iy, ix] = [y * sh + ky - pt, xx * sw + kx - pl];
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += x[(c * H + iy) * W + ix] * k[(c * kh + ky) * kw + kx];
              }
            ref.push(s);
          }
      const got = out[name];
      const scale = ref.reduce((acc, v) => Math.max(acc, Math.abs(v)), 1e-30);
      worst[name] = got.dims.join('x') !== `1x${C}x${oh}x${ow}` ? `dims ${got.dims}, want 1x${C}x${oh}x${ow}` : ref.reduce((acc, v, i) => Math.max(acc, Math.abs(got.data[i] - v) / scale), 0);
    }
    return worst;
  });
  assert.ok(r.ok, r.message);
  for (const [name, worst] of Object.entries(r.value)) assert.ok(worst <= 1e-5, `${name}: ${worst}`);
});
