import { call, callAsync } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { Handle } from '../handle.js';
import type { ModelInfo } from '../model/model.js';
import type { InWorker, Remote } from '../remote/remote.js';
import type { WasmImageClassifier } from '../wasm/shopfloor.js';
import { readFrame, type FrameSource } from './frames.js';
import type { PipelineOptions } from './options.js';
import { bytesOf, createVision } from './pipeline.js';
import type { Classification, Explanation } from './result.js';

/**
 * Image classification (EfficientNet-Lite0 on ImageNet by default in the demo). Pre-processing
 * (crop, resize, normalisation, layout) follows the manifest. Calls reject with `BUSY` while a
 * previous call on the same instance is pending.
 */
export class ImageClassifier extends Handle {
  readonly #labels: readonly string[];

  private constructor(inner: WasmImageClassifier) {
    super(inner);
    this.#labels = Object.freeze(call(() => inner.labels() as string[]));
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmImageClassifier {
    return this._inner as WasmImageClassifier;
  }

  static create(options: PipelineOptions & InWorker): Promise<Remote<ImageClassifier>>;
  static create(options: PipelineOptions): Promise<ImageClassifier>;
  static create(options: PipelineOptions): Promise<ImageClassifier | Remote<ImageClassifier>> {
    return createVision('WasmImageClassifier', options, (inner: WasmImageClassifier) => new ImageClassifier(inner));
  }

  get labels(): readonly string[] {
    return this.#labels;
  }

  /** Length of `embed`'s vectors (1280 for EfficientNet-Lite0). */
  get embeddingSize(): number {
    return call(() => this.#inner.embeddingSize() as number);
  }

  /** The `topK` (default 5) most likely classes, best first. */
  async classify(source: FrameSource, { topK = 5 }: { topK?: number } = {}): Promise<Classification[]> {
    if (!Number.isInteger(topK) || topK < 1) throw new ShopfloorError('INVALID_ARGUMENT', 'topK must be a positive integer');
    const f = readFrame(source);
    return callAsync(() => this.#inner.classify(f.width, f.height, bytesOf(f), topK) as Promise<Classification[]>, 'classify()');
  }

  /** The L2-normalised penultimate features (1280 for EfficientNet-Lite0; what an `Embedder` gives). */
  async embed(source: FrameSource): Promise<Float32Array> {
    const f = readFrame(source);
    return callAsync(() => this.#inner.embed(f.width, f.height, bytesOf(f)));
  }

  /** Where the evidence for `classIndex` (default: the top class) lies: a class activation map aligned to the source. */
  async explain(source: FrameSource, classIndex?: number): Promise<Explanation> {
    if (classIndex !== undefined && !(Number.isInteger(classIndex) && classIndex >= 0)) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'classIndex must be a non-negative integer (or omitted for the top class)');
    }
    const f = readFrame(source);
    const r = (await callAsync(() => this.#inner.explain(f.width, f.height, bytesOf(f), classIndex))) as Omit<Explanation, 'heatmap'> & { rgba: Uint8ClampedArray<ArrayBuffer>; width: number; height: number };
    const heatmap = new ImageData(r.rgba, r.width, r.height);
    return { label: r.label, score: r.score, classIndex: r.classIndex, heatmap, heat: r.heat };
  }

  /** The `Model.info()` of the pipeline's model. */
  info(): ModelInfo {
    return call(() => this.#inner.info() as ModelInfo);
  }
}
