// Speech in headless Chromium: the demo page with a fake microphone fed a recording of "line two"
// lists that command; the SDK detects it from samples fed directly; bad input gives typed errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARTIFACTS, launch, serve, watchErrors } from './browser.mjs';
import { readNpy } from './npy.mjs';

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
      const code = async (name, fn) => (codes[name] = await window.codeOf(fn));
      await code('nan', () => cmds.feed(new Float32Array([0, NaN, 0]), 16000));
      await code('rate', () => cmds.feed(new Float32Array(100), 4000));
      await code('array', () => cmds.feed([0, 0, 0], 16000));
      await code('unknownWord', () => VoiceCommands.create({ model: '/models/speech/manifest.json', commands: ['stop the belt'] }));
      await code('pause', () => VoiceCommands.create({ model: '/models/speech/manifest.json', pause: { before: -1 } }));
      await code('pauseTypo', () => VoiceCommands.create({ model: '/models/speech/manifest.json', pause: { befor: 0.5 } }));
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
    assert.match(r.codes.pause, /^INVALID_ARGUMENT: .*pause options \{ before: -1, after: 0.5 \}: each must be seconds in \[0, 3\]/);
    assert.match(r.codes.pauseTypo, /^INVALID_ARGUMENT: .*unknown field `befor`/);
    assert.match(r.codes.fewTakes, /^INVALID_ARGUMENT: .*enrol "jam" with 3 to 10 recordings/);
    assert.match(r.codes.silentTakes, /^INVALID_ARGUMENT: .*the recording has no speech/);
    assert.equal(r.empty, 0);
  } finally {
    await close();
  }
});

// No model needed: the features are computed in wasm and compared with librosa's values.
test('SDK: AudioFeatures gives librosa\'s log-mel / mel / MFCC values, streamed or whole; bad options are refused', async () => {
  const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
  const reference = JSON.parse(readFileSync(join(fixtures, 'features_reference.json'), 'utf8'));
  const inputs = { speech: readNpy(join(fixtures, 'features_speech_16k.npy')).data, chord: readNpy(join(fixtures, 'features_chord_22k.npy')).data };
  const { context, close } = await launch({});
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    const r = await page.evaluate(async ({ cases, inputs }) => {
      const { AudioFeatures } = await import('/pkg/index.js');
      const errors = [];
      for (const c of cases) {
        const fx = await AudioFeatures.create(c.options);
        const out = fx.compute(new Float32Array(inputs[c.input]));
        const scale = c.options.kind === 'mel' ? Math.max(...c.data.map(Math.abs)) : 1;
        let err = 0;
        for (let i = 0; i < c.data.length; i++) err = Math.max(err, Math.abs(out.data[i] - c.data[i]) / scale);
        errors.push({ name: c.name, frames: out.frames, bins: out.bins, err, isF32: out.data instanceof Float32Array });
        fx.free();
      }
      // Streaming equals the whole clip (MFCC without topDb).
      const fx = await AudioFeatures.create(cases[2].options);
      const whole = fx.compute(new Float32Array(inputs.speech));
      const parts = [];
      const x = new Float32Array(inputs.speech);
      for (let i = 0; i < x.length; i += 777) parts.push(...fx.push(x.subarray(i, i + 777)).data);
      parts.push(...fx.finish().data);
      const streamed = parts.length === whole.data.length && parts.every((v, i) => v === whole.data[i]);
      const info = fx.info();
      const codes = {};
      const code = async (name, fn) => (codes[name] = await window.codeOf(fn));
      await code('noRate', () => AudioFeatures.create({ kind: 'mfcc' }));
      await code('typo', () => AudioFeatures.create({ sampleRate: 16000, nFFT: 512 }));
      await code('fmax', () => AudioFeatures.create({ sampleRate: 16000, fmax: 9000 }));
      await code('kind', () => AudioFeatures.create({ sampleRate: 16000, kind: 'spectrogram' }));
      await code('stream', async () => (await AudioFeatures.create({ sampleRate: 16000 })).push(new Float32Array(10)));
      await code('nan', () => fx.compute(new Float32Array([0, NaN])));
      await code('array', () => fx.compute([0, 1]));
      return { errors, streamed, info, codes };
    }, { cases: reference.cases, inputs });
    for (const e of r.errors) {
      console.log(`# ${e.name}: max |browser - librosa| ${e.err.toExponential(2)}`);
      const c = reference.cases.find((c) => c.name === e.name);
      assert.deepEqual([e.frames, e.bins, e.isF32], [c.frames, c.bins, true]);
      assert.ok(e.err <= 1e-4, `${e.name}: ${e.err}`);
    }
    assert.ok(r.streamed, 'streamed frames equal the whole clip');
    assert.equal(r.info.hopLength, 160);
    assert.equal(r.info.bins, 13);
    assert.equal(r.info.fmax, 8000);
    assert.match(r.codes.noRate, /^INVALID_ARGUMENT: .*sampleRate 0 Hz/);
    assert.match(r.codes.typo, /^INVALID_ARGUMENT: .*unknown field `nFFT`/);
    assert.match(r.codes.fmax, /^INVALID_ARGUMENT: .*fmax 9000/);
    assert.match(r.codes.kind, /^INVALID_ARGUMENT: .*spectrogram/);
    assert.match(r.codes.stream, /^INVALID_ARGUMENT: .*topDb .*cannot stream/);
    assert.match(r.codes.nan, /^INVALID_ARGUMENT: .*sample 1 is NaN/);
    assert.match(r.codes.array, /^INVALID_ARGUMENT: samples must be a Float32Array/);
  } finally {
    await close();
  }
});
