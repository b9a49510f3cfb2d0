// A shift in one page: 10,000 BlazeFace runs on the CPU path and 2,000 on WebGPU (SwiftShader),
// half of them raw tensors and half camera frames of five sizes through FaceDetector, interleaved with a symbolic-shape model run at changing sizes (plans compiled and evicted),
// every model created and freed over and over. The SDK's wasm heap, the page's JS heap, the live
// GPU buffers and the live models must come back to where they started, and the wasm memory
// (which can only grow) must stop growing after the first cycle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serve, watchErrors } from './browser.mjs';

const CACHE = fileURLToPath(new URL('../../models/cache/', import.meta.url));
const haveData = existsSync(CACHE + 'blazeface/face_detection_front_128.onnx') && existsSync(CACHE + 'ppocr/ppocr_cls.onnx');
if (!haveData && process.env.SHOPFLOOR_REQUIRE_MODELS) throw new Error('test data missing: run scripts/test-data.sh');
const skip = haveData ? false : 'test data missing: run scripts/test-data.sh';

// The full shift is SHOPFLOOR_SOAK=full (10,000 CPU + 2,000 WebGPU runs): meant for a machine
// with a real GPU, since SwiftShader (WebGPU on the CPU) takes ~2 s per BlazeFace run here.
// `make test` runs a shorter shift with the same assertions: 2,000 CPU runs in 8 create/free
// cycles and 4 WebGPU create/free cycles.
const FULL = process.env.SHOPFLOOR_SOAK === 'full';
const CPU_RUNS = FULL ? 10_000 : 2_000;
const GPU_RUNS = FULL ? 2_000 : 12;
const CPU_CYCLE = FULL ? 500 : 250;
const GPU_CYCLE = FULL ? 250 : 3;

let server;
before(async () => {
  server = await serve();
});
after(() => server.close());

test(`soak: ${CPU_RUNS} CPU and ${GPU_RUNS} WebGPU runs, models created and freed, memory back to its baseline`, { skip, timeout: FULL ? 4 * 3_600_000 : 600_000 }, async () => {
  const { context, close } = await launch({ webgpu: true, args: ['--js-flags=--expose-gc', '--enable-precise-memory-info'] });
  try {
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/www/index.html`);
    const r = await page.evaluate(
      async ({ cpuRuns, gpuRuns, cpuCycle, gpuCycle }) => {
        const sf = await import('/pkg/index.js');
        const FACE = '/models/cache/blazeface/face_detection_front_128.onnx';
        const FACE_MANIFEST = '/models/cache/blazeface/manifest.json';
        const CLS = '/models/cache/ppocr/ppocr_cls.onnx';
        const [face, cls] = await Promise.all([FACE, CLS].map(async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer())));
        const faceInput = (i) => ({ 'input:0': { dims: [1, 128, 128, 3], data: new Float32Array(49152).fill((i % 97) / 97) } });
        const widths = [64, 96, 128, 160, 192];
        const snapshot = async () => {
          await new Promise((r) => setTimeout(r, 0));
          globalThis.gc?.();
          const s = await sf.memoryStats();
          return { ...s, jsHeap: performance.memory?.usedJSHeapSize ?? 0 };
        };
        // Camera frames of changing sizes for the vision pipeline (on WebGPU each size change
        // grows the plan's frame buffers, which must go with it).
        const frames = [[64, 48], [320, 240], [640, 480], [1280, 720], [200, 300]].map(([w, h]) => {
          const f = new ImageData(w, h);
          for (let k = 0; k < f.data.length; k++) f.data[k] = (k * 37 + (k >> 9)) & 255;
          return f;
        });
        const cycle = async (backend, runs) => {
          const half = Math.ceil(runs / 2);
          const m = await sf.Model.load(face, { backend });
          for (let i = 0; i < half; i++) await m.run(faceInput(i));
          m.free();
          const d = await sf.FaceDetector.create({ model: FACE_MANIFEST, backend, cache: false });
          for (let i = half; i < runs; i++) await d.detect(frames[i % frames.length]);
          d.free();
          // A per-shape model whose plans are compiled and evicted (cache of 2, 5 widths).
          const c = await sf.Model.load(cls, { backend: 'cpu', planCacheSize: 2 });
          for (let i = 0; i < 10; i++) {
            const w = widths[i % widths.length];
            await c.run({ x: { dims: [1 + (i % 2), 3, 48, w], data: new Float32Array((1 + (i % 2)) * 3 * 48 * w).fill(0.1) } });
          }
          c.free();
        };
        // Warm-up: every kind of allocation that is kept on purpose (GPU device and pipelines,
        // the wasm module's own tables) happens once before the baseline.
        await cycle('cpu', 20);
        await cycle('webgpu', 2);
        const baseline = await snapshot();
        const series = [];
        const t0 = performance.now();
        for (let done = 0; done < cpuRuns; done += cpuCycle) {
          await cycle('cpu', cpuCycle);
          series.push({ path: 'cpu', ...(await snapshot()) });
        }
        const cpuMs = performance.now() - t0;
        const t1 = performance.now();
        for (let done = 0; done < gpuRuns; done += gpuCycle) {
          await cycle('webgpu', gpuCycle);
          series.push({ path: 'webgpu', ...(await snapshot()) });
        }
        const gpuMs = performance.now() - t1;
        // While a GPU model is alive its buffers are counted; freed, they are gone.
        const held = await sf.Model.load(face, { backend: 'webgpu' });
        const whileHeld = (await sf.memoryStats()).gpuBuffers;
        held.free();
        // Likewise the heap count: a CPU model's weights and plan are on it until freed.
        const cpuHeld = await sf.Model.load(face, { backend: 'cpu' });
        const heapWhileHeld = (await sf.memoryStats()).heapBytes;
        cpuHeld.free();
        return { baseline, series, end: await snapshot(), cpuMs, gpuMs, whileHeld, heapWhileHeld };
      },
      { cpuRuns: CPU_RUNS, gpuRuns: GPU_RUNS, cpuCycle: CPU_CYCLE, gpuCycle: GPU_CYCLE },
    );
    const mib = (b) => (b / 2 ** 20).toFixed(2);
    const { baseline: b, end: e, series } = r;
    const first = series[0];
    console.log(`# ${CPU_RUNS} CPU runs in ${(r.cpuMs / 1000).toFixed(1)} s, ${GPU_RUNS} WebGPU runs in ${(r.gpuMs / 1000).toFixed(1)} s (${series.length} create/free cycles)`);
    console.log(`# wasm heap ${mib(b.heapBytes)} → ${mib(e.heapBytes)} MiB (max ${mib(Math.max(...series.map((s) => s.heapBytes)))}); wasm memory ${mib(b.wasmMemoryBytes)} → ${mib(first.wasmMemoryBytes)} (first cycle) → ${mib(e.wasmMemoryBytes)} MiB; JS heap ${mib(b.jsHeap)} → ${mib(e.jsHeap)} MiB; GPU buffers ${b.gpuBuffers} → ${e.gpuBuffers} (${r.whileHeld} while a GPU model is held; heap ${mib(r.heapWhileHeld)} MiB while a CPU one is); live models ${e.liveModels}`);
    assert.equal(e.liveModels, 0);
    assert.equal(e.gpuBuffers, b.gpuBuffers);
    assert.ok(r.whileHeld > b.gpuBuffers, 'a live GPU model holds buffers (the count is real)');
    assert.ok(r.heapWhileHeld > b.heapBytes + 256 * 1024, `a live CPU model holds heap (the count is real): ${r.heapWhileHeld}`);
    assert.ok(Math.abs(e.heapBytes - b.heapBytes) < 256 * 1024, `wasm heap ${b.heapBytes} → ${e.heapBytes}`);
    assert.ok(e.wasmMemoryBytes <= first.wasmMemoryBytes + 16 * 2 ** 20, `wasm memory kept growing: ${first.wasmMemoryBytes} → ${e.wasmMemoryBytes}`);
    if (b.jsHeap) assert.ok(e.jsHeap < b.jsHeap + 8 * 2 ** 20, `JS heap ${b.jsHeap} → ${e.jsHeap}`);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
