// Where a model's CPU time goes in Chromium: runs it in a page (single-thread build unless
// --threads) and samples with the DevTools protocol's profiler, then prints the wasm functions
// by self time, largest first. Function names need a build that keeps wasm's name section:
//
//   node scripts/profile-browser.mjs --named            # once: pkg/wasm with names (see below)
//   node scripts/profile-browser.mjs /models/cache/blazeface/face_detection_front_128.onnx \
//        input:0=1x128x128x3 [--runs 300] [--top 25] [--threads] [--load] [--callers NAME] [--callees NAME]
//
// Several inputs: one NAME=DIMS each (f32 noise), NAME=DIMS:i64=VALUE for an i64 one.
//
// --load profiles `Model.load` (the bytes fetched beforehand) instead of runs, and prints each
// function's inclusive time too: where loading goes by phase (parse, optimise, codegen, packing).
// --cold profiles a first inference in a fresh page instead, as `make bench` times it: import,
// init(), `Model.load(url, { inputShapes })` and one run, while the browser still compiles and
// tiers up the wasm (self and inclusive time).
//
// --callers NAME also prints who calls the functions whose names contain NAME (three callers up);
// --callees NAME what the outermost such function calls, with the time under each.
//
// --named rebuilds the glue of the last release build with wasm-bindgen, names kept, into
// pkg/wasm (and pkg/wasm-mt with --threads); `bash scripts/build.sh` puts the shipped ones back.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { launch, serve } from '../tests/e2e/browser.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const threads = flag('--threads');
const load = flag('--load');
const cold = flag('--cold');

if (flag('--named')) {
  const out = threads ? 'pkg/wasm-mt' : 'pkg/wasm';
  // Where scripts/build.sh left the last release build (the toolchain's target dir).
  const dir = execFileSync('bash', ['-c', 'source scripts/wasm-env.sh && wasm_threads_env && echo "$WASM_TARGET_DIR" "$WASM_MT_TARGET_DIR"'], { cwd: ROOT, encoding: 'utf8' }).trim().split(' ')[threads ? 1 : 0];
  const wasm = `${dir}/wasm32-unknown-unknown/wasm-release/shopfloor.wasm`;
  execFileSync('wasm-bindgen', ['--target', 'web', '--out-dir', out, '--out-name', 'shopfloor', wasm], { cwd: ROOT, stdio: 'inherit' });
  console.log(`${out}: names kept`);
  process.exit(0);
}

const [model, ...feedArgs] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.match(/^--(runs|top|callers|callees|width)$/));
if (!model || !feedArgs.length) {
  console.error('usage: node scripts/profile-browser.mjs MODEL_URL NAME=DIMS[:i64=VALUE] ... [--runs N] [--top N] [--threads] [--load | --cold] [--callers NAME] [--callees NAME] | --named [--threads]');
  process.exit(2);
}
// NAME=DIMS: f32 noise; NAME=DIMS:i64=VALUE: an i64 tensor filled with VALUE.
const feeds = feedArgs.map((f) => {
  const [name, rest] = [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)];
  const [dims, i64] = rest.split(':i64=');
  return { name, shape: dims.split('x').map(Number), i64: i64 === undefined ? null : Number(i64) };
});
const runs = Number(option('--runs', load ? 10 : 200));
const top = Number(option('--top', 25));

const server = await serve({ isolated: threads });
const { context, close } = await launch({ webgpu: false });
try {
  const page = await context.newPage();
  await page.goto(`${server.url}/tests/e2e/blank.html`);
  const cdp = await context.newCDPSession(page);
  if (cold) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
  }
  const coldMs = await page.evaluate(async ({ model, feeds, threads, cold }) => {
    const sf = await import('/pkg/index.js');
    await sf.init({ threads: threads ? 'auto' : 1 });
    const feed = {};
    for (const { name, shape, i64 } of feeds) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = i64 === null ? Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5) : new BigInt64Array(n).fill(BigInt(i64));
      feed[name] = { dims: shape, data };
    }
    const t0 = performance.now();
    const inputShapes = Object.fromEntries(feeds.map((f) => [f.name, f.shape]));
    const options = cold ? { backend: 'cpu', inputShapes } : { backend: 'cpu' };
    window.profiled = { m: await sf.Model.load(model, options), feed };
    if (cold) {
      await window.profiled.m.run(window.profiled.feed);
      return performance.now() - t0;
    }
    // Warm-up: V8 swaps in optimised wasm code between calls.
    for (let i = 0; i < 20; i++) await window.profiled.m.run(window.profiled.feed);
  }, { model, feeds, threads, cold });
  if (!cold) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
  }
  const ms = cold ? coldMs : await page.evaluate(
    async ({ runs, load, model }) => {
      const sf = await import('/pkg/index.js');
      const bytes = load ? new Uint8Array(await (await fetch(model)).arrayBuffer()) : null;
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) {
        if (load) (await sf.Model.load(bytes.slice(), { backend: 'cpu' })).free();
        else await window.profiled.m.run(window.profiled.feed);
      }
      return (performance.now() - t0) / runs;
    },
    { runs, load, model },
  );
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  // Inclusive time: each sample counted once for every distinct function on its stack.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map();
  // --callers SUBSTR: time under the first frame matching SUBSTR, by the chain of its 3 callers.
  const callee = option('--callers', null);
  const callers = new Map();
  // --callees SUBSTR: time under the outermost frame matching SUBSTR, by the function it called.
  const under = option('--callees', null);
  const callees = new Map();
  const short = (name) => name.replace(/\[[0-9a-f]+\]/g, '').slice(0, 70);
  // An anonymous JS function by where it is: file and line.
  const nameOf = (id) => {
    const f = byId.get(id).callFrame;
    return f.functionName || (f.url ? `(anonymous ${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1})` : '(anonymous)');
  };
  let total = 0;
  for (const [id, t] of dt) {
    const name = nameOf(id);
    if (name === '(idle)' || name === '(program)') continue;
    self.set(name, (self.get(name) ?? 0) + t);
    total += t;
    // The sample's stack, innermost first.
    const path = [];
    for (let at = id; at !== undefined; at = parent.get(at)) path.push(nameOf(at));
    for (const n of new Set(path)) inclusive.set(n, (inclusive.get(n) ?? 0) + t);
    if (under) {
      const top = path.findLastIndex((n) => n.includes(under));
      if (top >= 0) {
        const key = top === 0 ? '(self)' : path[top - 1];
        callees.set(key, (callees.get(key) ?? 0) + t);
      }
    }
    if (callee) {
      let at = id;
      while (at !== undefined && !nameOf(at).includes(callee)) at = parent.get(at);
      if (at === undefined) continue;
      const chain = [];
      for (let up = parent.get(at); up !== undefined && chain.length < 3; up = parent.get(up)) chain.push(short(nameOf(up)));
      const key = chain.join('  <  ');
      callers.set(key, (callers.get(key) ?? 0) + t);
    }
  }
  const what = cold ? 'first load and run (init() not counted)' : load ? 'load' : 'run';
  const print = (title, map) => {
    console.log(`${model}: ${ms.toFixed(2)} ms per ${what} over ${runs} (${threads ? 'threaded' : 'single-thread'} build); ${title}:`);
    for (const [name, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((100 * t) / total).toFixed(1).padStart(5)} %  ${name.slice(0, Number(option("--width", 150)))}`);
    }
  };
  print('self time', self);
  if (load || cold) print('inclusive time', inclusive);
  if (callee) print(`callers of ${callee} (caller < its caller < ...)`, callers);
  if (under) print(`what the outermost ${under} calls (inclusive)`, callees);
} finally {
  await close();
  server.close();
}
