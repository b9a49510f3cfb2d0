#!/usr/bin/env node
// In-browser latency of shopfloor's CPU path (wasm, one thread) in headless Chromium.
// usage: node scripts/bench-browser.mjs [--runs N] [--warmup-ms MS] MODEL_URL@INPUT=1x3x640x640 ...
// MODEL_URL is served from the repository (e.g. /models/cache/blazeface/face_detection_front_128.onnx).
import { launch, serve } from '../tests/e2e/browser.mjs';

const args = process.argv.slice(2);
let runs = 20;
let warmupMs = 5000;
const specs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--warmup-ms') warmupMs = Number(args[++i]);
  else specs.push(args[i]);
}
if (!specs.length) {
  console.error('usage: node scripts/bench-browser.mjs [--runs N] [--warmup-ms MS] MODEL_URL@INPUT=1x3x640x640 ...');
  process.exit(2);
}

const server = await serve();
const { context, close } = await launch({ webgpu: false });
try {
  const page = await context.newPage();
  await page.goto(`${server.url}/pkg/package.json`);
  for (const spec of specs) {
    const at = spec.lastIndexOf('@');
    const url = spec.slice(0, at);
    const [name, dims] = spec.slice(at + 1).split('=');
    const r = await page.evaluate(
      async ({ url, name, dims, runs, warmupMs }) => {
        const sf = await import('/pkg/index.js');
        const t0 = performance.now();
        await sf.init();
        const m = await sf.Model.load(url, { inputShapes: { [name]: dims } });
        const n = dims.reduce((a, b) => a * b, 1);
        const feeds = { [name]: sf.tensor('f32', dims, Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5)) };
        await m.run(feeds);
        const firstMs = performance.now() - t0;
        const w = performance.now();
        while (performance.now() - w < warmupMs) await m.run(feeds); // V8 tiers up late
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          await m.run(feeds);
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        m.free();
        return { firstMs, min: times[0], median: times[times.length >> 1], p90: times[Math.floor(times.length * 0.9)] };
      },
      { url, name, dims: dims.split('x').map(Number), runs, warmupMs },
    );
    console.log(
      `${url} ${name}=${dims}: first inference (init+load+run) ${r.firstMs.toFixed(0)} ms; ` +
        `${runs} runs: min ${r.min.toFixed(1)} ms, median ${r.median.toFixed(1)} ms, p90 ${r.p90.toFixed(1)} ms`,
    );
  }
} finally {
  await close();
  await server.close();
}
