// The npm package in a consumer's bundle: examples/vite-app imports 'shopfloor' by name, Vite
// builds it for production, and the build classifies a photo in headless Chromium (in the SDK's
// worker, which the bundler emitted) under the strict Content-Security-Policy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STRICT_CSP } from '../../scripts/serve.mjs';
import { launch, serve, watchErrors } from './browser.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const APP = join(ROOT, 'examples/vite-app');
const haveData = existsSync(join(ROOT, 'models/cache/efficientnet/manifest.json')) && existsSync(join(ROOT, 'pkg/wasm/shopfloor_bg.wasm'));
if (!haveData && process.env.SHOPFLOOR_REQUIRE_MODELS) throw new Error('test data missing: run scripts/test-data.sh');
const skip = haveData ? false : 'test data or pkg/ build missing';

let server;
before(async () => {
  server = await serve({ extraRoots: ['examples'], csp: STRICT_CSP });
});
after(() => server.close());

test('a Vite production build of an app using the package classifies a photo under a strict CSP', { skip, timeout: 300_000 }, async () => {
  rmSync(join(APP, 'dist'), { recursive: true, force: true });
  execFileSync(join(ROOT, 'node_modules/.bin/vite'), ['build', APP, '--logLevel', 'warn'], { cwd: ROOT, stdio: 'pipe' });
  const assets = readdirSync(join(APP, 'dist/assets'));
  assert.ok(assets.some((f) => /^shopfloor_bg-.*\.wasm$/.test(f)), `the wasm module was not emitted: ${assets}`);
  assert.ok(assets.some((f) => /^worker-.*\.js$/.test(f)), `the SDK's worker was not emitted: ${assets}`);

  const { context, close } = await launch({ webgpu: false });
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    const violations = [];
    page.on('console', (m) => /Content Security Policy/.test(m.text()) && violations.push(m.text()));
    await page.goto(`${server.url}/examples/vite-app/dist/`);
    await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 120_000 });
    const result = await page.textContent('#result');
    console.log(`# vite build (${assets.join(', ')}): ${result}`);
    assert.match(result, /^espresso \(\d+\.\d%\)$/);
    assert.deepEqual(violations, []);
    assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  } finally {
    await close();
  }
});
