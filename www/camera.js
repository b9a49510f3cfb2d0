// The camera panel: live classification, faces, text reading and teach mode over the webcam.
// Frames go from the <video> to wasm in this tab; nothing is uploaded.
import { blurFaces, Embedder, FaceDetector, ImageClassifier, LinearSvm, TextReader } from '../pkg/index.js';

const $ = (id) => document.getElementById(id);
const MODELS = {
  classify: '/models/cache/efficientnet/manifest.json',
  faces: '/models/cache/blazeface/manifest.json',
  text: '/models/cache/ppocr/manifest.json',
};
const pipelines = new Map();
let running = false;
let svm = null;

async function pipeline(kind, backend, frame) {
  const worker = $('worker').checked;
  // On WebGPU the text detector takes one input size: the camera's longer side.
  const fixedSide = kind === 'text' && backend === 'webgpu' ? Math.max(frame.width, frame.height, 32) : undefined;
  const key = `${kind}:${backend}:${worker}:${fixedSide}`;
  if (!pipelines.has(key)) {
    const make = { classify: ImageClassifier, faces: FaceDetector, text: TextReader }[kind];
    pipelines.set(key, make.create({ model: MODELS[kind], backend, worker, fixedSide }));
  }
  try {
    return await pipelines.get(key);
  } catch (e) {
    pipelines.delete(key);
    throw e;
  }
}

async function backendOf(p) {
  // In a worker every call, info() included, answers with a promise.
  const info = await p.info();
  const first = Array.isArray(info) ? info[0] : info;
  return `${first.backend} (${first.backendReason})`;
}

const ms = (v) => `${v.toFixed(1)} ms`;

function drawBox(ctx, box, label, colour = '#2ee66b') {
  ctx.strokeStyle = colour;
  ctx.lineWidth = Math.max(2, ctx.canvas.width / 300);
  ctx.strokeRect(box.x, box.y, box.width, box.height);
  if (label) {
    ctx.font = `${Math.max(12, ctx.canvas.width / 40)}px system-ui`;
    ctx.fillStyle = colour;
    ctx.fillText(label, box.x, Math.max(12, box.y - 4));
  }
}

function list(items) {
  $('results').replaceChildren(
    ...items.map((t) => {
      const li = document.createElement('li');
      li.textContent = t;
      return li;
    }),
  );
}

async function step(video, ctx, mode, backend) {
  const t0 = performance.now();
  // One copy of the frame: every pipeline call below reads this bitmap.
  const frame = await createImageBitmap(video);
  const t1 = performance.now();
  ctx.canvas.width = frame.width;
  ctx.canvas.height = frame.height;
  ctx.clearRect(0, 0, frame.width, frame.height);
  let p;
  try {
    if (mode === 'classify') {
      p = await pipeline('classify', backend);
      if ($('saliency').checked) {
        const e = await p.explain(frame);
        ctx.putImageData(e.heatmap, 0, 0);
        list([`${e.label} ${(e.score * 100).toFixed(1)}% (heatmap: where the evidence for it lies)`]);
      } else {
        const top = await p.classify(frame, { topK: 5 });
        list(top.map((c) => `${c.label} ${(c.score * 100).toFixed(1)}%`));
      }
    } else if (mode === 'faces') {
      p = await pipeline('faces', backend);
      const faces = $('blur').checked ? await blurFaces(frame, ctx.canvas, { detector: p }) : await p.detect(frame);
      for (const f of faces) drawBox(ctx, f.box, `${(f.score * 100).toFixed(0)}%`);
      list(faces.map((f) => `face ${(f.score * 100).toFixed(0)}% at x=${f.box.x.toFixed(0)} y=${f.box.y.toFixed(0)} ${f.box.width.toFixed(0)}×${f.box.height.toFixed(0)}`));
    } else if (mode === 'text') {
      p = await pipeline('text', backend, frame);
      const lines = await p.read(frame);
      for (const l of lines) {
        ctx.strokeStyle = '#ffd23f';
        ctx.beginPath();
        l.box.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        ctx.closePath();
        ctx.stroke();
      }
      list(lines.map((l) => `${l.text}  (${(l.confidence * 100).toFixed(0)}%)`));
    } else if (mode === 'teach') {
      p = await pipeline('classify', backend);
      if (svm?.trained) {
        const r = await svm.predict(frame);
        list([`${r.label} (margin ${r.decision.toFixed(2)})`, ...r.scores.slice(1).map((s) => `${s.label} ${s.decision.toFixed(2)}`)]);
      } else {
        list(['Not trained yet: add examples of at least two classes, then Train.']);
      }
      lastFrame?.close();
      lastFrame = await createImageBitmap(frame);
      for (const arrived of frameWaiters.splice(0)) arrived();
    }
  } finally {
    frame.close();
  }
  const t2 = performance.now();
  $('stat-backend').textContent = `${await backendOf(p)}${p.worker ? ' · in a Web Worker' : ''}`;
  $('stat-read').textContent = ms(t1 - t0);
  $('stat-infer').textContent = ms(t2 - t1);
  return t2 - t0;
}

let lastFrame = null;
// Clicks on "Add example" before teach mode has kept its first frame wait for it (the model
// may still be loading) instead of doing nothing.
const frameWaiters = [];

// Long tasks (> 50 ms) on this thread in the last 10 s: what makes a page stutter. With the
// models in a worker only the frame copy is left here.
const longTasks = [];
if (PerformanceObserver.supportedEntryTypes?.includes('longtask')) {
  new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => ({ end: e.startTime + e.duration, ms: e.duration })))).observe({ type: 'longtask' });
}
function mainThreadStat() {
  const since = performance.now() - 10_000;
  while (longTasks.length && longTasks[0].end < since) longTasks.shift();
  const blocked = longTasks.reduce((a, t) => a + t.ms, 0);
  $('camera').dataset.blockedMs = blocked.toFixed(0);
  return `${longTasks.length} long tasks, ${blocked.toFixed(0)} ms blocked in the last 10 s`;
}

async function loop(video) {
  const ctx = $('overlay').getContext('2d');
  let fps = 0;
  while (running) {
    const t0 = performance.now();
    try {
      const mode = $('mode').value;
      await step(video, ctx, mode, $('backend').value);
      $('camera').dataset.ready = 'true';
      // For tests and portal scripts: which mode the last finished frame ran.
      $('camera').dataset.lastMode = mode;
      $('camera-status').textContent = 'Running: frames are processed in this tab and never uploaded.';
    } catch (e) {
      console.error(e);
      $('camera-status').textContent = `${e.message}${e.code ? ` (${e.code})` : ''}`;
      await new Promise((r) => setTimeout(r, 500));
    }
    const dt = performance.now() - t0;
    fps = fps ? 0.8 * fps + 0.2 * (1000 / dt) : 1000 / dt;
    $('stat-fps').textContent = fps.toFixed(1);
    $('stat-main').textContent = mainThreadStat();
    await new Promise((r) => requestAnimationFrame(r));
  }
}

async function start() {
  if (running) {
    running = false;
    const v = $('video');
    v.srcObject?.getTracks().forEach((t) => t.stop());
    v.srcObject = null;
    $('start').textContent = 'Start camera';
    $('camera').dataset.running = 'false';
    return;
  }
  $('camera-status').textContent = 'Asking for the camera…';
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  const v = $('video');
  v.srcObject = stream;
  await v.play();
  if (v.readyState < 2) await new Promise((r) => v.addEventListener('loadeddata', r, { once: true }));
  running = true;
  $('start').textContent = 'Stop camera';
  $('camera').dataset.running = 'true';
  $('camera-status').textContent = 'Loading the model…';
  loop(v);
}

// ── Teach mode: examples and the trained head persist in IndexedDB ──

const DB = 'shopfloor-demo';
function idb(mode, fn) {
  return new Promise((ok, fail) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('svm');
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('svm', mode);
      const req = fn(tx.objectStore('svm'));
      tx.oncomplete = () => ok(req?.result);
      tx.onerror = () => fail(tx.error);
    };
  });
}

async function embedder() {
  return new Embedder(await pipeline('classify', $('backend').value));
}

// One head however many callers ask at once (the page restoring it and a click on "Add
// example" raced: the later one replaced the head holding the new example).
let svmLoading = null;
function ensureSvm() {
  if (svm) return Promise.resolve(svm);
  svmLoading ??= (async () => {
    const e = await embedder();
    const saved = await idb('readonly', (s) => s.get('head'));
    svm = saved ? await LinearSvm.fromJSON(saved, { embedder: e }) : await LinearSvm.create({ embedder: e });
    return svm;
  })().finally(() => {
    svmLoading = null;
  });
  return svmLoading;
}

function classRow(name = '') {
  const div = document.createElement('div');
  const input = Object.assign(document.createElement('input'), { value: name, placeholder: 'class name' });
  const add = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Add example' });
  const count = document.createElement('span');
  count.className = 'count';
  add.addEventListener('click', async () => {
    if (!input.value.trim()) {
      $('teach-status').textContent = 'Name the class first.';
      return;
    }
    try {
      if (!lastFrame) {
        $('teach-status').textContent = 'Waiting for the first camera frame…';
        await new Promise((arrived) => frameWaiters.push(arrived));
        $('teach-status').textContent = '';
      }
      const frame = await createImageBitmap(lastFrame); // before any await: the loop replaces lastFrame
      const s = await ensureSvm();
      // The live prediction shares the classifier: wait for its turn (however slow this machine
      // is at one frame) instead of failing.
      for (const until = performance.now() + 30_000; ; ) {
        try {
          await s.addExample(frame, input.value.trim());
          break;
        } catch (e) {
          if (e.code !== 'BUSY' || performance.now() > until) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      frame.close();
      await idb('readwrite', (st) => st.put(s.toJSON(), 'head'));
      refreshCounts();
    } catch (e) {
      $('teach-status').textContent = `${e.message}${e.code ? ` (${e.code})` : ''}`;
    }
  });
  div.append(input, add, count);
  $('teach-classes').append(div);
}

function refreshCounts() {
  const counts = svm?.counts ?? {};
  for (const div of $('teach-classes').children) {
    const name = div.querySelector('input').value.trim();
    div.querySelector('.count').textContent = ` ${counts[name] ?? 0} examples`;
  }
}

export async function setupCamera() {
  $('start').addEventListener('click', () =>
    start().catch((e) => {
      $('camera-status').textContent = `Camera unavailable: ${e.message}`;
    }),
  );
  $('mode').addEventListener('change', () => {
    $('teach').hidden = $('mode').value !== 'teach';
  });
  $('teach-add').addEventListener('click', () => $('teach-classes').children.length < 5 && classRow());
  $('teach-train').addEventListener('click', async () => {
    try {
      const s = await ensureSvm();
      const t0 = performance.now();
      const r = s.train();
      await idb('readwrite', (st) => st.put(s.toJSON(), 'head'));
      $('teach-status').textContent = `Trained on ${r.examples} examples of ${r.classes} classes in ${(performance.now() - t0).toFixed(0)} ms.`;
    } catch (e) {
      $('teach-status').textContent = `${e.message}${e.code ? ` (${e.code})` : ''}`;
    }
  });
  $('teach-clear').addEventListener('click', async () => {
    await idb('readwrite', (st) => st.delete('head'));
    svm?.free();
    svm = null;
    refreshCounts();
    $('teach-status').textContent = 'Forgotten.';
  });
  const saved = await idb('readonly', (s) => s.get('head')).catch(() => null);
  const names = [...(saved?.classes ?? [])];
  while (names.length < 2) names.push('');
  for (const n of names) classRow(n);
  if (saved) {
    await ensureSvm().catch(() => null);
    refreshCounts();
  }
}
