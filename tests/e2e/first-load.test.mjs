// A page's first load: Model.load and the pipelines' create() download their files while the
// wasm module downloads and compiles, instead of after it (pkg/src/runtime-impl.ts,
// `instanceWith`), and report failures as before: the module's first, then the files'. The time
// it saves is measured, not asserted: docs/performance-log.md, "First inference".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serve, watchErrors } from './browser.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WASM = '/pkg/wasm/shopfloor_bg.wasm';
const BLAZEFACE = '/models/cache/blazeface/face_detection_front_128.onnx';
const HOLD_MS = 1500;

let server;
let browser;
/** When each request arrived and, for the held module, when its answer went out (ms since `t0`). */
let log = [];
let t0 = 0;
/** What the module's route answers: the module after HOLD_MS, or a 404 after it. */
let wasmAnswer = 'module';

const stamp = (what) => log.push({ what, at: performance.now() - t0 });

before(async () => {
  const wasm = readFileSync(`${ROOT}${WASM}`);
  server = await serve({
    isolated: false, // the single-thread build, whose module the route holds back
    extraRoots: ['tests'],
    routes: {
      [WASM]: (req, res) => {
        stamp('wasm requested');
        setTimeout(() => {
          stamp('wasm answered');
          if (wasmAnswer === 'missing') res.writeHead(404).end();
          else res.writeHead(200, { 'Content-Type': 'application/wasm', 'Content-Length': wasm.length }).end(wasm);
        }, HOLD_MS);
      },
    },
  });
  // Every other request is timed as it arrives.
  const served = server.served;
  const push = served.push.bind(served);
  served.push = (url) => {
    if (url !== WASM) stamp(url);
    return push(url);
  };
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh page (its own module instance) that runs `body(sf, arg)` on a page with no init() yet. */
async function onFreshPage(body, arg) {
  const page = await browser.context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.url}/tests/e2e/blank.html`);
  log = [];
  t0 = performance.now();
  try {
    const result = await page.evaluate(
      async ({ body, arg }) => {
        const sf = await import('/pkg/index.js');
        return new Function('sf', 'arg', `return (${body})(sf, arg)`)(sf, arg);
      },
      { body: body.toString(), arg },
    );
    return { result, errors, log };
  } finally {
    await page.close();
  }
}

const at = (log, what) => log.find((e) => e.what === what)?.at;

test('Model.load on a fresh page downloads the model while the module is held back', async () => {
  wasmAnswer = 'module';
  const { result, errors, log } = await onFreshPage(
    async (sf, url) => {
      const m = await sf.Model.load(url, { backend: 'cpu' });
      const out = await m.run({ 'input:0': sf.tensor('f32', [1, 128, 128, 3], new Float32Array(128 * 128 * 3).fill(0.5)) });
      m.free();
      return Object.keys(out).length;
    },
    BLAZEFACE,
  );
  assert.ok(result > 0);
  const model = at(log, BLAZEFACE);
  assert.ok(model !== undefined, `the model was never requested: ${JSON.stringify(log)}`);
  assert.ok(model < at(log, 'wasm answered'), `the model waited for the module: ${JSON.stringify(log)}`);
  assert.deepEqual(errors, []);
});

test('a pipeline downloads its manifest and files while the module is held back', async () => {
  wasmAnswer = 'module';
  const { result, errors, log } = await onFreshPage(async (sf) => {
    const faces = await sf.FaceDetector.create({ model: '/models/cache/blazeface/manifest.json', backend: 'cpu' });
    faces.free();
    return true;
  });
  assert.equal(result, true);
  const answered = at(log, 'wasm answered');
  for (const file of ['/models/cache/blazeface/manifest.json', BLAZEFACE]) {
    assert.ok(at(log, file) < answered, `${file} waited for the module: ${JSON.stringify(log)}`);
  }
  assert.deepEqual(errors, []);
});

test('a module that cannot load is the error reported, even when the model downloaded', async () => {
  wasmAnswer = 'missing';
  const { result, errors } = await onFreshPage(async (sf, url) => {
    try {
      await sf.Model.load(url, { backend: 'cpu' });
      return 'loaded';
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }, BLAZEFACE);
  assert.equal(result.code, 'BACKEND_UNAVAILABLE', JSON.stringify(result));
  assert.match(result.message, /404/);
  assert.deepEqual(errors.filter((e) => !/404/.test(e)), [], 'an unhandled rejection or another error');
});

test('a model that cannot be fetched fails with FETCH_FAILED once the module is up, and the page keeps its SDK', async () => {
  wasmAnswer = 'module';
  const { result, errors } = await onFreshPage(async (sf, url) => {
    let failed;
    try {
      await sf.Model.load('/models/cache/blazeface/no-such-model.onnx', { backend: 'cpu' });
    } catch (e) {
      failed = { code: e.code, message: e.message };
    }
    const m = await sf.Model.load(url, { backend: 'cpu' });
    m.free();
    return { failed, version: await sf.version() };
  }, BLAZEFACE);
  assert.equal(result.failed?.code, 'FETCH_FAILED', JSON.stringify(result));
  assert.match(result.failed.message, /404/);
  assert.match(result.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(errors.filter((e) => !/404/.test(e)), [], 'an unhandled rejection or another error');
});
