// The promises of docs/guarantees.md's "Privacy and embedding" section, checked in one full demo session
// (camera: classify with saliency, faces, text, teach; microphone: a voice command) in a browser
// without WebGPU, under the strict Content-Security-Policy: every request goes to the page's own
// origin, the policy is never violated, and the page says plainly that it runs on the CPU.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STRICT_CSP } from '../../scripts/serve.mjs';
import { egressTrap, launch, proxyArgs, serve, watchErrors } from './browser.mjs';

const CACHE = fileURLToPath(new URL('../../models/cache/', import.meta.url));
const haveData = ['video/coffee.y4m', 'speech-test/line_two.wav', 'efficientnet/manifest.json', 'blazeface/manifest.json', 'ppocr/manifest.json'].every((f) => existsSync(join(CACHE, f)));
if (!haveData && process.env.SHOPFLOOR_REQUIRE_MODELS) throw new Error('test data missing: run scripts/test-data.sh');
const skip = haveData ? false : 'test data missing: run scripts/test-data.sh';

let server;
let trap;
before(async () => {
  server = await serve({ csp: STRICT_CSP });
  trap = await egressTrap();
});
after(async () => {
  await server.close();
  await trap.close();
});

test('a full demo session without WebGPU, under a strict CSP, talks to nobody but its own origin', { skip, timeout: 600_000 }, async () => {
  const args = [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${join(CACHE, 'video/coffee.y4m')}`,
    `--use-file-for-fake-audio-capture=${join(CACHE, 'speech-test/line_two.wav')}`,
  ];
  const { context, close } = await launch({ webgpu: false, args: [...args, ...proxyArgs(trap)] });
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  // Init scripts run before the page's own and are not subject to its CSP.
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    const response = await page.goto(`${server.url}/`);
    assert.equal(response.headers()['content-security-policy'], STRICT_CSP);
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
    assert.match(await page.textContent('#status'), /models run on the CPU \(no WebGPU in this browser\)/);
    assert.equal(await page.textContent('#webgpu-badge'), 'not available');

    const lastFrame = async (mode, check) => {
      try {
        await page.waitForFunction(
          ([m, re]) => document.getElementById('camera').dataset.lastMode === m && (!re || new RegExp(re).test(document.getElementById('results').textContent)),
          [mode, check?.source],
          { timeout: 240_000 },
        );
      } catch (e) {
        throw new Error(`${e.message}\nmode ${mode}: ${await page.textContent('#camera-status')}\n${errors.join('\n')}`);
      }
    };
    await page.check('#saliency');
    await page.click('#start');
    await lastFrame('classify', /espresso/);
    // The demo's own measure of stutter, models in the worker (a figure, not a pass/fail bound:
    // tests/e2e/worker.test.mjs compares main thread and worker).
    await page.waitForTimeout(10_000);
    console.log(`# demo, classifying in a worker for 10 s: page's main thread ${await page.textContent('#stat-main')}`);
    await page.selectOption('#mode', 'faces');
    await lastFrame('faces');
    await page.selectOption('#mode', 'text');
    await lastFrame('text');
    await page.selectOption('#mode', 'teach');
    await lastFrame('teach', /Not trained yet/);
    assert.match(await page.textContent('#stat-backend'), /^cpu .* · in a Web Worker$/);

    await page.click('#mic-start');
    try {
      await page.waitForFunction(() => document.querySelector('#commands li[data-command="line two"]'), null, { timeout: 120_000 });
    } catch (e) {
      throw new Error(`${e.message}\nmic: ${await page.textContent('#mic-status')}\n${errors.join('\n')}`);
    }

    const violations = await page.evaluate(() => window.__violations);
    const origin = new URL(server.url).origin;
    const foreign = requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
    // The server's log also holds what Playwright cannot see (the AudioWorklet's module).
    const paths = [...new Set(server.served.map((u) => u.split('?')[0]))].sort();
    console.log(`# ${server.served.length} requests, all to ${origin}: ${paths.join(' ')}`);
    // Chromium's own services still call home at start-up whatever the switches say; the page,
    // its workers and worklets have no business with them either, and Playwright's list above
    // (the page and its workers) is checked with no exception at all.
    const chromiumOwn = /^(accounts|clients\d*)\.google\.com(:443)?$|^[a-z0-9-]+\.googleapis\.com(:443)?$/;
    const outside = trap.hosts.filter((h) => !chromiumOwn.test(h));
    console.log(`# proxy trap: ${trap.hosts.length} attempts, ${outside.length} not Chromium's own (${[...new Set(trap.hosts)].join(', ') || 'none'})`);
    assert.deepEqual(outside, [], 'hosts the browser tried to reach besides the page origin');
    assert.deepEqual(foreign, [], 'requests that left the page origin');
    assert.deepEqual(violations, [], 'CSP violations');
    // The session really used what it claims to have checked.
    // The demo is cross-origin isolated: the threaded module, whose pool workers load the glue too.
    // The warm-up Worker ran under the strict CSP too (violations above would name it).
    for (const p of ['/pkg/wasm-mt/shopfloor_bg.wasm', '/pkg/capture-worklet.js', '/pkg/warm-up.js', '/models/speech/manifest.json']) {
      assert.ok(paths.includes(p), `${p} was not requested: ${paths.join(' ')}`);
    }
    assert.ok(paths.some((p) => /^\/pkg\/wasm-mt\/snippets\/.*\/pool_workers\.js$/.test(p)), 'the thread pool did not start');
    for (const m of ['efficientnet', 'blazeface', 'ppocr']) assert.ok(paths.some((p) => p.startsWith(`/models/cache/${m}/`)), `${m} not loaded`);
    assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  } finally {
    await close();
  }
});
