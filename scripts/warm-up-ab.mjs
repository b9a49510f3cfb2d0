// What `init({ warmUp: true })` saves a page that loads its model after an idle spell: fresh
// profiles, warm-up off and on alternated; in each page init(), `--idle` ms (default 1000; 0:
// the load starts at once), then the model's load and first run on the CPU (single-thread
// build; with `--isolated`, a cross-origin isolated page: the threaded build). `--delay` ms holds the model's response back that long, as a network would (the
// loopback server sends 18 MB in about 0.1-0.3 s). Prints the load and first run of each page,
// and their medians.
//
//   node scripts/warm-up-ab.mjs [efficientnet-lite0,blazeface] [--rounds 3] [--idle 1000] [--delay 0] [--isolated]
import { MODELS } from '../bench/models.mjs';
import { heldBack, launch, serve } from '../tests/e2e/browser.mjs';

const args = process.argv.slice(2);
const flag = (name, dflt) => (args.includes(name) ? Number(args.splice(args.indexOf(name), 2)[1]) : dflt);
const rounds = flag('--rounds', 3);
const idle = flag('--idle', 1000);
const delay = flag('--delay', 0);
const isolated = args.includes('--isolated') && Boolean(args.splice(args.indexOf('--isolated'), 1));
const ids = (args[0] ?? 'efficientnet-lite0,blazeface').split(',');
const unknown = ids.filter((id) => !MODELS.some((m) => m.id === id));
if (unknown.length) throw new Error(`unknown model(s) ${unknown.join(', ')}; known: ${MODELS.map((m) => m.id).join(', ')}`);

const routes = delay ? Object.fromEntries(ids.map((id) => MODELS.find((m) => m.id === id).url).map((u) => [u, heldBack(u, delay)])) : {};
const server = await serve({ extraRoots: ['bench'], isolated, routes });
const results = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const id of ids) {
      for (const warmUp of [false, true]) {
        const spec = MODELS.find((m) => m.id === id);
        const { context, close } = await launch({ webgpu: false });
        try {
          const page = await context.newPage();
          await page.goto(`${server.url}/bench/index.html`);
          const c = await page.evaluate(
            async ({ spec, warmUp, idle }) => {
              const { makeInput } = await import('/bench/harness.js');
              const sf = await import('/pkg/index.js');
              await sf.init({ warmUp });
              await new Promise((ok) => setTimeout(ok, idle));
              const t0 = performance.now();
              const m = await sf.Model.load(spec.url, { backend: 'cpu', inputShapes: { [spec.input]: spec.dims } });
              const t1 = performance.now();
              await m.run({ [spec.input]: sf.tensor('f32', spec.dims, makeInput(spec.dims)) });
              const t2 = performance.now();
              const { cpu } = await sf.backends();
              return { load: t1 - t0, run: t2 - t1, status: `${cpu.warmUp}; ${cpu.threads} thread(s)` };
            },
            { spec, warmUp, idle },
          );
          const side = ((results[id] ??= { false: [], true: [] })[warmUp] ??= []);
          side.push(c);
          console.log(`${id} warmUp ${warmUp}: load ${c.load.toFixed(0)} ms, first run ${c.run.toFixed(0)} ms (${c.status})`);
        } finally {
          await close();
        }
      }
    }
  }
} finally {
  await server.close();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1].toFixed(0);
console.log(`\n| model (idle ${idle} ms, response delay ${delay} ms${isolated ? ', threaded build' : ''}) | off: load, first run (medians, ms) | on |\n|---|---|---|`);
for (const [id, r] of Object.entries(results)) {
  const cell = (xs) => `${median(xs.map((x) => x.load))}, ${median(xs.map((x) => x.run))}`;
  console.log(`| ${MODELS.find((m) => m.id === id).title} | ${cell(r.false)} | ${cell(r.true)} |`);
}
