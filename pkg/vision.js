// Vision pipelines: ImageClassifier, FaceDetector, ObjectDetector, TextReader, Embedder,
// LinearSvm, blurFaces. Frames are read on this device into RGBA and handed to wasm; nothing is
// sent anywhere. Documented in index.d.ts.
import { call, callAsync, init, ShopfloorError } from './core.js';
import { readSource } from './model.js';

const finalizer = new FinalizationRegistry((inner) => {
  try {
    inner.free();
  } catch {
    // already freed
  }
});

let scratch;
function scratchContext(width, height) {
  if (!scratch) {
    scratch =
      typeof OffscreenCanvas !== 'undefined'
        ? new OffscreenCanvas(width, height)
        : Object.assign(document.createElement('canvas'), { width, height });
  }
  if (scratch.width !== width) scratch.width = width;
  if (scratch.height !== height) scratch.height = height;
  return scratch.getContext('2d', { willReadFrequently: true });
}

const is = (v, name) => typeof globalThis[name] !== 'undefined' && v instanceof globalThis[name];

/**
 * Any frame source → `ImageData` (RGBA). Throws SOURCE_NOT_READY for a video without a frame yet
 * or an image still loading, TAINTED_SOURCE for cross-origin pixels the page may not read, and
 * INVALID_ARGUMENT for anything else that is not a frame.
 */
export function readFrame(source) {
  if (is(source, 'ImageData')) return source;
  let width;
  let height;
  if (is(source, 'HTMLVideoElement')) {
    if (source.readyState < 2 || !source.videoWidth) {
      throw new ShopfloorError('SOURCE_NOT_READY', 'the video has no frame yet (not playing or still loading): wait for its `loadeddata` event');
    }
    [width, height] = [source.videoWidth, source.videoHeight];
  } else if (is(source, 'HTMLImageElement')) {
    if (!source.complete || !source.naturalWidth) {
      throw new ShopfloorError('SOURCE_NOT_READY', 'the image has not loaded (or failed to): await `img.decode()` first');
    }
    [width, height] = [source.naturalWidth, source.naturalHeight];
  } else if (is(source, 'VideoFrame')) {
    if (!source.format && !source.displayWidth) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'the VideoFrame is closed: read it before calling close()');
    }
    [width, height] = [source.displayWidth, source.displayHeight];
  } else if (is(source, 'ImageBitmap') || is(source, 'HTMLCanvasElement') || is(source, 'OffscreenCanvas')) {
    if (is(source, 'HTMLCanvasElement')) {
      // An unknown context id is side-effect free: null normally, InvalidStateError on a canvas
      // whose control went to an OffscreenCanvas (it would draw as a blank placeholder).
      try {
        source.getContext('shopfloor-probe');
      } catch (cause) {
        throw new ShopfloorError('INVALID_ARGUMENT', 'the canvas was handed to transferControlToOffscreen(): read frames from its OffscreenCanvas instead', { cause });
      }
    }
    [width, height] = [source.width, source.height];
    if (!width || !height) {
      const what = is(source, 'ImageBitmap') ? 'the ImageBitmap is closed or empty' : 'the canvas has no pixels (0 × 0)';
      throw new ShopfloorError('INVALID_ARGUMENT', what);
    }
  } else {
    throw new ShopfloorError(
      'INVALID_ARGUMENT',
      'a frame must be an HTMLVideoElement, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, ImageBitmap, ImageData or VideoFrame',
    );
  }
  let ctx;
  try {
    ctx = scratchContext(width, height);
    ctx.drawImage(source, 0, 0, width, height);
  } catch (cause) {
    if (cause?.name === 'InvalidStateError') {
      throw new ShopfloorError('INVALID_ARGUMENT', `the source cannot be drawn (${cause.message}): a canvas handed to transferControlToOffscreen() or a closed bitmap has no pixels here`, { cause });
    }
    throw new ShopfloorError('INVALID_ARGUMENT', `the source cannot be drawn: ${cause?.message ?? cause}`, { cause });
  }
  try {
    return ctx.getImageData(0, 0, width, height);
  } catch (cause) {
    if (cause?.name === 'SecurityError') {
      throw new ShopfloorError(
        'TAINTED_SOURCE',
        'the frame comes from another origin without CORS, so the page may not read its pixels: serve it with Access-Control-Allow-Origin and set crossOrigin="anonymous" on the element',
        { cause },
      );
    }
    throw new ShopfloorError('INVALID_ARGUMENT', `the frame's pixels cannot be read: ${cause?.message ?? cause}`, { cause });
  }
}

function bytesOf(frame) {
  return new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
}

/** The manifest (from a URL or an object with `baseUrl`) and the bytes of every model it names. */
async function loadManifest(model, options) {
  let manifest;
  let base;
  if (typeof model === 'string' || model instanceof URL) {
    base = new URL(model, globalThis.location?.href);
    const text = new TextDecoder().decode(await readSource(base.href, { signal: options.signal }));
    try {
      manifest = JSON.parse(text);
    } catch (cause) {
      throw new ShopfloorError('INVALID_ARGUMENT', `${base.href} is not a JSON manifest: ${cause.message}`, { cause });
    }
  } else if (model && typeof model === 'object') {
    manifest = model;
    base = new URL(model.baseUrl ?? '.', globalThis.location?.href);
  } else {
    throw new ShopfloorError('INVALID_ARGUMENT', '`model` must be the URL of a manifest.json or a manifest object (with `baseUrl` for its files)');
  }
  const refs = manifest.models ? [manifest.models.detector, manifest.models.recognizer, manifest.models.orientation].filter(Boolean) : [manifest.model];
  if (refs.some((r) => !r || typeof r.file !== 'string')) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'the manifest names no model file (`model.file` or `models.*.file`)');
  }
  const files = await Promise.all(refs.map((r) => readSource(new URL(r.file, base).href, { ...options, sha256: r.sha256 })));
  return { json: JSON.stringify(manifest), files };
}

function wasmOptions({ backend = 'auto', maxTensorBytes, planCacheSize } = {}) {
  const o = { backend, maxTensorBytes, planCacheSize };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

class Pipeline {
  #inner;
  constructor(inner) {
    this.#inner = inner;
    finalizer.register(this, inner, this);
  }
  get _inner() {
    if (!this.#inner) throw new ShopfloorError('INVALID_ARGUMENT', `this ${this.constructor.name} was freed: create it again`);
    return this.#inner;
  }
  info() {
    return call(() => this._inner.info());
  }
  free() {
    if (!this.#inner) return;
    finalizer.unregister(this);
    const inner = this.#inner;
    this.#inner = null;
    inner.free();
  }
}

async function create(Kind, wasmName, options) {
  if (!options || typeof options !== 'object') {
    throw new ShopfloorError('INVALID_ARGUMENT', `${Kind.name}.create takes { model, backend? }`);
  }
  const glue = await init();
  const { json, files } = await loadManifest(options.model, options);
  const Wasm = glue[wasmName];
  const inner = await callAsync(() => (wasmName === 'WasmTextReader' ? Wasm.create(json, files, wasmOptions(options)) : Wasm.create(json, files[0], wasmOptions(options))));
  return new Kind(inner, JSON.parse(json));
}

export class ImageClassifier extends Pipeline {
  #labels;
  constructor(inner) {
    super(inner);
    this.#labels = Object.freeze(call(() => inner.labels()));
  }
  static create(options) {
    return create(ImageClassifier, 'WasmImageClassifier', options);
  }
  get labels() {
    return this.#labels;
  }
  async classify(source, { topK = 5 } = {}) {
    if (!Number.isInteger(topK) || topK < 1) throw new ShopfloorError('INVALID_ARGUMENT', 'topK must be a positive integer');
    const f = readFrame(source);
    return callAsync(() => this._inner.classify(f.width, f.height, bytesOf(f), topK));
  }
  /** The L2-normalised penultimate features (what an Embedder gives). */
  async embed(source) {
    const f = readFrame(source);
    return callAsync(() => this._inner.embed(f.width, f.height, bytesOf(f)));
  }
  async explain(source, classIndex) {
    if (classIndex !== undefined && !(Number.isInteger(classIndex) && classIndex >= 0)) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'classIndex must be a non-negative integer (or omitted for the top class)');
    }
    const f = readFrame(source);
    const r = await callAsync(() => this._inner.explain(f.width, f.height, bytesOf(f), classIndex));
    const heatmap = new ImageData(r.rgba, r.width, r.height);
    return { label: r.label, score: r.score, classIndex: r.classIndex, heatmap, heat: r.heat };
  }
}

export class FaceDetector extends Pipeline {
  static create(options) {
    return create(FaceDetector, 'WasmFaceDetector', options);
  }
  setThresholds({ score, iou } = {}) {
    call(() => this._inner.setThresholds(score, iou));
  }
  async detect(source) {
    const f = readFrame(source);
    return callAsync(() => this._inner.detect(f.width, f.height, bytesOf(f)));
  }
}

export class ObjectDetector extends Pipeline {
  static create(options) {
    return create(ObjectDetector, 'WasmObjectDetector', options);
  }
  async detect(source) {
    const f = readFrame(source);
    return callAsync(() => this._inner.detect(f.width, f.height, bytesOf(f)));
  }
}

export class TextReader extends Pipeline {
  static create(options) {
    return create(TextReader, 'WasmTextReader', options);
  }
  async read(source) {
    const f = readFrame(source);
    return callAsync(() => this._inner.read(f.width, f.height, bytesOf(f)));
  }
}

/** Frames → feature vectors for a trainable head: a classifier's penultimate layer. */
export class Embedder {
  #classifier;
  constructor(classifier) {
    if (!(classifier instanceof ImageClassifier)) throw new ShopfloorError('INVALID_ARGUMENT', 'new Embedder(classifier) takes an ImageClassifier');
    this.#classifier = classifier;
  }
  static async create(options) {
    return new Embedder(await ImageClassifier.create(options));
  }
  get size() {
    return call(() => this.#classifier._inner.embeddingSize());
  }
  embed(source) {
    return this.#classifier.embed(source);
  }
  free() {
    this.#classifier.free();
  }
}

const asFeatures = (x) => x instanceof Float32Array || Array.isArray(x);

/** A linear SVM head trained in the browser; with an embedder it takes frames directly. */
export class LinearSvm {
  #inner;
  #embedder;
  constructor(inner, embedder) {
    this.#inner = inner;
    this.#embedder = embedder;
    finalizer.register(this, inner, this);
  }
  static async create({ embedder, dim, c, tolerance, maxIterations } = {}) {
    const glue = await init();
    const size = dim ?? embedder?.size;
    if (!Number.isInteger(size) || size < 1) throw new ShopfloorError('INVALID_ARGUMENT', 'LinearSvm.create needs an `embedder` or a feature size `dim`');
    const opts = { c, tolerance, maxIterations };
    for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];
    return new LinearSvm(call(() => new glue.WasmLinearSvm(size, opts)), embedder);
  }
  static async fromJSON(json, { embedder } = {}) {
    const glue = await init();
    const text = typeof json === 'string' ? json : JSON.stringify(json);
    return new LinearSvm(call(() => glue.WasmLinearSvm.fromJson(text)), embedder);
  }
  async #features(x) {
    if (asFeatures(x)) return x instanceof Float32Array ? x : Float32Array.from(x);
    if (!this.#embedder) throw new ShopfloorError('INVALID_ARGUMENT', 'this LinearSvm has no embedder: pass features (Float32Array) or create it with { embedder }');
    return this.#embedder.embed(x);
  }
  async addExample(source, label) {
    if (typeof label !== 'string') throw new ShopfloorError('INVALID_ARGUMENT', 'addExample(source, label): label must be a string');
    const f = await this.#features(source);
    call(() => this.#live().addExample(f, label));
  }
  train() {
    return call(() => this.#live().train());
  }
  async predict(source) {
    const f = await this.#features(source);
    return call(() => this.#live().predict(f));
  }
  get classes() {
    return call(() => this.#live().classes());
  }
  /** Examples per class: `{ [label]: count }`. */
  get counts() {
    const names = this.classes;
    const counts = call(() => this.#live().counts());
    return Object.fromEntries(names.map((n, i) => [n, counts[i]]));
  }
  get trained() {
    return call(() => this.#live().isTrained());
  }
  toJSON() {
    return JSON.parse(call(() => this.#live().toJson()));
  }
  free() {
    if (!this.#inner) return;
    finalizer.unregister(this);
    const inner = this.#inner;
    this.#inner = null;
    inner.free();
  }
  #live() {
    if (!this.#inner) throw new ShopfloorError('INVALID_ARGUMENT', 'this LinearSvm was freed');
    return this.#inner;
  }
}

/**
 * Draws `source` on `canvas` with every face blurred, for portals that store or stream frames.
 * Resolves to the faces found.
 */
export async function blurFaces(source, canvas, { detector, radius, margin = 0.2 } = {}) {
  if (!(detector instanceof FaceDetector)) throw new ShopfloorError('INVALID_ARGUMENT', 'blurFaces needs { detector: await FaceDetector.create(...) }');
  const ctx = canvas?.getContext?.('2d');
  if (!ctx) throw new ShopfloorError('INVALID_ARGUMENT', 'blurFaces draws on a canvas (HTMLCanvasElement or OffscreenCanvas) with a 2d context');
  const frame = readFrame(source);
  const faces = await callAsync(() => detector._inner.detect(frame.width, frame.height, bytesOf(frame)));
  canvas.width = frame.width;
  canvas.height = frame.height;
  ctx.putImageData(frame, 0, 0);
  for (const { box } of faces) {
    const mx = box.width * margin;
    const my = box.height * margin;
    const [x, y, w, h] = [box.x - mx, box.y - my, box.width + 2 * mx, box.height + 2 * my];
    const r = radius ?? Math.max(8, Math.round(Math.max(w, h) / 6));
    ctx.save();
    ctx.beginPath();
    ctx.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, 2 * Math.PI);
    ctx.clip();
    ctx.filter = `blur(${r}px)`;
    // Drawn twice: one blur pass leaves faces recognisable at small radii.
    ctx.drawImage(canvas, 0, 0);
    ctx.drawImage(canvas, 0, 0);
    ctx.restore();
  }
  return faces;
}
