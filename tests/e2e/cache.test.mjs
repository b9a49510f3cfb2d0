// The model cache in Chromium: a model loaded by URL with its sha256 is kept in the Cache API;
// a reload reads it from there (the server sees no second request), a corrupted entry is found
// by its hash and fetched again, a full storage still loads the model, and pipelines' manifest
// files are cached the same way.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serve, watchErrors } from './browser.mjs';

const FILE = '/models/cache/blazeface/face_detection_front_128.onnx';
const PATH = fileURLToPath(new URL(`../..${FILE}`, import.meta.url));
const haveData = existsSync(PATH);
if (!haveData && process.env.SHOPFLOOR_REQUIRE_MODELS) throw new Error('BlazeFace missing: run scripts/test-data.sh');
const skip = haveData ? false : 'test data missing: run scripts/test-data.sh';

let server;
before(async () => {
  server = await serve();
});
after(() => server.close());

const fetches = (path) => server.served.filter((u) => u.split('?')[0] === path).length;

test('models are cached by sha256: reload from the cache, a corrupt entry refetched, full storage still loads', { skip }, async () => {
  const bytes = readFileSync(PATH);
  const hex = createHash('sha256').update(bytes).digest('hex');
  const sri = `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
  const { context, close } = await launch({ webgpu: false });
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await page.goto(`${server.url}/`);
    const load = (sha256, cache) =>
      page.evaluate(
        async ({ file, sha256, cache }) => {
          const { Model, modelCache } = await import('/pkg/index.js');
          const progress = [];
          const m = await Model.load(file, { sha256, cache, backend: 'cpu', onProgress: (p) => progress.push(p) });
          const name = m.inputs[0].name;
          const out = await m.run({ [name]: { dims: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3).fill(0.25) } });
          m.free();
          const first = Object.values(out)[0].data;
          return { fromCache: progress.at(-1).fromCache, events: progress.length, list: await modelCache.list(), sum: first.reduce((a, b) => a + b, 0) };
        },
        { file: FILE, sha256, cache },
      );

    const before = fetches(FILE);
    const first = await load(hex);
    assert.equal(first.fromCache, false);
    assert.equal(fetches(FILE), before + 1);
    assert.deepEqual(first.list, [{ sha256: hex, bytes: bytes.length }]);

    // Another page load of the origin: read from the cache, no request, same answer.
    await page.reload();
    const second = await load(sri); // the same hash in SRI form finds the same entry
    assert.deepEqual([second.fromCache, second.events, second.sum], [true, 1, first.sum]);
    assert.equal(fetches(FILE), before + 1, 'the model was downloaded again');

    // Corrupt the stored bytes: the hash check drops the entry and the model is fetched again.
    await page.evaluate(async ({ hex }) => {
      const store = await caches.open('shopfloor-models-v1');
      const key = new URL(`/.shopfloor-model-cache/sha256/${hex}`, location.href).href;
      const good = new Uint8Array(await (await store.match(key)).arrayBuffer());
      good[1000] ^= 0xff;
      await store.put(key, new Response(good));
    }, { hex });
    const third = await load(hex);
    assert.deepEqual([third.fromCache, third.sum], [false, first.sum]);
    assert.equal(fetches(FILE), before + 2);
    assert.ok(warnings.some((w) => w.includes('was corrupt; fetching it again')), warnings.join('\n'));
    assert.deepEqual(third.list, [{ sha256: hex, bytes: bytes.length }], 'the good bytes are stored again');

    // Storage full: put() rejects; the model still loads, uncached.
    const full = await page.evaluate(async () => {
      const { modelCache } = await import('/pkg/index.js');
      await modelCache.clear();
      Cache.prototype.put = () => Promise.reject(new DOMException('the quota is used up', 'QuotaExceededError'));
    });
    assert.equal(full, undefined);
    const fourth = await load(hex);
    assert.deepEqual([fourth.fromCache, fourth.sum, fourth.list], [false, first.sum, []]);
    assert.equal(fetches(FILE), before + 3);

    // cache: false neither reads nor writes the cache.
    await page.reload();
    await load(hex);
    const off = await load(hex, false);
    assert.deepEqual([off.fromCache, off.list.length], [false, 1]);
    assert.equal(fetches(FILE), before + 5);

    // Pipelines cache their manifest's files: BlazeFace is already there, so no request.
    const det = await page.evaluate(async () => {
      const { FaceDetector, modelCache } = await import('/pkg/index.js');
      const progress = [];
      const d = await FaceDetector.create({ model: '/models/cache/blazeface/manifest.json', backend: 'cpu', onProgress: (p) => progress.push(p) });
      d.free();
      const codes = [];
      await modelCache.delete('not-a-hash').catch((e) => codes.push(e.code));
      return { fromCache: progress.some((p) => p.fromCache), codes, deleted: await modelCache.delete((await modelCache.list())[0].sha256), after: await modelCache.list() };
    });
    assert.deepEqual(det, { fromCache: true, codes: ['INVALID_ARGUMENT'], deleted: true, after: [] });
    assert.equal(fetches(FILE), before + 5);
    assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  } finally {
    await close();
  }
});
