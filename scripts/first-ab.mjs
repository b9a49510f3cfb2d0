#!/usr/bin/env node
// First inference (`make bench`'s cold start: import + init + fetch + load + first run, fresh
// browser per page) of two whole builds of the package, JS and wasm, and of onnxruntime-web,
// the three alternated. Where scripts/cold-ab.mjs swaps only the wasm, this compares changes to
// the package's JS too. `--latency MS` holds back every wasm module's and model's response that
// long, as a network's round trips would (0: the loopback server as is). `--threads N` (N > 1)
// compares the threaded builds at N threads on a cross-origin isolated page.
//
//   mkdir /tmp/a && cp -r pkg/index.js pkg/warm-up.js pkg/wasm pkg/wasm-mt /tmp/a/ ; (change, build)
//   node scripts/first-ab.mjs /tmp/a [efficientnet-lite0,blazeface] [--rounds 3] [--latency 0] [--threads 1]
//
// B is the package as built in pkg/. Prints the medians per side and their ratios to
// onnxruntime-web's.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS } from '../bench/models.mjs';
import { heldBack, launch, serve } from '../tests/e2e/browser.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args.splice(args.indexOf(name), 2)[1]) : fallback);
const rounds = option('--rounds', 3);
const latency = option('--latency', 0);
// Above 1: a cross-origin isolated page and the threaded builds (BEFORE_DIR then needs wasm-mt/).
const threads = option('--threads', 1);
const [before, list = 'efficientnet-lite0,blazeface'] = args;
if (!before || !existsSync(join(before, 'index.js')) || !existsSync(join(before, 'wasm/shopfloor_bg.wasm'))) {
  console.error('usage: node scripts/first-ab.mjs BEFORE_DIR [model,…] [--rounds N] [--latency MS] (BEFORE_DIR holds index.js, warm-up.js and wasm/)');
  process.exit(2);
}
const ids = list.split(',');
const unknown = ids.filter((id) => !MODELS.some((m) => m.id === id));
if (unknown.length) throw new Error(`unknown model(s) ${unknown.join(', ')}; known: ${MODELS.map((m) => m.id).join(', ')}`);

const copy = join(ROOT, 'target/ab/first-before');
rmSync(copy, { recursive: true, force: true });
cpSync(before, copy, { recursive: true });

const routes = {};
if (latency) {
  const v = threads > 1 ? 'wasm-mt' : 'wasm';
  for (const w of [`/pkg/${v}/shopfloor_bg.wasm`, `/target/ab/first-before/${v}/shopfloor_bg.wasm`, '/bench/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm']) {
    routes[w] = heldBack(w, latency, 'application/wasm');
  }
  for (const id of ids) routes[MODELS.find((m) => m.id === id).url] = heldBack(MODELS.find((m) => m.id === id).url, latency);
}
const server = await serve({ extraRoots: ['bench', 'target'], isolated: threads > 1, routes });
const sides = [
  ['before', { runtime: 'shopfloor', pkg: '/target/ab/first-before/index.js' }],
  ['after', { runtime: 'shopfloor', pkg: '/pkg/index.js' }],
  ['onnxruntime-web', { runtime: 'ort' }],
];
const times = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const id of ids) {
      const spec = MODELS.find((m) => m.id === id);
      for (const [side, o] of r % 2 ? [...sides].reverse() : sides) {
        const { context, close } = await launch({ webgpu: false });
        try {
          const page = await context.newPage();
          await page.goto(`${server.url}/bench/index.html`);
          const c = await page.evaluate((a) => import('/bench/harness.js').then((h) => h.cold(a)), { ...o, path: threads > 1 ? 'cpu-mt' : 'cpu', threads, spec });
          ((times[id] ??= {})[side] ??= []).push(c.firstMs);
        } finally {
          await close();
        }
      }
    }
  }
} finally {
  await server.close();
  rmSync(copy, { recursive: true, force: true });
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`\n| model (response latency ${latency} ms, ${threads} thread${threads > 1 ? 's' : ''}) | before ms | after ms | onnxruntime-web ms | before / peer | after / peer |\n|---|---|---|---|---|---|`);
for (const [id, t] of Object.entries(times)) {
  const [b, a, p] = [median(t.before), median(t.after), median(t['onnxruntime-web'])];
  const all = (k) => t[k].map((x) => x.toFixed(0)).join(', ');
  console.log(`| ${MODELS.find((m) => m.id === id).title} | ${b.toFixed(0)} (${all('before')}) | ${a.toFixed(0)} (${all('after')}) | ${p.toFixed(0)} (${all('onnxruntime-web')}) | ${(b / p).toFixed(2)}× | ${(a / p).toFixed(2)}× |`);
}
