// JSON in the wasm module (src/json.rs): the browser's JSON.parse and serde-wasm-bindgen read
// manifests, saved heads and enrolled voice commands there, where native builds use serde_json.
// Each way a text can be wrong gives INVALID_ARGUMENT saying what is wrong, and what was saved
// comes back exactly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serve, watchErrors } from './browser.mjs';

const MANIFEST = '/models/cache/efficientnet/manifest.json';
const PATH = fileURLToPath(new URL(`../..${MANIFEST}`, import.meta.url));
const haveData = existsSync(PATH) && existsSync(fileURLToPath(new URL('../../models/cache/speech-test/enrol_3.wav', import.meta.url)));
if (!haveData && process.env.SHOPFLOOR_REQUIRE_MODELS) throw new Error('EfficientNet-Lite0 missing: run scripts/test-data.sh');
const skip = haveData ? false : 'test data missing: run scripts/test-data.sh';

// Each wasm variant: a cross-origin isolated page loads the threaded one.
const servers = {};
before(async () => {
  servers.st = await serve({ isolated: false });
  servers.mt = await serve({ isolated: true });
});
after(async () => {
  for (const s of Object.values(servers)) await s.close();
});

for (const [variant, key] of [['single-thread', 'st'], ['threaded', 'mt']]) test(`${variant}: manifests, saved heads and enrolled commands give typed errors for bad JSON and come back exactly`, { skip }, async () => {
  const server = servers[key];
  const manifest = JSON.parse(readFileSync(PATH, 'utf8'));
  const { context, close } = await launch({ webgpu: false });
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    const r = await page.evaluate(
      async ({ manifest, url }) => {
        const sf = await import('/pkg/index.js');
        const baseUrl = new URL(url, location.href).href;
        const codes = {};
        const code = async (name, fn) => (codes[name] = await window.codeOf(fn));
        const variant = (edit) => {
          const m = structuredClone(manifest);
          edit(m);
          return { ...m, baseUrl };
        };
        const classify = (m) => sf.ImageClassifier.create({ model: m, backend: 'cpu' });
        await code('widthType', () => classify(variant((m) => (m.model.input.width = '224'))));
        await code('noInput', () => classify(variant((m) => delete m.model.input)));
        await code('layout', () => classify(variant((m) => (m.model.input.layout = 'nwhc'))));
        await code('meanLength', () => classify(variant((m) => (m.model.input.mean = [1, 2]))));
        // A whole number written as a float is a whole number to JSON.parse.
        const ok = await classify(variant((m) => (m.model.input.width = 224.0)));
        ok.free();

        const svm = await sf.LinearSvm.create({ dim: 4 });
        const rows = [[1, 0.1, 0, 0.3], [0.9, 0.2, 0.1, 0], [0, 1, 0.2, 0.1], [0.1, 0.8, 0, 0.2], [0.3, 0.3, 1, 1e-7]];
        const labels = ['a', 'a', 'b', 'b', 'c'];
        for (const [i, x] of rows.entries()) await svm.addExample(Float32Array.from(x), labels[i]);
        svm.train();
        const saved = svm.toJSON();
        const restored = await sf.LinearSvm.fromJSON(JSON.stringify(saved));
        const probe = Float32Array.from([0.1, 0.7, 0.4, 1 / 3]);
        const [p1, p2] = [await svm.predict(probe), await restored.predict(probe)];
        await code('svmSyntax', () => sf.LinearSvm.fromJSON('{"dim": 4,'));
        await code('svmType', () => sf.LinearSvm.fromJSON({ ...saved, dim: 'four' }));
        await code('svmMissing', () => sf.LinearSvm.fromJSON({}));
        await code('svmNotObject', () => sf.LinearSvm.fromJSON('[1, 2]'));

        // A custom voice command enrolled from four takes, saved, and added to a fresh VoiceCommands.
        const takes = [];
        for (let i = 0; i < 4; i++) {
          const buf = await (await fetch(`/models/cache/speech-test/enrol_${i}.wav`)).arrayBuffer();
          const audio = await new OfflineAudioContext(1, 1, 48000).decodeAudioData(buf);
          takes.push({ samples: audio.getChannelData(0), sampleRate: audio.sampleRate });
        }
        const voice = await sf.VoiceCommands.create({ model: '/models/speech/manifest.json', backend: 'cpu', commands: ['stop'] });
        const enrolled = await voice.enrol('conveyor jam', takes);
        const fresh = await sf.VoiceCommands.create({ model: '/models/speech/manifest.json', backend: 'cpu', commands: ['stop'] });
        const added = fresh.addEnrolled(JSON.stringify(enrolled));
        const sameCommand = JSON.stringify(fresh.enrolled[0]) === JSON.stringify(enrolled);
        await code('commandType', () => fresh.addEnrolled('{"name": 1}'));
        await code('commandSyntax', () => fresh.addEnrolled('{"name": "x"'));
        voice.free();
        fresh.free();
        return { added, sameCommand, threads: (await sf.backends()).cpu.threads, codes, same: JSON.stringify(restored.toJSON()) === JSON.stringify(saved), p1, p2, trained: restored.trained };
      },
      { manifest, url: MANIFEST },
    );
    assert.equal(r.threads > 1, key === 'mt');
    assert.match(r.codes.widthType, /^INVALID_ARGUMENT: .*the model manifest is not valid: invalid type: string "224", expected/);
    assert.match(r.codes.noInput, /^INVALID_ARGUMENT: .*the model manifest is not valid: missing field `input`/);
    assert.match(r.codes.layout, /^INVALID_ARGUMENT: .*the model manifest is not valid: unknown variant `nwhc`, expected/);
    assert.match(r.codes.meanLength, /^INVALID_ARGUMENT: .*the model manifest is not valid: invalid length 2, expected an array of length 3/);
    assert.equal(r.same, true, 'a restored LinearSvm saves the same JSON');
    assert.equal(r.trained, true);
    assert.deepEqual(r.p2, r.p1);
    assert.match(r.codes.svmSyntax, /^INVALID_ARGUMENT: .*not a saved LinearSvm: .*JSON/);
    assert.match(r.codes.svmType, /^INVALID_ARGUMENT: .*not a saved LinearSvm: invalid type: string "four", expected/);
    assert.match(r.codes.svmMissing, /^INVALID_ARGUMENT: .*not a saved LinearSvm: missing field/);
    assert.match(r.codes.svmNotObject, /^INVALID_ARGUMENT: .*not a saved LinearSvm: (missing field `dim`|invalid type: integer `1`)/);
    assert.equal(r.added, 'conveyor jam');
    assert.equal(r.sameCommand, true, 'an enrolled command comes back as it was saved');
    assert.match(r.codes.commandType, /^INVALID_ARGUMENT: .*not a saved enrolled command: invalid type: floating point `1\.0`, expected a string/);
    assert.match(r.codes.commandSyntax, /^INVALID_ARGUMENT: .*not a saved enrolled command: .*JSON/);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
