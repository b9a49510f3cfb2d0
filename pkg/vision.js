// Vision pipelines: ImageClassifier, FaceDetector, ObjectDetector, TextReader, Embedder,
// LinearSvm, blurFaces. Frames are read on this device into RGBA and handed to wasm; nothing is
// sent anywhere. Documented in index.d.ts.
import { call, callAsync, init, ShopfloorError } from './core.js';
import { finalizer, loadManifest } from './pipeline.js';
import { createRemote } from './remote.js';
import { readFrame } from './frames.js';

export { readFrame };

function bytesOf(frame) {
  return new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
}

/** The model files a vision manifest names, in the core's order (a text reader has several). */
function visionFiles(manifest) {
  const refs = manifest?.models ? [manifest.models.detector, manifest.models.recognizer, manifest.models.orientation].filter(Boolean) : [manifest?.model];
  if (refs.some((r) => !r || typeof r.file !== 'string')) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'the manifest names no model file (`model.file` or `models.*.file`)');
  }
  return refs;
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

/** Options only some pipelines take, and the pipeline that does. */
const OWN_OPTIONS = { fixedSide: 'TextReader' };

/**
 * `shape.allFiles`: the wasm side takes every file the manifest names (else the first);
 * `shape.options`: its own options, passed after the load options in this order.
 */
async function create(Kind, wasmName, options, shape = { allFiles: false, options: [] }) {
  const kind = wasmName.slice('Wasm'.length); // not Kind.name: minifiers rename classes
  if (!options || typeof options !== 'object') {
    throw new ShopfloorError('INVALID_ARGUMENT', `${kind}.create takes { model, backend?, worker? }`);
  }
  for (const [key, owner] of Object.entries(OWN_OPTIONS)) {
    if (options[key] !== undefined && !shape.options.includes(key)) throw new ShopfloorError('INVALID_ARGUMENT', `${key} is a ${owner} option, not one of ${kind}`);
  }
  if (options.worker) return createRemote(kind, options);
  const glue = await init();
  // The core checks the manifest's task and says which one it is for.
  const { json, files } = await loadManifest(options.model, options, undefined, visionFiles);
  const Wasm = glue[wasmName];
  const own = shape.options.map((key) => options[key]);
  const inner = await callAsync(() => Wasm.create(json, shape.allFiles ? files : files[0], wasmOptions(options), ...own), `${kind}.create`);
  return new Kind(inner);
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
  /** Length of `embed`'s vectors. */
  get embeddingSize() {
    return call(() => this._inner.embeddingSize());
  }
  async classify(source, { topK = 5 } = {}) {
    if (!Number.isInteger(topK) || topK < 1) throw new ShopfloorError('INVALID_ARGUMENT', 'topK must be a positive integer');
    const f = readFrame(source);
    return callAsync(() => this._inner.classify(f.width, f.height, bytesOf(f), topK), 'classify()');
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
    return callAsync(() => this._inner.detect(f.width, f.height, bytesOf(f)), 'detect()');
  }
}

export class ObjectDetector extends Pipeline {
  static create(options) {
    return create(ObjectDetector, 'WasmObjectDetector', options);
  }
  async detect(source) {
    const f = readFrame(source);
    return callAsync(() => this._inner.detect(f.width, f.height, bytesOf(f)), 'detect()');
  }
}

export class TextReader extends Pipeline {
  static create(options) {
    const side = options?.fixedSide;
    if (side !== undefined && !Number.isInteger(side)) throw new ShopfloorError('INVALID_ARGUMENT', `fixedSide must be a whole number of pixels (32..4096), got ${side}`);
    return create(TextReader, 'WasmTextReader', options, { allFiles: true, options: ['fixedSide'] });
  }
  async read(source) {
    const f = readFrame(source);
    return callAsync(() => this._inner.read(f.width, f.height, bytesOf(f)), 'read()');
  }
}

/** Frames → feature vectors for a trainable head: a classifier's penultimate layer. */
export class Embedder {
  #classifier;
  constructor(classifier) {
    const remote = classifier?.worker === true && classifier.kind === 'ImageClassifier';
    if (!(classifier instanceof ImageClassifier) && !remote) throw new ShopfloorError('INVALID_ARGUMENT', 'new Embedder(classifier) takes an ImageClassifier');
    this.#classifier = classifier;
  }
  static async create(options) {
    return new Embedder(await ImageClassifier.create(options));
  }
  get size() {
    return this.#classifier.embeddingSize;
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
  const remote = detector?.worker === true && detector.kind === 'FaceDetector';
  if (!(detector instanceof FaceDetector) && !remote) throw new ShopfloorError('INVALID_ARGUMENT', 'blurFaces needs { detector: await FaceDetector.create(...) }');
  const ctx = canvas?.getContext?.('2d');
  if (!ctx) throw new ShopfloorError('INVALID_ARGUMENT', 'blurFaces draws on a canvas (HTMLCanvasElement or OffscreenCanvas) with a 2d context');
  const frame = readFrame(source);
  const faces = remote ? await detector.detect(frame) : await callAsync(() => detector._inner.detect(frame.width, frame.height, bytesOf(frame)));
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
