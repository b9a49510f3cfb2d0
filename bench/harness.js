// In-page side of `make bench`: the same model, input and timing loop for shopfloor and for
// onnxruntime-web, so the only difference between the two columns is the runtime.
// Served at /bench/harness.js; driven by bench/run.mjs through playwright.

const ORT_DIST = '/bench/node_modules/onnxruntime-web/dist/';

/** A deterministic, image-like input (values in [-1, 1]), identical for both runtimes. */
export function makeInput(dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = 0.6 * Math.sin(i * 0.013) + 0.4 * (s / 2 ** 32 - 0.5);
  }
  return data;
}

/**
 * A real photo (`spec.image`) resized to the input and normalised as the model's manifest says,
 * so outputs are far from trivial and the cross-check between runtimes means something.
 */
async function makeImageInput(dims, { url, mean, std }) {
  const nhwc = dims[3] === 3;
  const [h, w] = nhwc ? [dims[1], dims[2]] : [dims[2], dims[3]];
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const ctx = new OffscreenCanvas(w, h).getContext('2d');
  ctx.drawImage(bitmap, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  const data = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) {
    for (let c = 0; c < 3; c++) data[nhwc ? i * 3 + c : c * h * w + i] = (px[i * 4 + c] - mean) / std;
  }
  return data;
}

/**
 * The model's feeds as `[{ name, type: 'f32' | 'i64', dims, data }]`: one image-like or photo
 * input, or `spec.feeds` for a model with several (integer feeds give their `value`).
 */
async function inputs(spec) {
  if (!spec.feeds) return [{ name: spec.input, type: 'f32', dims: spec.dims, data: await (spec.image ? makeImageInput(spec.dims, spec.image) : makeInput(spec.dims)) }];
  return spec.feeds.map(({ name, type, dims, value }) => ({
    name,
    type,
    dims,
    data: type === 'i64' ? BigInt64Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => BigInt(value)) : makeInput(dims),
  }));
}

/** Runtime adapters: `open(spec)` → `{ run() → {name: Float32Array}, free() }`. */
const RUNTIMES = {
  async shopfloor({ path, threads, pkg = '/pkg/index.js', overlap = false }) {
    const sf = await import(pkg);
    // With `overlap`, as a page loading its model at once would: init() starts the module's
    // download and compilation, and Model.load downloads the model meanwhile.
    const ready = sf.init({ threads });
    if (!overlap) await ready;
    return {
      info: async () => ({ version: await sf.version(), threads: (await sf.backends()).cpu.threads }),
      async open(spec, given) {
        const backend = path === 'webgpu' ? 'webgpu' : 'cpu';
        const inputShapes = Object.fromEntries(given.map((g) => [g.name, g.dims]));
        const m = await sf.Model.load(spec.url, { backend, inputShapes });
        const feeds = () => Object.fromEntries(given.map((g) => [g.name, sf.tensor(g.type, g.dims, g.data)]));
        return {
          backend: m.info().backend,
          async run() {
            const out = await m.run(feeds());
            return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, toF32(t.data)]));
          },
          free: () => m.free(),
          /** Where the threaded build ran the plan when asked ('pool' or 'inline'; null while it still measures, or on one thread). */
          placement: () => m.info().cpuPlacement ?? null,
        };
      },
    };
  },

  async ort({ path, threads }) {
    const ort = await import(ORT_DIST + (path === 'webgpu' ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs'));
    ort.env.wasm.wasmPaths = ORT_DIST;
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    return {
      info: async () => ({ version: ort.env.versions?.web ?? ort.env.versions?.common }),
      async open(spec, given) {
        const bytes = new Uint8Array(await (await fetch(spec.url)).arrayBuffer());
        const s = await ort.InferenceSession.create(bytes, {
          executionProviders: [path === 'webgpu' ? 'webgpu' : 'wasm'],
          graphOptimizationLevel: 'all',
        });
        return {
          backend: path === 'webgpu' ? 'webgpu' : 'wasm',
          async run() {
            const feeds = Object.fromEntries(given.map((g) => [g.name, new ort.Tensor(g.type === 'i64' ? 'int64' : 'float32', g.data, g.dims)]));
            const out = await s.run(feeds);
            const r = {};
            for (const [k, t] of Object.entries(out)) {
              r[k] = toF32(await t.getData());
              t.dispose?.();
            }
            return r;
          },
          free: () => s.release(),
        };
      },
    };
  },
};

function toF32(a) {
  return a instanceof Float32Array ? a : Float32Array.from(a, Number);
}

/** Bytes of every wasm memory created so far (the init script in run.mjs records them). */
function wasmMemoryBytes() {
  return (globalThis.__benchMemories ?? []).reduce((sum, m) => sum + m.buffer.byteLength, 0);
}

/**
 * Cold start in a fresh profile: import + wasm init + model fetch + compile + first run, then a
 * few runs so the wasm memory reaches its steady-state peak (wasm memory never shrinks).
 */
export async function cold({ runtime, path, threads, spec, pkg, overlap = true }) {
  const data = await inputs(spec);
  const t0 = performance.now();
  const rt = await RUNTIMES[runtime]({ path, threads, pkg, overlap });
  const t1 = performance.now();
  const session = await rt.open(spec, data);
  const t2 = performance.now();
  await session.run();
  const t3 = performance.now();
  const firstMs = t3 - t0;
  // Where the first inference goes: the JS API's import (with `overlap: false`, shopfloor's
  // wasm instantiation too), then everything up to a loaded model (the wasm's download and
  // instantiation, which onnxruntime-web does inside its first session's creation and shopfloor
  // beside the model's download, the model's fetch and load), then the first run.
  const stages = { importMs: t1 - t0, loadMs: t2 - t1, firstRunMs: t3 - t2 };
  for (let i = 0; i < 2; i++) await session.run();
  const peakWasmBytes = wasmMemoryBytes();
  session.free();
  return { firstMs, stages, peakWasmBytes, backend: session.backend, ...(await rt.info()) };
}

/** Compares two outputs: max |a - b| over the largest |b| (b the peer's), per output name. */
export function compare(a, b) {
  let worst = 0;
  const names = Object.keys(b);
  for (const k of names) {
    const x = a[k];
    const y = b[k];
    if (!x || x.length !== y.length) return { maxRelDiff: Infinity, why: `output ${k} missing or of another size` };
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < y.length; i++) {
      scale = Math.max(scale, Math.abs(y[i]));
      const d = Math.abs(x[i] - y[i]);
      diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    }
    worst = Math.max(worst, diff / Math.max(scale, 1e-30));
  }
  return { maxRelDiff: worst };
}

export function stats(times) {
  const t = [...times].sort((a, b) => a - b);
  const q = (p) => t[Math.min(t.length - 1, Math.floor(p * t.length))];
  return { runs: t.length, min: t[0], median: q(0.5), p90: q(0.9), max: t[t.length - 1] };
}

/**
 * Warm latency, both runtimes in one page: outputs compared (that run also warms up), a
 * time-boxed warm-up of each (V8 tiers wasm up lazily), then turns A B A B so drift hits both
 * sides equally, until `rounds` timed runs or, past `minRounds`, the time budget. With `turn` > 0
 * each turn is one untimed run, then `turn` timed ones: every timed run follows a run of its own
 * runtime, as in a page that runs only it. `turn: 0` interleaves single timed runs instead, so
 * each follows the other runtime's (what a runtime leaves running on the CPU after its run then
 * lands in the other's time: onnxruntime-web's threads slow the next 10-20 ms, docs/performance.md,
 * "Threads"). `settleMs` of quiet before each timed run: both pools asleep, as between a camera's
 * frames.
 */
export async function warm({ path, threads, spec, warmupMs, minWarmup, rounds, minRounds, budgetMs, settleMs = 0, turn = 0 }) {
  const data = await inputs(spec);
  const ours = await (await RUNTIMES.shopfloor({ path, threads })).open(spec, data);
  const peer = await (await RUNTIMES.ort({ path, threads })).open(spec, data);
  try {
    const check = compare(await ours.run(), await peer.run());
    for (const s of [ours, peer]) {
      const w = performance.now();
      let n = 0;
      while (n < minWarmup || performance.now() - w < warmupMs) {
        await s.run();
        n++;
      }
    }
    const a = [];
    const b = [];
    const start = performance.now();
    for (let i = 0; a.length < rounds; i++) {
      for (const [s, times] of i % 2 ? [[peer, b], [ours, a]] : [[ours, a], [peer, b]]) {
        if (turn > 0) await s.run();
        for (let j = 0; j < Math.max(1, turn) && times.length < rounds; j++) {
          if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
          const t = performance.now();
          await s.run();
          times.push(performance.now() - t);
        }
      }
      if (a.length >= minRounds && performance.now() - start > budgetMs) break;
    }
    return { ...check, shopfloor: stats(a), ort: stats(b), oursBackend: ours.backend, oursPlacement: ours.placement(), turn };
  } finally {
    ours.free();
    peer.free();
  }
}

/**
 * Two builds of shopfloor in one page (`pkgs`: the URLs of their index.js), run A B B A … on the
 * same input after a time-boxed warm-up of each: each pair's ratio B / A, taken run by run, is
 * what drift on a shared machine disturbs least.
 */
export async function pair({ path, threads, spec, pkgs, warmupMs, rounds, force }) {
  const data = await inputs(spec);
  const sides = [];
  const counts = Array.isArray(threads) ? threads : [threads, threads];
  for (const [i, pkg] of pkgs.entries()) sides.push(await (await RUNTIMES.shopfloor({ path, threads: counts[i], pkg })).open(spec, data));
  // The threaded builds' placement, forced (test-only export): both sides' runs the same way.
  if (force) for (const pkg of pkgs) (await import(pkg.replace(/index\.js$/, 'wasm-mt/shopfloor.js'))).__testForcePlacement(force);
  try {
    const check = compare(await sides[1].run(), await sides[0].run());
    for (const s of sides) {
      const w = performance.now();
      while (performance.now() - w < warmupMs) await s.run();
    }
    const times = [[], []];
    for (let i = 0; i < rounds; i++) {
      for (const k of i % 2 ? [1, 0] : [0, 1]) {
        const t = performance.now();
        await sides[k].run();
        times[k].push(performance.now() - t);
      }
    }
    const ratios = times[1].map((t, i) => t / times[0][i]).sort((x, y) => x - y);
    return { ...check, a: stats(times[0]), b: stats(times[1]), ratio: { ...stats(ratios), p10: ratios[Math.floor(0.1 * ratios.length)] } };
  } finally {
    for (const s of sides) s.free();
  }
}

/**
 * Two builds' warm loads in one page, alternated A B B A …: each round loads the model (fetch
 * from the browser's cache, parse, optimise, plan) and runs it once, then frees it; the first
 * round of each side, which also compiles the module's loading code, is left out.
 */
export async function pairLoad({ path, threads, spec, pkgs, rounds }) {
  const data = await inputs(spec);
  const counts = Array.isArray(threads) ? threads : [threads, threads];
  const runtimes = [];
  for (const [i, pkg] of pkgs.entries()) runtimes.push(await RUNTIMES.shopfloor({ path, threads: counts[i], pkg }));
  const once = async (k) => {
    const t = performance.now();
    const s = await runtimes[k].open(spec, data);
    await s.run();
    const ms = performance.now() - t;
    s.free();
    return ms;
  };
  for (const k of [0, 1]) await once(k);
  const times = [[], []];
  for (let i = 0; i < rounds; i++) for (const k of i % 2 ? [1, 0] : [0, 1]) times[k].push(await once(k));
  const ratios = times[1].map((t, i) => t / times[0][i]).sort((x, y) => x - y);
  return { a: stats(times[0]), b: stats(times[1]), ratio: { ...stats(ratios), p10: ratios[Math.floor(0.1 * ratios.length)] } };
}

/**
 * Dictation with Whisper tiny.en: each recording transcribed whole (after one warm-up), then fed
 * live in real time (0.1-s chunks, each fed when it would have been recorded, then silence);
 * `delayMs` is from the end of speech (the VAD's) to the first segment's arrival.
 */
export async function dictation({ path, threads, manifest, wavs }) {
  const sf = await import('/pkg/index.js');
  await sf.init({ threads });
  const t0 = performance.now();
  const t = await sf.Transcriber.create({ model: manifest, backend: path === 'webgpu' ? 'webgpu' : 'cpu' });
  const loadMs = performance.now() - t0;
  const rate = 16000;
  const step = rate / 10;
  const clips = [];
  for (const url of wavs) clips.push({ url, x: (await new OfflineAudioContext(1, 1, rate).decodeAudioData(await (await fetch(url)).arrayBuffer())).getChannelData(0) });
  await t.transcribe(clips[0].x, rate);
  const rows = [];
  try {
    for (const { url, x } of clips) {
      let t1 = performance.now();
      const text = (await t.transcribe(x, rate)).text;
      const wholeMs = performance.now() - t1;
      t.reset();
      const audio = new Float32Array(x.length + 1.5 * rate);
      audio.set(x);
      const start = performance.now();
      let [end, textAt, decodeMs] = [null, null, null];
      for (let fed = 0; fed < audio.length && textAt === null; fed += step) {
        const due = start + ((fed + step) / rate) * 1000;
        if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
        for (const e of await t.feed(audio.subarray(fed, fed + step), rate)) {
          if (e.type === 'speechEnd' && end === null) end = e.end;
          if (e.type === 'segment' && textAt === null) [textAt, decodeMs] = [performance.now(), e.decodeMs];
        }
      }
      await t.finish();
      const delayMs = textAt !== null && end !== null ? textAt - (start + end * 1000) : null;
      rows.push({ url, seconds: x.length / rate, text, wholeMs, delayMs, decodeMs });
    }
    const info = t.info();
    return { loadMs, rows, threads: (await sf.backends()).cpu.threads, encoder: info.models[0].backend, decoder: info.models[1].backend };
  } finally {
    t.free();
  }
}

/** What this browser offers, for the report's header. */
export async function environment() {
  const gpu = globalThis.navigator?.gpu ? await navigator.gpu.requestAdapter() : null;
  const info = gpu?.info;
  return {
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    webgpuAdapter: info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'yes' : null,
  };
}
