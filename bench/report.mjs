// Turns bench/run.mjs's results into the Markdown table and the SVG chart.

// Above this, the two runtimes disagree and the timing does not count.
export const MAX_REL_DIFF = 1e-3;

const ms = (x) => (x == null ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mib = (b) => (b == null ? '–' : `${(b / 2 ** 20).toFixed(1)} MiB`);
const ratio = (a, b) => (a && b ? a / b : null);
const fmtRatio = (r) => (r == null ? '–' : `**${r.toFixed(2)}×**`);

const PATH_TITLES = {
  cpu: 'CPU: shopfloor wasm (1 thread) vs onnxruntime-web `wasm`, numThreads 1',
  'cpu-mt': 'CPU, threaded: shopfloor threaded wasm vs onnxruntime-web `wasm`, the same number of threads',
  webgpu: 'WebGPU: shopfloor `webgpu` vs onnxruntime-web `webgpu`',
};

const PATH_SHORT = { cpu: 'CPU, 1 thread', 'cpu-mt': 'CPU, threaded', webgpu: 'WebGPU' };

/**
 * One runtime's cold starts of one model (`bench/run.mjs --cold-rounds`): the start whose first
 * inference is the median (the lower middle one of an even count), with every successful start's
 * time in `firstMsAll` (sorted) and `failedStarts` when some failed; the first error when all did.
 */
export function medianCold(starts) {
  const ok = starts.filter((c) => !c.error && Number.isFinite(c.firstMs)).sort((a, b) => a.firstMs - b.firstMs);
  if (!ok.length) return starts.find((c) => c.error) ?? { error: 'no cold start' };
  const failed = starts.length - ok.length;
  return { ...ok[(ok.length - 1) >> 1], firstMsAll: ok.map((c) => c.firstMs), ...(failed ? { failedStarts: failed } : {}) };
}

export function ratios(report) {
  const out = [];
  for (const [path, entry] of Object.entries(report.paths)) {
    if (path === 'native' || !entry.models) continue;
    for (const m of report.models) {
      const w = entry.models[m.id]?.warm;
      if (!w || w.error) continue;
      out.push({ path, model: m.title, ratio: w.shopfloor.median / w.ort.median, valid: w.maxRelDiff <= MAX_REL_DIFF });
    }
  }
  return out;
}

export function renderMarkdown(report) {
  const L = [];
  const anyEnv = Object.values(report.paths).find((p) => p.env)?.env;
  const version = (p) => Object.values(report.paths[p]?.models ?? {}).find((m) => m.ortCold?.version)?.ortCold.version;
  L.push(`## shopfloor vs onnxruntime-web ${version('cpu') ?? version('webgpu') ?? ''}`.trimEnd());
  L.push('');
  L.push(`${report.date.slice(0, 10)} · ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGiB} GiB` +
    (anyEnv ? ` · ${anyEnv.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? anyEnv.userAgent}` : ''));
  L.push('');
  L.push('Latency is `run()` including input upload and output readback, median / p90 over alternated A B turns ' +
    '(on the CPU paths one untimed run, then the timed ones, so each follows a run of its own runtime; `--turn 0`: single runs) ' +
    `after warm-up; ratio = shopfloor / onnxruntime-web (below 1 is faster). A timing whose outputs differ by more than ${MAX_REL_DIFF} ` +
    '(max |a−b| / max |b|) does not count. First inference = import + wasm init + model fetch + load + first run, fresh profile, ' +
    'the median of `--cold-rounds` cold starts per side, the sides in turns ' +
    '(each runtime used as its documented API has it: shopfloor\'s `init()` and `Model.load(url)` called at once, so the model downloads ' +
    'while the module compiles; onnxruntime-web\'s model fetched, then `InferenceSession.create`, which loads its wasm). ' +
    'Peak wasm memory = all wasm memories of the page after 3 runs (GPU buffers not included).');
  for (const [path, entry] of Object.entries(report.paths)) {
    if (path === 'native') continue;
    L.push('');
    L.push(`### ${PATH_TITLES[path] ?? path}${entry.threads > 1 ? ` (${entry.threads} threads)` : ''}`);
    L.push('');
    if (entry.skipped) {
      L.push(`skipped: ${entry.skipped}`);
      continue;
    }
    if (path === 'webgpu') L.push(`Adapter: ${entry.env.webgpuAdapter}.`, '');
    L.push('| model | shopfloor ms | onnxruntime-web ms | ratio | rounds | max rel. diff | first inference (ours / peer) | peak wasm memory (ours / peer) |');
    L.push('|---|---|---|---|---|---|---|---|');
    for (const m of report.models) {
      const e = entry.models[m.id] ?? {};
      const w = e.warm;
      const oc = e.shopfloorCold ?? report.paths.cpu?.models?.[m.id]?.shopfloorCold;
      const pc = e.ortCold;
      const cold = `${oc?.error ? 'error' : ms(oc?.firstMs)} / ${pc?.error ? 'error' : ms(pc?.firstMs)}`;
      const mem = `${mib(oc?.peakWasmBytes)} / ${mib(pc?.peakWasmBytes)}`;
      if (!w || w.error) {
        L.push(`| ${m.title} | ${w?.error ? `error: ${w.error.slice(0, 140)}` : '–'} | | | | | ${cold} | ${mem} |`);
        continue;
      }
      const bad = !(w.maxRelDiff <= MAX_REL_DIFF);
      L.push(`| ${m.title} | ${ms(w.shopfloor.median)} / ${ms(w.shopfloor.p90)} | ${ms(w.ort.median)} / ${ms(w.ort.p90)} | ` +
        `${bad ? '(outputs differ)' : fmtRatio(ratio(w.shopfloor.median, w.ort.median))} | ${w.shopfloor.runs} | ${w.maxRelDiff.toExponential(1)} | ${cold} | ${mem} |`);
    }
  }
  const mt = report.paths['cpu-mt'];
  if (mt?.models && report.paths.cpu?.models) {
    L.push('', `### shopfloor: ${mt.threads} threads vs 1 (median ms; speed-up = 1 thread / ${mt.threads} threads)`, '');
    // Each plan of the threaded build measures its runs in the pool and inline and keeps the faster
    // (src/backend/pool/mod.rs): where it was running at the end of the timed runs.
    L.push('| model | 1 thread | threaded | speed-up | threaded runs went to |', '|---|---|---|---|---|');
    for (const m of report.models) {
      const one = report.paths.cpu.models[m.id]?.warm?.shopfloor?.median;
      const w = mt.models[m.id]?.warm;
      const many = w?.shopfloor?.median;
      L.push(`| ${m.title} | ${ms(one)} | ${ms(many)} | ${one && many ? `${(one / many).toFixed(2)}×` : '–'} | ${w?.oursPlacement ?? '–'} |`);
    }
  }
  const native = report.paths.native;
  if (native) {
    L.push('', '### Native, for reference: `shopfloor bench` vs onnxruntime (Python, CPU, 1 thread)', '');
    if (native.skipped) L.push(`skipped: ${native.skipped}`);
    else {
      L.push('| model | shopfloor CPU ms (median / p90) | onnxruntime CPU ms | ratio | shopfloor webgpu (native adapter) ms |');
      L.push('|---|---|---|---|---|');
      for (const m of report.models) {
        const n = native.models[m.id];
        if (!n) continue;
        const c = n.cpu;
        const r = n.ortCpu;
        const g = n.webgpu;
        L.push(`| ${m.title} | ${c.error ? `error: ${c.error}` : `${ms(c.median)} / ${ms(c.p90)}`} | ${r.error ? `error: ${r.error}` : ms(r.median)} | ` +
          `${c.error || r.error ? '–' : fmtRatio(c.median / r.median)} | ${g.error ? `error: ${g.error.slice(0, 100)}` : `${ms(g.median)} (${g.backend})`} |`);
      }
    }
  }
  dictationSection(report, L);
  const b = report.bundle;
  if (Object.keys(b).length) {
    L.push('', '### What a page downloads before the model (JS + wasm)', '', '| runtime : path | files | raw | gzip -9 |', '|---|---|---|---|');
    for (const [k, v] of Object.entries(b)) {
      L.push(`| ${k} | ${v.files.map((f) => f.url.split('/').pop()).join(', ')} | ${mib(v.raw)} | ${mib(v.gz)} |`);
    }
  }
  L.push('', '### Targets', '');
  const rs = ratios(report);
  for (const [path, label] of [['cpu', 'CPU ≤ 1.0× onnxruntime-web wasm, 1 thread'], ['webgpu', 'WebGPU ≤ 1.0× onnxruntime-web webgpu']]) {
    const mine = rs.filter((r) => r.path === path);
    if (!mine.length) continue;
    const met = mine.filter((r) => r.valid && r.ratio <= 1).length;
    L.push(`- ${label}: met on ${met} of ${mine.length} models (${mine.map((r) => `${r.model} ${r.valid ? r.ratio.toFixed(2) + '×' : 'outputs differ'}`).join('; ')})`);
  }
  for (const [path, entry] of Object.entries(report.paths)) {
    const firsts = report.models
      .map((m) => ({ m, ours: entry.models?.[m.id]?.shopfloorCold?.firstMs, peer: entry.models?.[m.id]?.ortCold?.firstMs }))
      .filter((f) => f.ours > 0 && f.peer > 0);
    if (!firsts.length) continue;
    const met = firsts.filter((f) => f.ours <= 0.8 * f.peer).length;
    L.push(`- First inference ≤ 0.8× onnxruntime-web's, ${PATH_SHORT[path] ?? path}: met on ${met} of ${firsts.length} models (${firsts.map((f) => `${f.m.title} ${(f.ours / f.peer).toFixed(2)}×`).join('; ')})`);
  }
  const eff = report.paths.cpu?.models?.['efficientnet-lite0']?.shopfloorCold;
  if (eff?.firstMs) L.push(`- Time to first inference, EfficientNet-Lite0, CPU < 1 s: ${eff.firstMs < 1000 ? 'met' : 'not met'} (${ms(eff.firstMs)} ms)`);
  const mtDictation = report.paths['cpu-mt']?.dictation?.rows;
  if (mtDictation) {
    const delays = mtDictation.map((r) => r.delayMs).filter((d) => d != null);
    const worst = Math.max(...delays);
    L.push(`- Dictation, threaded, text ≤ 1.5 s after the end of a 5-s utterance: ${delays.length === mtDictation.length && worst <= 1500 ? 'met' : 'not met'} (${delays.map((d) => ms(d)).join(', ')} ms)`);
  }
  const ours = b['shopfloor:cpu'] ?? b['shopfloor:webgpu'];
  if (ours) {
    const wasm = ours.files.filter((f) => f.url.endsWith('.wasm')).reduce((s, f) => s + f.gz, 0);
    L.push(`- wasm < 2 MB gzipped: ${wasm < 2e6 ? 'met' : 'not met'} (${(wasm / 1e6).toFixed(2)} MB)`);
  }
  return L.join('\n');
}

/** Dictation: per path, each recording whole (real-time factor) and live (delay to its text). */
function dictationSection(report, L) {
  const paths = Object.entries(report.paths).filter(([p, e]) => p !== 'native' && e.dictation);
  if (!paths.length && !report.paths.native?.dictation) return;
  L.push('', '### Dictation (Whisper tiny.en): whole recordings and live', '');
  L.push('Whole: `transcribe()` of the recording, warm. Live: fed in 0.1-s chunks in real time, then silence; delay = the first segment\'s arrival − the end of speech (the VAD\'s), which includes the 0.25 s of quiet the early transcription waits for.', '');
  L.push('| path | recording | seconds | whole ms (real-time factor) | live: text after end of speech, ms | its transcription ms | text |', '|---|---|---|---|---|---|---|');
  for (const [path, e] of paths) {
    const d = e.dictation;
    if (d.skipped || d.error) {
      L.push(`| ${path} | ${d.skipped ? `skipped: ${d.skipped}` : `error: ${d.error.slice(0, 140)}`} | | | | | |`);
      continue;
    }
    const label = `${path} (${d.threads} thread${d.threads > 1 ? 's' : ''}; encoder ${d.encoder}, decoder ${d.decoder}; load ${ms(d.loadMs)} ms)`;
    for (const r of d.rows) {
      L.push(`| ${label} | ${r.url.split('/').pop()} | ${r.seconds.toFixed(2)} | ${ms(r.wholeMs)} (${(r.wholeMs / 1000 / r.seconds).toFixed(2)}) | ${ms(r.delayMs)} | ${ms(r.decodeMs)} | ${r.text} |`);
    }
  }
  const n = report.paths.native?.dictation;
  if (n) L.push('', 'Native, the whole dictation set (`shopfloor bench-transcribe --live`):', '', ...(n.error ? [`error: ${n.error}`] : n.lines.map((l) => `    ${l}`)));
}

/** Horizontal bars of shopfloor / onnxruntime-web per model and path, log scale, 1× marked. */
export function renderChart(report) {
  const rs = ratios(report);
  const W = 760;
  const rowH = 22;
  const left = 300;
  const top = 40;
  const H = top + rs.length * rowH + 40;
  const lo = Math.log2(0.125);
  const hi = Math.log2(64);
  const x = (r) => left + ((Math.log2(Math.min(64, Math.max(0.125, r))) - lo) / (hi - lo)) * (W - left - 20);
  const colors = { cpu: '#2f6fb0', 'cpu-mt': '#7a9cc6', webgpu: '#c0622d' };
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14">shopfloor / onnxruntime-web median latency (log scale; left of 1× is faster) · ${esc(report.date.slice(0, 10))}</text>`,
  ];
  for (const t of [0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]) {
    parts.push(`<line x1="${x(t)}" y1="${top - 5}" x2="${x(t)}" y2="${H - 30}" stroke="${t === 1 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${x(t)}" y="${H - 15}" text-anchor="middle">${t}×</text>`);
  }
  rs.forEach((r, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(`${r.model} · ${r.path}`)}</text>`);
    const x0 = x(1);
    const x1 = x(r.ratio);
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 3}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 6}" fill="${r.valid ? colors[r.path] ?? '#888' : '#bbb'}"/>`);
    parts.push(`<text x="${x1 + (x1 >= x0 ? 4 : -4)}" y="${y + 14}" text-anchor="${x1 >= x0 ? 'start' : 'end'}">${r.ratio.toFixed(2)}×${r.valid ? '' : ' (outputs differ)'}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
