#!/usr/bin/env node
// `make bench`: shopfloor against onnxruntime-web in the same headless Chromium, same models,
// same inputs, pairs alternated; plus the native `shopfloor bench` for reference. Prints a
// Markdown table and writes results.json and chart.svg under target/bench/ (git-ignored).
// It reports; it never fails on a slow figure (only on a broken setup).
//
// usage: node bench/run.mjs [--paths cpu,cpu-mt,webgpu,native] [--models a,b] [--runs N]
//                           [--budget-s S] [--warmup-ms MS] [--native-gpu-runs N] [--out DIR]
//                           [--settle-ms MS] [--turn N] [--cold-rounds N] [--no-dictation]
// --models also takes the other real CNNs of bench/models.mjs (light-densenet121, …), which the
// default run leaves out.
// Dictation (Whisper: whole recordings and live delay) runs on each CPU path, on WebGPU unless
// the adapter is SwiftShader (a minute per window), and natively (`bench-transcribe --live`).
// --turn N: on the CPU paths each runtime takes turns of one untimed run and N timed ones (default
// 3), so a timed run follows a run of its own runtime, not what the other left running on the CPU;
// 0 interleaves single timed runs A B A B (each after the other's). WebGPU always interleaves.
// --settle-ms waits that long before each timed run (default 0: runs back to back): both pools
// have gone to sleep, as between a camera's frames (docs/performance-log.md, "Threads").
// --cold-rounds N: cold starts (first inference, fresh profile) per runtime and model, the two
// runtimes in turns whose order alternates (default 3); the report keeps the median one (one cold
// start varies by ±20 % here, more than the 0.8× target's margin).
// --budget-s caps each model's A B rounds (after 5 on the CPU, 1 on WebGPU); software WebGPU
// adapters (SwiftShader, lavapipe) take seconds per run, so they get few runs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { launch, serve } from '../tests/e2e/browser.mjs';
import { medianCold, renderChart, renderMarkdown } from './report.mjs';
import { DICTATION, MODELS } from './models.mjs';
import { MEMORY_HOOK } from './memory-hook.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function parseArgs(argv) {
  const o = { paths: ['cpu', 'cpu-mt', 'webgpu', 'native'], models: MODELS.filter((m) => !m.extra).map((m) => m.id), dictation: true, runs: 20, nativeGpuRuns: 2, budgetS: 60, warmupMs: 3000, settleMs: null, turn: 3, coldRounds: 3, out: join(ROOT, 'target/bench') };
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i];
    switch (argv[i]) {
      case '--paths': o.paths = v().split(','); break;
      case '--models': o.models = v().split(','); break;
      case '--runs': o.runs = Number(v()); break;
      case '--budget-s': o.budgetS = Number(v()); break;
      case '--native-gpu-runs': o.nativeGpuRuns = Number(v()); break;
      case '--warmup-ms': o.warmupMs = Number(v()); break;
      case '--settle-ms': o.settleMs = Number(v()); break;
      case '--turn': o.turn = Number(v()); break;
      case '--cold-rounds': o.coldRounds = Number(v()); break;
      case '--out': o.out = v(); break;
      case '--no-dictation': o.dictation = false; break;
      default: throw new Error(`unknown argument ${argv[i]} (see the usage at the top of bench/run.mjs)`);
    }
  }
  if (!Number.isInteger(o.turn) || o.turn < 0) throw new Error(`--turn takes a whole number of timed runs per turn (0 interleaves single runs), got ${o.turn}`);
  if (!Number.isInteger(o.coldRounds) || o.coldRounds < 1) throw new Error(`--cold-rounds takes a whole number of cold starts per runtime, 1 or more, got ${o.coldRounds}`);
  const unknown = o.models.filter((id) => !MODELS.some((m) => m.id === id));
  if (unknown.length) throw new Error(`unknown model(s) ${unknown.join(', ')}; known: ${MODELS.map((m) => m.id).join(', ')}`);
  return o;
}


async function withPage(webgpu, server, fn) {
  const { context, close } = await launch({ webgpu });
  try {
    await context.addInitScript(MEMORY_HOOK);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const requests = [];
    page.on('requestfinished', async (req) => {
      const size = (await req.sizes().catch(() => null))?.responseBodySize ?? 0;
      requests.push({ url: new URL(req.url()).pathname, size });
    });
    await page.goto(`${server.url}/bench/index.html`);
    try {
      return await fn(page, requests);
    } catch (e) {
      throw new Error(`${e.message.split('\n')[0]}${errors.length ? ` (page errors: ${errors.join('; ')})` : ''}`);
    }
  } finally {
    await close();
  }
}

const PEERS = { cpu: { path: 'cpu', threads: 1 }, webgpu: { path: 'webgpu', threads: 1 } };

/** Cold start of one runtime in a fresh profile (empty HTTP and code caches). */
async function cold(server, runtime, pathName, threads, spec) {
  const path = pathName === 'webgpu' ? 'webgpu' : 'cpu';
  return withPage(path === 'webgpu', server, async (page, requests) => {
    const r = await page.evaluate((a) => import('/bench/harness.js').then((h) => h.cold(a)), { runtime, path, threads, spec });
    await page.waitForTimeout(100); // let the last requestfinished events land
    // The runtime's own files: not the model, not the benchmark page (but ORT under bench/node_modules).
    const isRuntime = (u) => u.startsWith('/bench/node_modules/') || !(u.startsWith('/models/') || u.startsWith('/bench/'));
    const code = requests.filter((q) => isRuntime(q.url));
    return { ...r, files: code };
  });
}

function nativeBench(spec, backend, runs, warmup) {
  if (spec.feeds) return { error: 'several inputs: `shopfloor bench-transcribe --live` measures it in use' };
  const bin = join(ROOT, 'target/release/shopfloor');
  const args = ['bench', join(ROOT, spec.url.slice(1)), '--backend', backend, '--shape', `${spec.input}=${spec.dims.join('x')}`, '--runs', String(runs), '--warmup', String(warmup), '--json'];
  try {
    return JSON.parse(execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop());
  } catch (e) {
    return { error: (e.stderr?.toString() || e.message).trim().split('\n').pop() };
  }
}

function nativeOrt(spec, runs) {
  if (spec.feeds) return { error: 'several inputs' };
  const py = join(ROOT, 'target/py/bin/python');
  try {
    const out = execFileSync(py, [join(ROOT, 'bench/ort_native.py'), join(ROOT, spec.url.slice(1)), spec.input, spec.dims.join('x'), String(runs)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').pop());
  } catch (e) {
    return { error: (e.stderr?.toString() || e.message).trim().split('\n').pop() };
  }
}

function sizes(files) {
  const seen = new Map();
  for (const f of files) seen.set(f.url, f);
  let raw = 0;
  let gz = 0;
  const list = [];
  for (const url of seen.keys()) {
    const local = join(ROOT, url.slice(1));
    if (!existsSync(local)) continue;
    const bytes = readFileSync(local);
    const g = gzipSync(bytes, { level: 9 }).length;
    raw += bytes.length;
    gz += g;
    list.push({ url, raw: bytes.length, gz: g });
  }
  return { raw, gz, files: list };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  for (const need of ['pkg/wasm/shopfloor_bg.wasm', 'bench/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs']) {
    if (!existsSync(join(ROOT, need))) throw new Error(`${need} is missing: run \`make bench\` (it builds and installs what the benchmark needs)`);
  }
  const specs = MODELS.filter((m) => o.models.includes(m.id));
  for (const s of specs) if (!existsSync(join(ROOT, s.url.slice(1)))) throw new Error(`${s.url} is missing: run \`make test-data\``);
  mkdirSync(o.out, { recursive: true });

  const server = await serve({ extraRoots: ['bench'] });
  const report = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    options: o,
    models: specs.map(({ id, title, dims }) => ({ id, title, dims })),
    paths: {},
    bundle: {},
  };
  const log = (...a) => console.error('[bench]', ...a);
  try {
    for (const pathName of o.paths.filter((p) => p !== 'native')) {
      const webgpu = pathName === 'webgpu';
      const threads = pathName === 'cpu-mt' ? Math.max(2, cpus().length) : 1;
      const env = await withPage(webgpu, server, (page) => page.evaluate(() => import('/bench/harness.js').then((h) => h.environment())));
      if (pathName === 'cpu-mt' && !env.crossOriginIsolated) {
        report.paths[pathName] = { skipped: 'page not cross-origin isolated: no threads' };
        continue;
      }
      if (webgpu && !env.webgpuAdapter) {
        report.paths[pathName] = { skipped: 'no WebGPU adapter in this browser' };
        continue;
      }
      const entry = (report.paths[pathName] = { env, threads, models: {} });
      const files = { shopfloor: [], ort: [] };
      for (const spec of specs) {
        const m = (entry.models[spec.id] = {});
        const starts = { shopfloor: [], ort: [] };
        for (let round = 0; round < o.coldRounds; round++) {
          for (const runtime of round % 2 ? ['ort', 'shopfloor'] : ['shopfloor', 'ort']) {
            log(`${pathName} ${spec.id}: cold start ${round + 1}/${o.coldRounds}, ${runtime}`);
            try {
              const c = await cold(server, runtime, pathName, threads, spec);
              files[runtime].push(...c.files);
              delete c.files;
              starts[runtime].push(c);
            } catch (e) {
              starts[runtime].push({ error: e.message });
            }
          }
        }
        for (const runtime of ['shopfloor', 'ort']) m[`${runtime}Cold`] = medianCold(starts[runtime]);
      }
      log(`${pathName}: warm runs, A B A B${webgpu || !o.turn ? '' : ` in turns of 1 + ${o.turn}`}`);
      await withPage(webgpu, server, async (page) => {
        for (const spec of specs) {
          log(`${pathName} ${spec.id}: warm`);
          try {
            entry.models[spec.id].warm = await page.evaluate((a) => import('/bench/harness.js').then((h) => h.warm(a)), {
              path: webgpu ? 'webgpu' : 'cpu',
              threads,
              spec,
              // Software WebGPU adapters take seconds per run: the check run is their warm-up.
              warmupMs: webgpu ? 0 : o.warmupMs,
              minWarmup: webgpu ? 0 : 2,
              rounds: o.runs,
              minRounds: webgpu ? 1 : 5,
              budgetMs: o.budgetS * 1000,
              settleMs: o.settleMs ?? 0,
              turn: webgpu ? 0 : o.turn,
            });
          } catch (e) {
            entry.models[spec.id].warm = { error: e.message };
          }
        }
      });
      for (const runtime of ['shopfloor', 'ort']) if (files[runtime].length) report.bundle[`${runtime}:${pathName}`] = sizes(files[runtime]);
      if (o.dictation && existsSync(join(ROOT, DICTATION.manifest.slice(1)))) {
        if (webgpu && /swiftshader/i.test(env.webgpuAdapter)) entry.dictation = { skipped: 'SwiftShader: a minute per encoder window' };
        else {
          log(`${pathName}: dictation`);
          try {
            entry.dictation = await withPage(webgpu, server, (page) =>
              page.evaluate((a) => import('/bench/harness.js').then((h) => h.dictation(a)), { path: webgpu ? 'webgpu' : 'cpu', threads, ...DICTATION }),
            );
          } catch (e) {
            entry.dictation = { error: e.message };
          }
        }
      }
    }
    if (o.paths.includes('native')) {
      const native = (report.paths.native = { models: {} });
      const bin = join(ROOT, 'target/release/shopfloor');
      if (!existsSync(bin)) native.skipped = 'target/release/shopfloor not built';
      else {
        for (const spec of specs) {
          log(`native ${spec.id}`);
          native.models[spec.id] = {
            cpu: nativeBench(spec, 'cpu', o.runs, 3),
            webgpu: nativeBench(spec, 'webgpu', o.nativeGpuRuns, 0),
            ortCpu: nativeOrt(spec, o.runs),
          };
        }
        if (o.dictation) {
          log('native dictation: bench-transcribe --live');
          try {
            const out = execFileSync(bin, ['bench-transcribe', '--live'], { encoding: 'utf8', cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
            native.dictation = { lines: out.trim().split('\n').filter((l) => /all|real-time|live:/.test(l)) };
          } catch (e) {
            native.dictation = { error: (e.stderr?.toString() || e.message).trim().split('\n').pop() };
          }
        }
      }
    }
  } finally {
    await server.close();
  }
  // The raw figures first: a report that fails to render still leaves them.
  writeFileSync(join(o.out, 'results.json'), JSON.stringify(report, null, 1));
  const md = renderMarkdown(report);
  console.log(md);
  writeFileSync(join(o.out, 'results.md'), md);
  writeFileSync(join(o.out, 'chart.svg'), renderChart(report));
  log(`wrote ${join(o.out, 'results.json')}, results.md and chart.svg (${statSync(join(o.out, 'chart.svg')).size} B)`);
}

main().catch((e) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
