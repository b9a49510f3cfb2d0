// Compiled by tests/e2e/package.test.mjs with `tsc --strict --noEmit`: the public types must
// let a user write this without casts.
import { backends, init, ShopfloorError, version, type Backends, type ErrorCode } from '../../pkg/index.js';

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

void main();
