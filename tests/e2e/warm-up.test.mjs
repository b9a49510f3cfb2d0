// The warm-up Worker init({ warmUp: true }) starts (pkg/src/warm-up.ts): it runs on both
// builds, reports what it did in backends().cpu.warmUp, gives way to the page's first load, and
// never costs the page its SDK when it cannot run. Its effect on a cold first inference is measured, not asserted:
// docs/performance-log.md, "First inference".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serve, watchErrors } from './browser.mjs';

const BLAZEFACE = '/models/cache/blazeface/face_detection_front_128.onnx';

let server;
let plain; // the same files without COOP/COEP: the single-thread build
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

/**
 * A fresh page at `base`: init(options), then backends().cpu once the warm-up has ended (or 60 s
 * passed), and whether a model still loads and runs. `watch`: count the page's console errors.
 */
async function warmUp(base, options, { watch = true } = {}) {
  const page = await browser.context.newPage();
  if (watch) errors.push(watchErrors(page));
  await page.goto(`${base}/tests/e2e/blank.html`);
  try {
    return await page.evaluate(
      async ({ options, url }) => {
        const sf = await import('/pkg/index.js');
        await sf.init(options);
        const first = (await sf.backends()).cpu.warmUp;
        let cpu = (await sf.backends()).cpu;
        for (const t0 = performance.now(); cpu.warmUp === 'running' && performance.now() - t0 < 60_000; ) {
          await new Promise((r) => setTimeout(r, 50));
          cpu = (await sf.backends()).cpu;
        }
        const m = await sf.Model.load(url, { backend: 'cpu' });
        const out = await m.run({ 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3).fill(0.5) } });
        m.free();
        return { first, cpu, outputs: Object.keys(out).length };
      },
      { options, url: BLAZEFACE },
    );
  } finally {
    await page.close();
  }
}

test('a plain page warms the single-thread module up in a Worker, after init() has resolved', async () => {
  const r = await warmUp(plain.url, { warmUp: true });
  assert.equal(r.cpu.threads, 1);
  assert.equal(r.first, 'running', 'init() waited for the warm-up');
  assert.match(r.cpu.warmUp, /^done in \d+ ms$/, JSON.stringify(r.cpu));
  assert.ok(r.outputs > 0);
});

test('a cross-origin isolated page warms the threaded module up beside its pool', async () => {
  const r = await warmUp(server.url, { warmUp: true });
  assert.ok(r.cpu.threads >= 2, JSON.stringify(r.cpu));
  assert.match(r.cpu.warmUp, /^done in \d+ ms$/, JSON.stringify(r.cpu));
  assert.ok(r.outputs > 0);
});

test('without init({ warmUp: true }) there is no warm-up', async () => {
  for (const options of [undefined, { warmUp: false }]) {
    const r = await warmUp(plain.url, options);
    assert.equal(r.cpu.warmUp, 'off: not asked for (init({ warmUp: true }))');
    assert.equal(r.first, r.cpu.warmUp);
    assert.ok(r.outputs > 0);
  }
});

test('a warmUp other than true or false rejects with INVALID_ARGUMENT, then init() still works', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${plain.url}/tests/e2e/blank.html`);
  const codes = await page.evaluate(async () => {
    const sf = await import('/pkg/index.js');
    const out = [];
    for (const warmUp of ['yes', 1, null]) out.push(await window.codeOf(() => sf.init({ warmUp })));
    await sf.init({ warmUp: false });
    out.push((await sf.backends()).cpu.warmUp);
    return out;
  });
  for (const c of codes.slice(0, 3)) assert.match(c, /^INVALID_ARGUMENT: init\(\{ warmUp \}\) takes true or false, got /);
  assert.equal(codes[3], 'off: not asked for (init({ warmUp: true }))');
  await page.close();
});

test('a model load ends a warm-up still running: the two would only compete for the cores', async () => {
  const page = await browser.context.newPage();
  errors.push(watchErrors(page));
  await page.goto(`${plain.url}/tests/e2e/blank.html`);
  const r = await page.evaluate(async (url) => {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const sf = await import('/pkg/index.js');
    await sf.init({ warmUp: true });
    const m = await sf.Model.load(bytes, { backend: 'cpu' });
    const out = await m.run({ 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3) } });
    m.free();
    return { warmUp: (await sf.backends()).cpu.warmUp, outputs: Object.keys(out).length };
  }, BLAZEFACE);
  await page.close();
  assert.match(r.warmUp, /^stopped after \d+ ms: the page began loading a model$/);
  assert.ok(r.outputs > 0);
});

test('{ worker: true } after init({ warmUp: true }): the SDK worker starts with the same options and runs', async () => {
  const page = await browser.context.newPage();
  errors.push(watchErrors(page));
  await page.goto(`${plain.url}/tests/e2e/blank.html`);
  const r = await page.evaluate(async (url) => {
    const sf = await import('/pkg/index.js');
    await sf.init({ warmUp: true });
    const input = { 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3).fill(0.25) } };
    const remote = await sf.Model.load(url, { worker: true });
    const out = await remote.run(input);
    const local = await sf.Model.load(url, { backend: 'cpu' });
    const want = await local.run(input);
    remote.free();
    local.free();
    return Object.keys(want).map((k) => want[k].data.reduce((m, v, i) => Math.max(m, Math.abs(v - out[k].data[i])), 0));
  }, BLAZEFACE);
  await page.close();
  assert.ok(r.length > 0);
  for (const d of r) assert.ok(d <= 1e-5, `worker vs page: ${d}`);
});

test('a warm-up Worker whose script does not load fails alone: the page keeps its SDK and says why', async () => {
  const broken = await serve({
    isolated: false,
    extraRoots: ['tests'],
    routes: { '/pkg/warm-up.js': (req, res) => res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n') },
  });
  try {
    // The 404 is logged in the console, as it should be.
    const r = await warmUp(broken.url, { warmUp: true }, { watch: false });
    assert.match(r.cpu.warmUp, /^failed: the warm-up Worker could not run/, JSON.stringify(r.cpu));
    assert.ok(r.outputs > 0);
  } finally {
    await broken.close();
  }
});

test('no uncaught errors in the pages', () => {
  for (const e of errors) assert.deepEqual(e, []);
});
