// bench/run.mjs's warm comparison (bench/harness.js) without node or playwright, for a machine
// that has only a headless Chromium and Python (scripts/device-browser.sh). The query names the
// path (webgpu, cpu or cpu-mt: one per page, since both runtimes keep the threads of their first
// initialisation), the models (bench/models.mjs ids), the threads of cpu-mt, the rounds and the
// CPU paths' turn (bench/run.mjs --turn); each result is POSTed to /report?name=PATH-MODEL
// (bench/device/server.py writes it), then /report?name=done.
import { environment, warm } from '../harness.js';
import { MODELS } from '../models.mjs';

const q = new URLSearchParams(location.search);
const list = (k, d) => (q.get(k) ?? d).split(',').filter(Boolean);
const post = (name, body) => fetch(`/report?name=${encodeURIComponent(name)}`, { method: 'POST', body: JSON.stringify(body) });

const env = await environment();
await post('environment', env);
const pathName = q.get('path') ?? 'webgpu';
const threads = pathName === 'cpu-mt' ? Number(q.get('threads') ?? navigator.hardwareConcurrency) : 1;
for (const id of list('models', 'ppocr-det')) {
  const spec = MODELS.find((m) => m.id === id);
  try {
    const r = await warm({
      path: pathName === 'webgpu' ? 'webgpu' : 'cpu',
      threads,
      spec,
      warmupMs: Number(q.get('warmupMs') ?? 1000),
      minWarmup: 3,
      rounds: Number(q.get('rounds') ?? 20),
      minRounds: 5,
      budgetMs: Number(q.get('budgetMs') ?? 15000),
      // As bench/run.mjs: CPU runs timed in turns after a run of their own runtime.
      turn: pathName === 'webgpu' ? 0 : Number(q.get('turn') ?? 3),
    });
    await post(`${pathName}-${id}`, { threads, ...r });
  } catch (e) {
    await post(`${pathName}-${id}`, { threads, error: String(e?.stack ?? e) });
  }
}
await post('done', {});
