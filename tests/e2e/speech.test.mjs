// Speech in headless Chromium: the demo page with a fake microphone fed a recording of "line two"
// lists that command; the SDK detects it from samples fed directly; bad input gives typed errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARTIFACTS, launch, serve, watchErrors } from './browser.mjs';

const AUDIO = fileURLToPath(new URL('../../models/cache/speech-test/', import.meta.url));
const haveData = existsSync(join(AUDIO, 'line_two.wav')) && existsSync(fileURLToPath(new URL('../../models/cache/openwakeword/embedding_model.onnx', import.meta.url)));
if (!haveData && process.env.SHOPFLOOR_REQUIRE_MODELS) throw new Error('speech test data missing: run scripts/test-data.sh');
const skip = haveData ? false : 'test data missing: run scripts/test-data.sh';

let server;
before(async () => {
  server = await serve();
});
after(() => server.close());

test('demo: the fake microphone says "line two" and the page lists it', { skip }, async () => {
  const args = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${join(AUDIO, 'line_two.wav')}`];
  const { context, close } = await launch({ args });
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
    await page.click('#mic-start');
    try {
      await page.waitForFunction(() => document.querySelector('#commands li[data-command="line two"]'), null, { timeout: 90_000 });
    } catch (e) {
      throw new Error(`${e.message}\nstatus: ${await page.textContent('#mic-status')}\ncommands: ${await page.textContent('#commands')}\n${errors.join('\n')}`);
    }
    const text = await page.textContent('#commands');
    const latency = Number(/decided (\d+) ms/.exec(text)[1]);
    console.log(`# demo: ${text.split('\n')[0]} (backend ${await page.textContent('#mic-backend-used')})`);
    assert.ok(latency < 300, `decided ${latency} ms after the end of the command`);
    await page.screenshot({ path: join(ARTIFACTS, 'speech-demo.png') });
    assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  } finally {
    await close();
  }
});

test('SDK: VoiceCommands fed samples finds the command; bad input is refused with codes', { skip }, async () => {
  const { context, close } = await launch({});
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    const r = await page.evaluate(async () => {
      const { VoiceCommands } = await import('/pkg/index.js');
      const buf = await (await fetch('/models/cache/speech-test/line_two.wav')).arrayBuffer();
      const ctx = new OfflineAudioContext(1, 1, 48000);
      const audio = await ctx.decodeAudioData(buf);
      const samples = audio.getChannelData(0);
      const cmds = await VoiceCommands.create({ model: '/models/speech/manifest.json', backend: 'cpu', commands: ['line two', 'stop'] });
      const seen = [];
      cmds.on('command', (e) => seen.push(e));
      const t0 = performance.now();
      for (let i = 0; i < samples.length; i += 3000) await cmds.feed(samples.subarray(i, i + 3000), audio.sampleRate);
      await cmds.finish();
      const ms = performance.now() - t0;
      const codes = {};
      const code = async (name, fn) => {
        try {
          await fn();
          codes[name] = 'no error';
        } catch (e) {
          codes[name] = `${e.code}: ${e.message}`;
        }
      };
      await code('nan', () => cmds.feed(new Float32Array([0, NaN, 0]), 16000));
      await code('rate', () => cmds.feed(new Float32Array(100), 4000));
      await code('array', () => cmds.feed([0, 0, 0], 16000));
      await code('unknownWord', () => VoiceCommands.create({ model: '/models/speech/manifest.json', commands: ['stop the belt'] }));
      await code('fewTakes', () => cmds.enrol('jam', [{ samples: new Float32Array(16000), sampleRate: 16000 }]));
      await code('silentTakes', () => cmds.enrol('jam', [0, 1, 2].map(() => ({ samples: new Float32Array(32000), sampleRate: 16000 }))));
      const empty = await cmds.feed(new Float32Array(0), 16000);
      const loud = await cmds.feed(new Float32Array(8000).fill(3), 8000);
      return { seen, ms, seconds: samples.length / audio.sampleRate, rate: audio.sampleRate, codes, empty: empty.length, loud: loud.length >= 0 };
    });
    console.log(`# SDK: ${JSON.stringify(r.seen)}; ${r.seconds.toFixed(1)} s of ${r.rate} Hz audio in ${r.ms.toFixed(0)} ms`);
    assert.deepEqual(r.seen.map((e) => e.command), ['line two']);
    assert.ok(r.seen[0].confidence > 0.5 && r.seen[0].end > r.seen[0].start);
    assert.match(r.codes.nan, /^INVALID_ARGUMENT: .*sample 1 of the chunk is NaN/);
    assert.match(r.codes.rate, /^INVALID_ARGUMENT: .*sample rate 4000 Hz/);
    assert.match(r.codes.array, /^INVALID_ARGUMENT: samples must be a Float32Array/);
    assert.match(r.codes.unknownWord, /^INVALID_ARGUMENT: .*"the" is not in the vocabulary/);
    assert.match(r.codes.fewTakes, /^INVALID_ARGUMENT: .*enrol "jam" with 3 to 10 recordings/);
    assert.match(r.codes.silentTakes, /^INVALID_ARGUMENT: .*the recording has no speech/);
    assert.equal(r.empty, 0);
  } finally {
    await close();
  }
});
