// The package under Node.js (no browser): init() with the module's bytes, the CPU backend with
// SIMD, no WebGPU and a reason that says why, typed errors, and onnxruntime's answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as sf from '../../pkg/index.js';
import { readNpy } from './npy.mjs';

const ROOT = new URL('../../', import.meta.url);
const CACHE = fileURLToPath(new URL('models/cache/', ROOT));

test('init() takes the module bytes; version() is the crate version', async () => {
  await sf.init({ wasm: readFileSync(new URL('pkg/wasm/shopfloor_bg.wasm', ROOT)) });
  const crate = /^version = "([^"]+)"/m.exec(readFileSync(new URL('Cargo.toml', ROOT), 'utf8'))[1];
  assert.equal(await sf.version(), crate);
});

test('the CPU backend runs on one thread with SIMD; WebGPU is unavailable and says why', async () => {
  const b = await sf.backends();
  assert.equal(b.cpu.available, true);
  assert.equal(b.cpu.simd, 'simd128');
  assert.equal(b.cpu.threads, 1);
  assert.match(b.cpu.threadsReason, /not a browser|cross-origin isolated/);
  assert.equal(b.cpu.warmUp, 'off: not asked for (init({ warmUp: true }))');
  assert.equal(b.webgpu.available, false);
  assert.match(b.webgpu.reason, /navigator/);
});

test('errors are ShopfloorError instances of Error with a code', async () => {
  const e = await sf.Model.load(new Uint8Array([1, 2, 3])).then(
    () => assert.fail('loaded three bytes'),
    (e) => e,
  );
  assert.ok(e instanceof Error);
  assert.ok(e instanceof sf.ShopfloorError);
  assert.equal(e.name, 'ShopfloorError');
  assert.equal(e.code, 'MODEL_INVALID');
  const gpu = await sf.Model.load(readFileSync(CACHE + 'blazeface/face_detection_front_128.onnx'), { backend: 'webgpu' }).then(
    () => assert.fail('WebGPU in node'),
    (e) => e,
  );
  assert.equal(gpu.code, 'BACKEND_UNAVAILABLE');
});

test('BlazeFace matches onnxruntime under node', async () => {
  const m = await sf.Model.load(readFileSync(CACHE + 'blazeface/face_detection_front_128.onnx'));
  const input = readNpy(CACHE + 'refs/blazeface_128/input_input_0.npy');
  const got = await m.run({ 'input:0': sf.tensor('f32', input.dims, Float32Array.from(input.data)) });
  for (const [name, file] of [
    ['Identity:0', 'output_Identity_0.npy'],
    ['Identity_1:0', 'output_Identity_1_0.npy'],
  ]) {
    const want = readNpy(CACHE + 'refs/blazeface_128/' + file);
    assert.deepEqual(got[name].dims, want.dims);
    const scale = want.data.reduce((a, v) => Math.max(a, Math.abs(v)), 1e-12);
    const worst = want.data.reduce((a, v, i) => Math.max(a, Math.abs(got[name].data[i] - v)), 0);
    assert.ok(worst / scale <= 1e-4, `${name}: relative error ${worst / scale}`);
  }
  m.free();
});
