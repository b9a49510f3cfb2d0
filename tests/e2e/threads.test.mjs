// The threaded build: chosen at init() on a cross-origin isolated page, one thread elsewhere, the
// same answers as the single-thread build on the real models, and a main thread that keeps
// running while a pool of workers computes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MODELS as BENCH_MODELS } from '../../bench/models.mjs';
import { launch, serve, watchErrors } from './browser.mjs';

const CACHE = fileURLToPath(new URL('../../models/cache/', import.meta.url));
// The benchmark's six vision and wake-word models, fed the same seeded noise on both builds.
const MODELS = BENCH_MODELS.filter((m) => !m.feeds && !m.id.startsWith('whisper')).filter((m) =>
  existsSync(CACHE + m.url.slice('/models/cache/'.length)),
);

let server;
let plain; // the same files without COOP/COEP
let browser;
const errors = [];

before(async () => {
  server = await serve({ extraRoots: ['tests'] });
  plain = await serve({ isolated: false, extraRoots: ['tests'] });
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  await server?.close();
  await plain?.close();
});

/** A fresh page at `base`, with the package imported and `init(options)` awaited. */
async function open(base, options) {
  const page = await browser.context.newPage();
  errors.push(watchErrors(page));
  await page.goto(`${base}/tests/e2e/blank.html`);
  await page.evaluate(async (options) => {
    window.sf = await import('/pkg/index.js');
    await window.sf.init(options);
  }, options);
  return page;
}

/** Runs every model once on `page`; outputs as plain arrays, by model. */
function runAll(page) {
  return page.evaluate(async (models) => {
    const out = {};
    for (const spec of models) {
      let seed = 12345;
      const n = spec.dims.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        data[i] = (seed / 2 ** 32) * 2 - 1;
      }
      const m = await window.sf.Model.load(spec.url, { backend: 'cpu' });
      const r = await m.run({ [spec.input]: { dims: spec.dims, data } });
      out[spec.url] = Object.fromEntries(Object.entries(r).map(([k, t]) => [k, Array.from(t.data)]));
      m.free();
    }
    return out;
  }, MODELS);
}

test('a cross-origin isolated page gets the thread pool; init({ threads: 1 }) and a plain page do not', async () => {
  const threaded = await open(server.url);
  const [mt, cores] = await threaded.evaluate(() => window.sf.backends().then((b) => [b.cpu, navigator.hardwareConcurrency]));
  const auto = Math.min(cores, 8);
  assert.ok(auto >= 2, `threads need 2 cores; this machine reports ${cores}`);
  assert.equal(mt.threads, auto, JSON.stringify(mt));
  assert.match(mt.threadsReason, new RegExp(`pool of ${auto} Web Workers \\('auto': ${cores} cores reported`));

  const one = await open(server.url, { threads: 1 });
  const st = await one.evaluate(() => window.sf.backends().then((b) => b.cpu));
  assert.deepEqual([st.threads, st.threadsReason], [1, 'init({ threads: 1 }) asked for one thread']);

  const notIsolated = await open(plain.url);
  const pl = await notIsolated.evaluate(() => window.sf.backends().then((b) => ({ cpu: b.cpu, isolated: crossOriginIsolated })));
  assert.equal(pl.isolated, false);
  assert.equal(pl.cpu.threads, 1);
  assert.match(pl.cpu.threadsReason, /not cross-origin isolated: serve it with COOP/);
  // The plain page still runs models (the single-thread build).
  const runs = await notIsolated.evaluate(async () => {
    const m = await window.sf.Model.load('/models/cache/blazeface/face_detection_front_128.onnx');
    const r = await m.run({ 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3) } });
    const n = m.outputs.length;
    m.free();
    return Object.keys(r).length === n && n > 0;
  });
  assert.equal(runs, true);
  for (const p of [threaded, one, notIsolated]) await p.close();
});

test('threads other than "auto" or 1..64 reject with INVALID_ARGUMENT, then init() still works', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${server.url}/tests/e2e/blank.html`);
  const codes = await page.evaluate(async () => {
    const sf = await import('/pkg/index.js');
    const out = [];
    for (const threads of [0, 65, 1.5, 'many', null]) out.push(await window.codeOf(() => sf.init({ threads })));
    await sf.init({ threads: 2 });
    out.push((await sf.backends()).cpu.threads);
    return out;
  });
  for (const c of codes.slice(0, 5)) assert.match(c, /^INVALID_ARGUMENT: init\(\{ threads \}\) takes 'auto' or a whole number/);
  assert.equal(codes[5], 2);
  await page.close();
});

/** The pool workers' script, as the threaded glue names it. */
function poolScript() {
  const snippets = fileURLToPath(new URL('../../pkg/wasm-mt/snippets/', import.meta.url));
  const dir = readdirSync(snippets).find((d) => existsSync(`${snippets}${d}/src/backend/pool_workers.js`));
  return `/pkg/wasm-mt/snippets/${dir}/src/backend/pool_workers.js`;
}

test('a pool worker that cannot load its script: the threaded module runs on one thread and says why', async () => {
  // The glue imports the pool's script too: only the workers' fetch of it fails.
  const script = poolScript();
  const broken = await serve({
    extraRoots: ['tests'],
    routes: {
      [script]: (req, res) => {
        if (req.headers['sec-fetch-dest'] !== 'worker') return false;
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      },
    },
  });
  const page = await browser.context.newPage();
  try {
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await page.goto(`${broken.url}/tests/e2e/blank.html`);
    const r = await page.evaluate(async () => {
      const t0 = performance.now();
      const sf = await import('/pkg/index.js');
      await sf.init();
      const cpu = (await sf.backends()).cpu;
      const m = await sf.Model.load('/models/cache/blazeface/face_detection_front_128.onnx');
      const out = await m.run({ 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3) } });
      m.free();
      return { cpu, outputs: Object.keys(out).length, ms: performance.now() - t0 };
    });
    assert.equal(r.cpu.threads, 1, JSON.stringify(r));
    assert.match(r.cpu.threadsReason, /^the thread pool could not start \(backend "cpu" is not available here: the CPU thread pool could not start its workers: a pool worker could not load its script http:\S+\/pool_workers\.js: check that it is served\)/);
    assert.match(r.cpu.threadsReason, /\): running on one thread$/);
    assert.ok(warnings.some((w) => w.includes(r.cpu.threadsReason)), warnings.join('\n'));
    assert.ok(r.outputs > 0);
    // Failed at once, not at the start deadline.
    assert.ok(r.ms < 15_000, `${r.ms} ms`);
  } finally {
    await page.close();
    await broken.close();
  }
});

test('a model loads and runs while the pool workers are still starting; init() waits for them', async () => {
  // Long enough for a cold load and run of BlazeFace on a busy 2-core CI machine.
  const HOLD_MS = 5000;
  const script = poolScript();
  let answered = Infinity;
  const slow = await serve({
    extraRoots: ['tests'],
    routes: {
      [script]: (req, res) => {
        if (req.headers['sec-fetch-dest'] !== 'worker') return false;
        const body = readFileSync(fileURLToPath(new URL(`../..${script}`, import.meta.url)));
        setTimeout(() => {
          answered = Math.min(answered, performance.now());
          // The worker's own COEP comes from its script's response: without it the worker is not
          // cross-origin isolated and cannot take the shared memory.
          res
            .writeHead(200, { 'Content-Type': 'text/javascript', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' })
            .end(body);
        }, HOLD_MS);
      },
    },
  });
  const page = await browser.context.newPage();
  errors.push(watchErrors(page));
  try {
    await page.goto(`${slow.url}/tests/e2e/blank.html`);
    const t0 = performance.now();
    const r = await page.evaluate(async () => {
      const sf = await import('/pkg/index.js');
      const initDone = sf.init({ threads: 2 }).then(() => 'init');
      const m = await sf.Model.load('/models/cache/blazeface/face_detection_front_128.onnx', { backend: 'cpu' });
      const feeds = { 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3).fill(0.25) } };
      const scores = async () => Array.from(Object.values(await m.run(feeds))[0].data);
      const early = await scores();
      const first = await Promise.race([initDone, Promise.resolve('model')]);
      await initDone;
      const cpu = (await sf.backends()).cpu;
      // Past the plan's first runs, which stay in the pool while the browser optimises them.
      let late = [];
      for (let i = 0; i < 6; i++) late = await scores();
      m.free();
      const scale = Math.max(...late.map(Math.abs), 1e-30);
      const diff = Math.max(...early.map((v, i) => Math.abs(v - late[i])));
      return { first, cpu, relDiff: early.length === late.length ? diff / scale : Infinity };
    });
    const ranAt = performance.now() - t0;
    assert.equal(r.first, 'model', 'the model waited for the pool');
    assert.ok(r.cpu.threads >= 2, JSON.stringify(r.cpu));
    assert.match(r.cpu.threadsReason, /^a pool of 2 Web Workers \(init\(\{ threads: 2 \}\)\)$/);
    assert.ok(r.relDiff <= 1e-5, `the run before the pool and the ones after it differ by ${r.relDiff}`);
    assert.ok(answered - t0 < ranAt, 'the script was answered after the page was done');
  } finally {
    await page.close();
    await slow.close();
  }
});

test('the threaded build answers as the single-thread build does on the benchmark models (1e-5 relative)', async () => {
  assert.ok(MODELS.length >= 4, `the benchmark models are fetched by make test: found ${MODELS.length}`);
  const threaded = await open(server.url);
  const single = await open(server.url, { threads: 1 });
  const [a, b] = [await runAll(threaded), await runAll(single)];
  for (const spec of MODELS) {
    for (const [name, want] of Object.entries(b[spec.url])) {
      const got = a[spec.url][name];
      assert.equal(got.length, want.length, `${spec.url} ${name}`);
      let scale = 1e-30;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
      assert.ok(worst <= 1e-5, `${spec.url} ${name}: ${worst} relative`);
    }
  }
  await threaded.close();
  await single.close();
});

test('the main thread keeps running while the pool computes', async () => {
  const page = await open(server.url);
  const r = await page.evaluate(async () => {
    const m = await window.sf.Model.load('/models/cache/ppocr/ppocrv4_det.onnx', { backend: 'cpu' });
    const feeds = { x: { dims: [1, 3, 640, 640], data: new Float32Array(3 * 640 * 640) } };
    await m.run(feeds); // compile the plan first: the timed runs are pool work only
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) await m.run(feeds);
    const ms = performance.now() - t0;
    clearInterval(timer);
    m.free();
    return { ticks, ms };
  });
  // A blocked main thread would fire no timer until the runs end.
  assert.ok(r.ticks >= r.ms / 10 / 4, `${r.ticks} timer ticks in ${r.ms.toFixed(0)} ms`);
  await page.close();
});

test('each CPU plan measures the pool (a small CNN in two bands of rows) against one inline thread and keeps the faster; answers do not move', async () => {
  const threaded = await open(server.url);
  const single = await open(server.url, { threads: 1 });
  const measure = (page) =>
    page.evaluate(async () => {
      const out = {};
      // Enough runs to decide (src/backend/pool/placement.rs: 5 warm-up runs in the pool, then 5 each way;
      // a plan whose measured pooled run is too long for the caller's thread is settled at once).
      for (const [url, input, dims, runs] of [
        ['/models/cache/blazeface/face_detection_front_128.onnx', 'input:0', [1, 128, 128, 3], 16],
        ['/models/cache/ppocr/ppocrv4_det.onnx', 'x', [1, 3, 640, 640], 6],
      ]) {
        const m = await window.sf.Model.load(url, { backend: 'cpu' });
        // A test-only export of the wasm glue (not the package API): runs that went in row bands,
        // and bands a pool thread had not started when the page's thread was done with its own.
        const threads = (await window.sf.backends()).cpu.threads;
        const glue = await import(threads > 1 ? '/pkg/wasm-mt/shopfloor.js' : '/pkg/wasm/shopfloor.js');
        const [banded0, takenBack0] = glue.__testBandedRuns();
        const n = dims.reduce((a, b) => a * b, 1);
        const feeds = { [input]: { dims, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5) } };
        const before = m.info().cpuPlacement ?? null;
        let first;
        let worst = 0;
        for (let i = 0; i < runs; i++) {
          const r = Object.values(await m.run(feeds))[0].data;
          first ??= r;
          const scale = first.reduce((a, v) => Math.max(a, Math.abs(v)), 1e-30);
          for (let j = 0; j < r.length; j++) worst = Math.max(worst, Math.abs(r[j] - first[j]) / scale);
        }
        out[url.split('/').pop()] = { before, after: m.info().cpuPlacement ?? null, worst, banded: glue.__testBandedRuns()[0] - banded0, takenBack: glue.__testBandedRuns()[1] - takenBack0 };
        m.free();
      }
      return out;
    });
  const [mt, st] = [await measure(threaded), await measure(single)];
  const face = mt['face_detection_front_128.onnx'];
  assert.equal(face.before, null, 'nothing is decided before a run');
  assert.ok(['bands', 'inline'].includes(face.after), JSON.stringify(mt));
  // BlazeFace's pooled runs after its first go in two bands of rows (src/backend/bands/): at least
  // the 4 other warm-up runs and the 5 measured; their answers are the whole plan's (worst, below).
  assert.ok(face.banded >= 9, JSON.stringify(mt));
  // The page's thread runs one band and a pool thread the other (src/backend/pool/helper.rs): in
  // back-to-back runs the pool thread is awake and takes its band.
  assert.ok(face.takenBack < face.banded, JSON.stringify(mt));
  assert.equal(mt['ppocrv4_det.onnx'].banded, 0, 'a large plan splits each layer instead');
  // PP-OCRv4 det at 640² takes hundreds of milliseconds: never tried on the caller's thread.
  assert.equal(mt['ppocrv4_det.onnx'].after, 'pool', JSON.stringify(mt));
  for (const r of [...Object.values(mt), ...Object.values(st)]) assert.ok(r.worst <= 1e-5, JSON.stringify({ mt, st }));
  for (const r of Object.values(st)) assert.equal(r.after, null, 'one thread: nothing to place');
  for (const r of Object.values(st)) assert.equal(r.banded, 0, 'one thread: no bands');
  console.log(`# BlazeFace on the threaded build runs ${face.after === 'bands' ? 'in two bands on the pool' : 'inline, measured faster'}`);
  await threaded.close();
  await single.close();
});

test('a NaN or an infinity in a large feed, scanned by the pool threads: INPUT_MISMATCH naming the first, then runs answer as before', async () => {
  const page = await open(server.url);
  const r = await page.evaluate(async () => {
    // Every run in the pool, where a feed of 64 Ki values or more is scanned by all its threads
    // (src/model/feeds.rs): EfficientNet-Lite0's 150,528.
    const glue = await import('/pkg/wasm-mt/shopfloor.js');
    glue.__testForcePlacement('pool');
    const banded0 = glue.__testBandedRuns()[0];
    const m = await window.sf.Model.load('/models/cache/efficientnet/efficientnet_lite0.onnx', { backend: 'cpu' });
    const data = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i) * 0.5);
    const run = async () => {
      try {
        const out = await m.run({ input: { dims: [1, 3, 224, 224], data } });
        return Array.from(Object.values(out)[0].data);
      } catch (e) {
        return `${e.code}: ${e.message}`;
      }
    };
    const original = data.slice();
    const clean = await run();
    const bad = {};
    // The first of several, wherever the threads' shares begin and end.
    for (const [at, v] of [[150527, -Infinity], [99999, NaN], [70000, Infinity], [1, NaN]]) {
      data[at] = v;
      bad[at] = await run();
    }
    data.set(original);
    const again = await run();
    m.free();
    glue.__testForcePlacement('auto');
    // A run in row bands would stay on the page's thread: none here, each went to the pool whole.
    return { banded: glue.__testBandedRuns()[0] - banded0, clean, bad, again };
  });
  assert.equal(r.banded, 0);
  assert.deepEqual(Object.keys(r.bad).map(Number).sort((a, b) => a - b), [1, 70000, 99999, 150527]);
  assert.match(r.bad[150527], /^INPUT_MISMATCH: .*"input".*element 150527 is -inf/);
  assert.match(r.bad[99999], /^INPUT_MISMATCH: .*element 99999 is NaN/);
  assert.match(r.bad[70000], /^INPUT_MISMATCH: .*element 70000 is inf/);
  assert.match(r.bad[1], /^INPUT_MISMATCH: .*element 1 is NaN/);
  assert.equal(typeof r.clean, 'object', String(r.clean));
  assert.deepEqual(r.again, r.clean);
  await page.close();
});

test('{ worker: true } on a threaded page runs in the SDK worker with its own pool', async () => {
  const page = await open(server.url);
  const r = await page.evaluate(async () => {
    const m = await window.sf.Model.load('/models/cache/blazeface/face_detection_front_128.onnx', { worker: true });
    const out = await m.run({ 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3).fill(0.25) } });
    const local = await window.sf.Model.load('/models/cache/blazeface/face_detection_front_128.onnx', { backend: 'cpu' });
    const want = await local.run({ 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3).fill(0.25) } });
    m.free();
    local.free();
    return Object.keys(want).map((k) => want[k].data.reduce((m, v, i) => Math.max(m, Math.abs(v - out[k].data[i])), 0));
  });
  for (const d of r) assert.ok(d <= 1e-5, `worker vs page: ${d}`);
  await page.close();
});

test('no uncaught errors in the pages', () => {
  for (const e of errors) assert.deepEqual(e, []);
});
