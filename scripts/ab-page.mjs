#!/usr/bin/env node
// Two builds of the package in ONE page, run by run: A B B A … on each model's benchmark input,
// and the median of the per-pair ratios B / A. On a shared VM whose speed drifts by ±15 % over
// minutes, separate pages (scripts/bench-ab.sh) need many rounds to see a 5 % change; pairs of
// runs a few milliseconds apart see it in one.
//
//   cp -r pkg/wasm pkg/wasm-mt /tmp/a/ ; (change, bash scripts/build.sh) ; cp -r pkg/wasm pkg/wasm-mt /tmp/b/
//   node scripts/ab-page.mjs /tmp/a /tmp/b efficientnet-lite0,blazeface [--threads N|NA,NB] [--rounds 200] [--warmup-ms 2000]
//     [--force pool|inline]   (threaded builds: every run of both sides in the pool, or inline)
//     [--load]                (each round a warm load and first run instead of a run: load code)
//
// Each side is the package's current JS (pkg/ but src/) with that directory's wasm, copied under
// target/ab/; both sides load in the page's one JS realm, each its own wasm instance.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, serve } from '../tests/e2e/browser.mjs';
import { MODELS } from '../bench/models.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const [A, B, list] = args;
if (!A || !B || !list) {
  console.error('usage: node scripts/ab-page.mjs A_DIR B_DIR MODELS [--threads N|NA,NB] [--rounds 200] [--warmup-ms 2000]');
  process.exit(2);
}
// `--threads 1,2` gives each side its own count (e.g. one build's inline run against the other's pool).
const threads = option('--threads', '1').split(',').map(Number);
const rounds = Number(option('--rounds', '200'));
const warmupMs = Number(option('--warmup-ms', '2000'));
const force = option('--force', null);
const load = args.includes('--load');

for (const [name, dir] of [['a', A], ['b', B]]) {
  const out = join(ROOT, 'target/ab', name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(join(ROOT, 'pkg'))) if (!['src', 'wasm', 'wasm-mt', 'wasm-relaxed'].includes(f)) cpSync(join(ROOT, 'pkg', f), join(out, f), { recursive: true });
  for (const v of ['wasm', 'wasm-mt']) if (existsSync(join(dir, v))) cpSync(join(dir, v), join(out, v), { recursive: true });
}

const server = await serve({ extraRoots: ['bench', 'target'] });
const { context, close } = await launch({ webgpu: false });
try {
  const page = await context.newPage();
  await page.goto(`${server.url}/bench/index.html`);
  console.log(`| model | A ms (median) | B ms (median) | B / A, median of pairs (p10-p90 of pairs) | runs | max rel. diff |`);
  console.log('|---|---|---|---|---|---|');
  for (const spec of MODELS.filter((m) => list.split(',').includes(m.id))) {
    if (load) {
      const r = await page.evaluate((a) => import('/bench/harness.js').then((h) => h.pairLoad(a)), {
        path: 'cpu', threads: threads.length > 1 ? threads : threads[0], spec, pkgs: ['/target/ab/a/index.js', '/target/ab/b/index.js'], rounds,
      });
      const f = (x) => x.toPrecision(3);
      console.log(`| ${spec.title}, load + first run | ${f(r.a.median)} | ${f(r.b.median)} | **${r.ratio.median.toFixed(3)}** (${r.ratio.p10.toFixed(2)}-${r.ratio.p90.toFixed(2)}) | ${r.a.runs} | |`);
      continue;
    }
    const r = await page.evaluate((a) => import('/bench/harness.js').then((h) => h.pair(a)), {
      path: 'cpu', threads: threads.length > 1 ? threads : threads[0], spec, pkgs: ['/target/ab/a/index.js', '/target/ab/b/index.js'], warmupMs, rounds, force,
    });
    const f = (x) => x.toPrecision(3);
    console.log(`| ${spec.title} | ${f(r.a.median)} | ${f(r.b.median)} | **${r.ratio.median.toFixed(3)}** (${r.ratio.p10.toFixed(2)}-${r.ratio.p90.toFixed(2)}) | ${r.a.runs} | ${r.maxRelDiff.toExponential(1)} |`);
  }
} finally {
  await close();
  await server.close();
}
