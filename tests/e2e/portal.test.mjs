// Web components in a portal page the SDK does not control (examples/portal): one script tag,
// <shopfloor-camera> and <shopfloor-voice> started by a click, results arriving as DOM events the
// page logs, styled from outside through CSS parts, all under the strict CSP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STRICT_CSP } from '../../scripts/serve.mjs';
import { launch, serve, watchErrors } from './browser.mjs';

const CACHE = fileURLToPath(new URL('../../models/cache/', import.meta.url));
const haveData = ['video/coffee.y4m', 'speech-test/line_two.wav', 'efficientnet/manifest.json'].every((f) => existsSync(join(CACHE, f)));
if (!haveData && process.env.SHOPFLOOR_REQUIRE_MODELS) throw new Error('test data missing: run scripts/test-data.sh');
const skip = haveData ? false : 'test data missing: run scripts/test-data.sh';

let server;
before(async () => {
  server = await serve({ extraRoots: ['examples'], csp: STRICT_CSP });
});
after(() => server.close());

test('portal: <shopfloor-camera> and <shopfloor-voice> report an espresso and "line two" as DOM events', { skip, timeout: 300_000 }, async () => {
  const args = [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${join(CACHE, 'video/coffee.y4m')}`,
    `--use-file-for-fake-audio-capture=${join(CACHE, 'speech-test/line_two.wav')}`,
  ];
  const { context, close } = await launch({ webgpu: false, args });
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    const violations = [];
    page.on('console', (m) => /Content Security Policy/.test(m.text()) && violations.push(m.text()));
    await page.goto(`${server.url}/examples/portal/`);
    await page.waitForFunction(() => customElements.get('shopfloor-camera') && customElements.get('shopfloor-voice'));
    // Playwright's CSS selectors pierce open shadow roots: the buttons are inside them.
    await page.click('shopfloor-camera [part="button"]');
    await page.click('shopfloor-voice [part="button"]');
    try {
      await page.waitForFunction(() => document.body.dataset.lastResult === 'espresso', null, { timeout: 120_000 });
      await page.waitForFunction(() => document.body.dataset.lastCommand === 'line two', null, { timeout: 120_000 });
    } catch (e) {
      const status = await page.evaluate(() => [...document.querySelectorAll('shopfloor-camera, shopfloor-voice')].map((x) => x.shadowRoot.querySelector('[part="status"]').textContent));
      throw new Error(`${e.message}\n${status.join('\n')}\nlog: ${await page.textContent('#log')}\n${errors.join('\n')}`);
    }
    const r = await page.evaluate(() => {
      const cam = document.getElementById('camera');
      const result = cam.shadowRoot.querySelector('[part="result"]');
      return {
        log: [...document.querySelectorAll('#log li')].map((li) => li.dataset.kind),
        partColour: getComputedStyle(result).color,
        buttonBackground: getComputedStyle(cam.shadowRoot.querySelector('[part="button"]')).backgroundColor,
        running: [cam.running, document.getElementById('voice').running],
      };
    });
    console.log(`# portal log: ${await page.textContent('#log')}`);
    assert.ok(r.log.includes('result') && r.log.includes('command'), r.log.join(','));
    assert.ok(!r.log.includes('error'), await page.textContent('#log'));
    assert.equal(r.partColour, 'rgb(255, 176, 0)', 'styled through ::part(result)');
    assert.equal(r.buttonBackground, 'rgb(255, 176, 0)', 'styled through ::part(button)');
    assert.deepEqual(r.running, [true, true]);
    // Removing an element from the page stops its camera.
    const tracks = await page.evaluate(() => {
      const cam = document.getElementById('camera');
      cam.remove();
      return cam.running;
    });
    assert.equal(tracks, false);
    assert.deepEqual(violations, []);
    assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  } finally {
    await close();
  }
});

test('portal: a bad attribute is an error event with a code, not an exception', { skip }, async () => {
  const { context, close } = await launch({ webgpu: false });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/examples/portal/`);
    const r = await page.evaluate(async () => {
      await customElements.whenDefined('shopfloor-camera');
      const got = [];
      const cam = document.createElement('shopfloor-camera');
      cam.setAttribute('task', 'segment');
      cam.addEventListener('error', (e) => got.push(e.detail));
      document.body.append(cam);
      await cam.start();
      const voice = document.createElement('shopfloor-voice');
      voice.addEventListener('error', (e) => got.push(e.detail));
      document.body.append(voice);
      await voice.start();
      return got;
    });
    assert.deepEqual(r.map((d) => d.code), ['INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
    assert.match(r[0].message, /task="segment"/);
    assert.match(r[1].message, /model attribute/);
  } finally {
    await close();
  }
});
