// First inference of two single-thread builds, alternated: each round swaps BEFORE/wasm, then
// AFTER/wasm into pkg/wasm and times `make bench`'s cold start (import + init + fetch + load +
// first run, fresh profile) of every model; prints both sides per model, load and first run in
// brackets with the page's wasm memory after the first run (wasm memory only grows: the load's
// high-water mark).
// Leaves AFTER's build in pkg/wasm.
//
//   cp -r pkg/wasm /tmp/before/ ; (change, rebuild) ; cp -r pkg/wasm /tmp/after/
//   node scripts/cold-ab.mjs /tmp/before /tmp/after [efficientnet-lite0,blazeface] [--rounds 2]
import { cpSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MEMORY_HOOK } from '../bench/memory-hook.mjs';
import { MODELS } from '../bench/models.mjs';
import { launch, serve } from '../tests/e2e/browser.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const rounds = args.includes('--rounds') ? Number(args.splice(args.indexOf('--rounds'), 2)[1]) : 2;
const [before, after, list] = args;
if (!before || !after || ![before, after].every((d) => existsSync(`${d}/wasm/shopfloor_bg.wasm`))) {
  console.error('usage: node scripts/cold-ab.mjs BEFORE_DIR AFTER_DIR [model,…] [--rounds N] (each DIR holds a wasm/ build)');
  process.exit(2);
}
const ids = list ? list.split(',') : MODELS.filter((m) => !m.feeds && !m.extra && !m.id.startsWith('whisper')).map((m) => m.id);
const unknown = ids.filter((id) => !MODELS.some((m) => m.id === id));
if (unknown.length) throw new Error(`unknown model(s) ${unknown.join(', ')}; known: ${MODELS.map((m) => m.id).join(', ')}`);

const use = (dir) => {
  rmSync(`${ROOT}/pkg/wasm`, { recursive: true, force: true });
  cpSync(`${dir}/wasm`, `${ROOT}/pkg/wasm`, { recursive: true });
};
const server = await serve({ extraRoots: ['bench'] });
const results = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const [side, dir] of [['before', before], ['after', after]]) {
      use(dir);
      for (const id of ids) {
        const spec = MODELS.find((m) => m.id === id);
        const { context, close } = await launch({ webgpu: false });
        try {
          await context.addInitScript(MEMORY_HOOK);
          const page = await context.newPage();
          await page.goto(`${server.url}/bench/index.html`);
          const c = await page.evaluate((a) => import('/bench/harness.js').then((h) => h.cold(a)), { runtime: 'shopfloor', path: 'cpu', threads: 1, spec });
          ((results[id] ??= { before: [], after: [] })[side]).push(`${c.firstMs.toFixed(0)} (${c.stages.loadMs.toFixed(0)}, ${c.stages.firstRunMs.toFixed(0)}; ${(c.peakWasmBytes / 2 ** 20).toFixed(0)} MiB)`);
        } finally {
          await close();
        }
      }
    }
  }
} finally {
  use(after);
  await server.close();
}
console.log('| model | before: first inference (load, first run; wasm memory) ms | after |\n|---|---|---|');
for (const [id, r] of Object.entries(results)) console.log(`| ${MODELS.find((m) => m.id === id).title} | ${r.before.join(', ')} | ${r.after.join(', ')} |`);
