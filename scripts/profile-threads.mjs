// Where a model's runs spend their time on EVERY thread of the page: the page's and the pool's
// Web Workers (scripts/profile-browser.mjs samples the page's thread only). Chromium's tracing
// records each thread's V8 CPU profile; this prints, per thread, the functions by self time in
// ms per run, largest first (names need `node scripts/profile-browser.mjs --named --threads`):
//
//   node scripts/profile-threads.mjs /models/cache/whisper-tiny-en/decoder.onnx token=1x1:i64=50257 \
//        position=1:i64=24 self_k=4x6x448x64 ... [--runs 60] [--threads]
//   CALLERS='Condvar>::wait' node scripts/profile-threads.mjs ...   # also who calls those, 5 up
//
// Without --threads: the single-thread build (one thread, as profile-browser.mjs sees it).
// --force pool|inline: every run of the threaded build that way (else each plan's placement
// chooses, and re-measures the other way from time to time: src/backend/pool/placement.rs).
import { launch, serve } from '../tests/e2e/browser.mjs';
const args = process.argv.slice(2);
const [model, ...feedArgs] = args.filter((a, i) => !a.startsWith('--') && !/^\d+$/.test(a) && args[i - 1] !== '--force');
const runs = Number(args[args.indexOf('--runs') + 1] ?? 60);
const threads = args.includes('--threads');
const force = args.includes('--force') ? args[args.indexOf('--force') + 1] : null;
const feeds = feedArgs.map((f) => {
  const [name, rest] = [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)];
  const [dims, i64] = rest.split(':i64=');
  return { name, shape: dims.split('x').map(Number), i64: i64 === undefined ? null : Number(i64) };
});
const server = await serve({ isolated: threads });
const { context, close } = await launch({ webgpu: false });
try {
  const page = await context.newPage();
  await page.goto(`${server.url}/tests/e2e/blank.html`);
  const cdp = await context.newCDPSession(page);
  await page.evaluate(async ({ model, feeds, threads, force }) => {
    const sf = await import('/pkg/index.js');
    await sf.init({ threads: threads ? 'auto' : 1 });
    if (force) (await import('/pkg/wasm-mt/shopfloor.js')).__testForcePlacement(force);
    const feed = {};
    for (const { name, shape, i64 } of feeds) {
      const n = shape.reduce((a, b) => a * b, 1);
      feed[name] = { dims: shape, data: i64 === null ? Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5) : new BigInt64Array(n).fill(BigInt(i64)) };
    }
    window.p = { m: await sf.Model.load(model, { backend: 'cpu' }), feed };
    for (let i = 0; i < 20; i++) await window.p.m.run(window.p.feed);
  }, { model, feeds, threads, force });
  const chunks = [];
  cdp.on('Tracing.dataCollected', (e) => chunks.push(...e.value));
  const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['disabled-by-default-v8.cpu_profiler'], recordMode: 'recordContinuously' }, transferMode: 'ReportEvents' });
  const ms = await page.evaluate(async (runs) => {
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await window.p.m.run(window.p.feed);
    return (performance.now() - t0) / runs;
  }, runs);
  await cdp.send('Tracing.end');
  await done;
  // Per profile id: nodes and samples.
  const profs = new Map();
  for (const e of chunks) {
    if (e.name === 'Profile') profs.set(e.id, { tid: e.tid, nodes: new Map(), self: new Map(), total: 0 });
    if (e.name !== 'ProfileChunk') continue;
    const p = profs.get(e.id) ?? (profs.set(e.id, { tid: e.tid, nodes: new Map(), self: new Map(), total: 0 }), profs.get(e.id));
    const cp = e.args.data.cpuProfile ?? {};
    for (const n of cp.nodes ?? []) p.nodes.set(n.id, n);
    const deltas = e.args.data.timeDeltas ?? [];
    (cp.samples ?? []).forEach((id, i) => {
      const n = p.nodes.get(id);
      const name = n?.callFrame?.functionName || (n?.callFrame?.url ? `(anon ${n.callFrame.url.replace(/^.*\//, '')}:${n.callFrame.lineNumber})` : '(?)');
      const dt = deltas[i] ?? 0;
      p.self.set(name, (p.self.get(name) ?? 0) + dt);
      const want = process.env.CALLERS;
      if (want && name.includes(want)) {
        const chain = [];
        for (let up = n?.parent; up !== undefined && chain.length < 5; up = p.nodes.get(up)?.parent) chain.push((p.nodes.get(up)?.callFrame?.functionName ?? '?').replace(/\[[0-9a-f]+\]/g, '').slice(0, 60));
        const key = chain.join(' < ');
        p.callers ??= new Map();
        p.callers.set(key, (p.callers.get(key) ?? 0) + dt);
      }
      p.total += dt;
    });
  }
  console.log(`${ms.toFixed(2)} ms per run over ${runs}`);
  for (const [id, p] of profs) {
    const busy = [...p.self].filter(([n]) => n !== '(idle)' && n !== '(program)' && n !== '(garbage collector)').reduce((a, [, t]) => a + t, 0);
    console.log(`\n== thread ${p.tid} profile ${id}: sampled ${(p.total / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms (${(busy / 1000 / runs).toFixed(2)} ms per run)`);
    for (const [n, t] of [...(p.callers ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  caller ${(t / 1000 / runs).toFixed(2)} ms/run  ${n}`);
    for (const [n, t] of [...p.self].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`${(t / 1000 / runs).toFixed(2).padStart(7)} ms/run  ${n.replace(/\[[0-9a-f]+\]/g, '').slice(0, 120)}`);
  }
} finally {
  await close();
  server.close();
}
