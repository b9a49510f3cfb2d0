#!/usr/bin/env node
// The threaded build's two ways to run a small CPU plan, in one page: in the pool (a plan with row
// bands runs them, src/backend/bands/) against inline on the page's thread. Blocks of 20 runs each
// way, alternated (the first 5 of a block untimed), forced with the test-only export
// `__testForcePlacement`; prints the medians and the median of the blocks' ratios.
//
//   bash scripts/build.sh ; node scripts/bands-ab.mjs blazeface,oww-embedding [--blocks 20] [--threads 2] [--settle-ms 0]
import { launch, serve } from '../tests/e2e/browser.mjs';
import { MODELS } from '../bench/models.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const list = args[0];
if (!list || list.startsWith('--')) {
  console.error('usage: node scripts/bands-ab.mjs MODELS [--blocks 20] [--threads 2]');
  process.exit(2);
}
const blocks = Number(option('--blocks', '20'));
const threads = Number(option('--threads', '2'));
// Quiet before each run, as between a camera's frames: the pool's threads have gone to sleep.
const settleMs = Number(option('--settle-ms', '0'));

const server = await serve({ extraRoots: ['bench'] });
const { context, close } = await launch({ webgpu: false });
try {
  const page = await context.newPage();
  await page.goto(`${server.url}/bench/index.html`);
  console.log('| model | pool ms | inline ms | pool / inline, median of blocks (min-max) | pooled runs in bands | bands the page\'s thread took back |');
  console.log('|---|---|---|---|---|---|');
  for (const spec of MODELS.filter((m) => list.split(',').includes(m.id))) {
    const r = await page.evaluate(async ({ spec, blocks, threads, settleMs }) => {
      const sf = await import('/pkg/index.js');
      await sf.init({ threads });
      if ((await sf.backends()).cpu.threads < 2) throw new Error('the page did not get the threaded build');
      const glue = await import('/pkg/wasm-mt/shopfloor.js');
      const m = await sf.Model.load(spec.url, { backend: 'cpu' });
      const n = spec.dims.reduce((a, b) => a * b, 1);
      const feeds = { [spec.input]: { dims: spec.dims, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5) } };
      const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
      const block = async (way) => {
        glue.__testForcePlacement(way);
        const t = [];
        for (let i = 0; i < 20; i++) {
          if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
          const t0 = performance.now();
          await m.run(feeds);
          t.push(performance.now() - t0);
        }
        return med(t.slice(5));
      };
      for (let i = 0; i < 3; i++) await block('pool'), await block('inline');
      const [banded0, takenBack0] = glue.__testBandedRuns();
      const out = { pool: [], inline: [] };
      for (let i = 0; i < blocks; i++) {
        for (const way of i % 2 ? ['pool', 'inline'] : ['inline', 'pool']) out[way].push(await block(way));
      }
      glue.__testForcePlacement('auto');
      const [banded, takenBack] = [...glue.__testBandedRuns()].map((n, i) => n - [banded0, takenBack0][i]);
      m.free();
      return { ...out, banded, takenBack, pooledRuns: blocks * 20 };
    }, { spec, blocks, threads, settleMs });
    const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
    const ratios = r.pool.map((p, i) => p / r.inline[i]);
    console.log(`| ${spec.title} | ${med(r.pool).toFixed(3)} | ${med(r.inline).toFixed(3)} | **${med(ratios).toFixed(3)}** (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}) | ${r.banded} of ${r.pooledRuns} | ${r.takenBack} |`);
  }
} finally {
  await close();
  await server.close();
}
