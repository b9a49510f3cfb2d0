// Compiled by tests/e2e/package.test.mjs with `tsc --strict --noEmit`: the public types must
// let a user write this without casts.
import { backends, init, memoryStats, Model, ShopfloorError, tensor, version, type Backends, type ErrorCode } from '../../pkg/index.js';

async function main(): Promise<string> {
  await init();
  const v: string = await version();
  const b: Backends = await backends();
  const gpu = b.webgpu.available ? b.webgpu.adapter?.name ?? '' : (b.webgpu.reason ?? '');
  try {
    await init({ wasm: new URL('https://example.invalid/x.wasm') });
  } catch (e) {
    if (e instanceof ShopfloorError) {
      const code: ErrorCode = e.code;
      return `${v} ${b.cpu.simd} ${gpu} ${code}`;
    }
  }
  return v;
}

async function useModel(pixels: Float32Array): Promise<number> {
  const m = await Model.load('/m.onnx', { backend: 'cpu', sha256: 'x', inputShapes: { x: [1, 3, 8, 8] }, onProgress: (p) => p.loaded / (p.total || 1) });
  const first = m.inputs[0];
  const dims: (number | string)[] = first.shape ?? [];
  const out = await m.run({ [first.name]: tensor('f32', [1, 3, 8, 8], pixels) });
  const y = out[m.outputs[0].name];
  const info = m.info();
  const stats = await memoryStats();
  m.free();
  return y.dims.length + dims.length + info.parameterCount + stats.liveModels + (y.dtype === 'f32' ? 1 : 0);
}

void main();
void useModel;
