// The demo page in headless Chromium: it loads the package, instantiates the wasm module and
// reports its backends, with and without WebGPU.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARTIFACTS, launch, serve, watchErrors } from './browser.mjs';

const WASM = fileURLToPath(new URL('../../pkg/wasm/shopfloor_bg.wasm', import.meta.url));

let server;
before(async () => {
  // A host that serves the module without its MIME type, as some static servers do.
  const routes = { '/plain/shopfloor_bg.wasm': (req, res) => res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(readFileSync(WASM)) };
  server = await serve({ routes });
});
after(() => server.close());

async function openDemo(context) {
  const page = await context.newPage();
  const errors = watchErrors(page);
  const response = await page.goto(`${server.url}/`);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()['cross-origin-opener-policy'], 'same-origin');
  assert.equal(response.headers()['cross-origin-embedder-policy'], 'require-corp');
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 60_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, 'ready', `page did not initialise: ${await page.textContent('#status')} ${errors.join('\n')}`);
  return { page, errors };
}

test('demo initialises and reports CPU and a WebGPU adapter', async () => {
  const { context, close } = await launch({ webgpu: true });
  try {
    const { page, errors } = await openDemo(context);
    assert.equal(await page.getAttribute('#cpu-card', 'data-available'), 'true');
    assert.match(await page.textContent('#cpu-details'), /simd128/);
    // The demo is served cross-origin isolated (scripts/serve.mjs): the threaded build, one worker per core here.
    assert.match(await page.textContent('#cpu-details'), /Threads([2-8]) \(a pool of \1 Web Workers/);
    assert.equal(await page.getAttribute('#webgpu-card', 'data-available'), 'true');
    const gpu = await page.textContent('#webgpu-details');
    assert.match(gpu, /software fallback/, 'SwiftShader is a fallback adapter and the page should say so');
    assert.match(gpu, /Max storage binding/);
    assert.match(await page.textContent('#version'), /shopfloor \d+\.\d+\.\d+/);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    assert.deepEqual(errors, []);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-webgpu.png'), fullPage: true });
  } finally {
    await close();
  }
});

test('without WebGPU the demo says why and still offers the CPU', async () => {
  const { context, close } = await launch({ webgpu: false });
  try {
    const { page, errors } = await openDemo(context);
    assert.equal(await page.getAttribute('#cpu-card', 'data-available'), 'true');
    assert.equal(await page.getAttribute('#webgpu-card', 'data-available'), 'false');
    const reason = await page.textContent('#webgpu-reason');
    assert.match(reason, /WebGPU|adapter/);
    assert.match(reason, /CPU instead/);
    assert.match(await page.textContent('#status'), /CPU/);
    assert.deepEqual(errors, []);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-no-webgpu.png'), fullPage: true });
  } finally {
    await close();
  }
});

test('the package initialises from the public API and errors carry codes', async () => {
  const { context, close } = await launch({ webgpu: false });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/www/index.html`);
    const out = await page.evaluate(async () => {
      const sf = await import('/pkg/index.js');
      await sf.init();
      await sf.init(); // idempotent
      const e = new sf.ShopfloorError('INPUT_MISMATCH', 'x');
      return { version: await sf.version(), isError: e instanceof Error, code: e.code, name: e.name };
    });
    assert.match(out.version, /^\d+\.\d+\.\d+$/);
    assert.deepEqual({ ...out, version: undefined }, { version: undefined, isError: true, code: 'INPUT_MISMATCH', name: 'ShopfloorError' });
  } finally {
    await close();
  }
});

test('a wasm module that cannot be fetched rejects with BACKEND_UNAVAILABLE, and a retry works', { timeout: 120_000 }, async () => {
  const { context, close } = await launch({ webgpu: false });
  try {
    const page = await context.newPage();
    // A page that has not loaded the SDK, so the first init() is the one with the bad URL.
    await page.goto(`${server.url}/pkg/package.json`);
    const out = await page.evaluate(async () => {
      const sf = await import('/pkg/index.js');
      let first;
      try {
        await sf.init({ wasm: '/pkg/wasm/does-not-exist.wasm' });
      } catch (e) {
        first = { code: e.code, message: e.message };
      }
      await sf.init();
      return { first, version: await sf.version() };
    });
    assert.equal(out.first?.code, 'BACKEND_UNAVAILABLE');
    assert.match(out.first.message, /application\/wasm/);
    assert.match(out.version, /^\d+\.\d+\.\d+$/);
  } finally {
    await close();
  }
});

test('init({ wasm }) takes a compiled module, a Response or bytes; a failed Response or bytes that are not wasm reject with BACKEND_UNAVAILABLE', { timeout: 120_000 }, async () => {
  const { context, close } = await launch({ webgpu: false });
  try {
    const cases = {
      module: `await sf.init({ wasm: await WebAssembly.compileStreaming(fetch(url)) })`,
      response: `await sf.init({ wasm: await fetch(url) })`,
      bytes: `await sf.init({ wasm: new Uint8Array(await (await fetch(url)).arrayBuffer()) })`,
      notWasm: `await sf.init({ wasm: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]) })`,
      missing: `await sf.init({ wasm: await fetch('/pkg/wasm/does-not-exist.wasm') })`,
    };
    const out = {};
    for (const [name, code] of Object.entries(cases)) {
      const page = await context.newPage();
      await page.goto(`${server.url}/pkg/package.json`);
      out[name] = await page.evaluate(async (code) => {
        const sf = await import('/pkg/index.js');
        const url = '/pkg/wasm/shopfloor_bg.wasm';
        try {
          await new Function('sf', 'url', `return (async () => { ${code}; })()`)(sf, url);
        } catch (e) {
          return { code: e.code, message: e.message, retried: await sf.init().then(() => sf.version()) };
        }
        return { version: await sf.version(), threads: (await sf.backends()).cpu.threads };
      }, code);
      await page.close();
    }
    for (const name of ['module', 'response', 'bytes']) {
      assert.match(out[name].version ?? '', /^\d+\.\d+\.\d+$/, `${name}: ${JSON.stringify(out[name])}`);
      assert.equal(out[name].threads, 1, name);
    }
    for (const name of ['notWasm', 'missing']) {
      assert.equal(out[name].code, 'BACKEND_UNAVAILABLE', `${name}: ${JSON.stringify(out[name])}`);
      assert.match(out[name].message, /could not load shopfloor's wasm module/);
      assert.match(out[name].retried, /^\d+\.\d+\.\d+$/, `${name}: a retry works`);
    }
    assert.match(out.missing.message, /404/);
  } finally {
    await close();
  }
});

test('a wasm module served without Content-Type application/wasm still loads, with a warning that says so', { timeout: 120_000 }, async () => {
  const { context, close } = await launch({ webgpu: false });
  try {
    const page = await context.newPage();
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await page.goto(`${server.url}/pkg/package.json`);
    const out = await page.evaluate(async () => {
      const sf = await import('/pkg/index.js');
      await sf.init({ wasm: '/plain/shopfloor_bg.wasm' });
      return { version: await sf.version(), threads: (await sf.backends()).cpu.threads };
    });
    assert.match(out.version, /^\d+\.\d+\.\d+$/);
    assert.equal(out.threads, 1);
    assert.ok(warnings.some((w) => /not served as application\/wasm/.test(w)), `warnings: ${warnings.join(' | ')}`);
  } finally {
    await close();
  }
});
