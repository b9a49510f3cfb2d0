import { call, defined } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { Handle } from '../handle.js';
import { instance } from '../runtime-impl.js';
import type { WasmLinearSvm } from '../wasm/shopfloor.js';
import type { Embedder } from './embedder.js';
import type { FrameSource } from './frames.js';
import type { SvmPrediction, SvmTrainReport } from './result.js';

/** Options of `LinearSvm.create` (here rather than in options.ts: they name `Embedder`, which takes `PipelineOptions`). */
export interface SvmOptions {
  /** With an embedder, examples and predictions take frames. */
  embedder?: Embedder;
  /** Feature size when there is no embedder. */
  dim?: number;
  /** Inverse regularisation (default 1). */
  c?: number;
  tolerance?: number;
  maxIterations?: number;
}

const asFeatures = (x: unknown): x is Float32Array | number[] => x instanceof Float32Array || Array.isArray(x);

/**
 * A one-vs-rest linear SVM (squared hinge, L2; scikit-learn `LinearSVC`'s defaults) trained in
 * wasm by dual coordinate descent. It keeps its examples, so `toJSON()` can be stored (e.g. in
 * IndexedDB) and training resumed after `fromJSON`. With an embedder it takes frames directly.
 */
export class LinearSvm extends Handle {
  readonly #embedder: Embedder | undefined;

  private constructor(inner: WasmLinearSvm, embedder: Embedder | undefined) {
    super(inner);
    this.#embedder = embedder;
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmLinearSvm {
    return this._inner as WasmLinearSvm;
  }

  static async create({ embedder, dim, c, tolerance, maxIterations }: SvmOptions = {}): Promise<LinearSvm> {
    const glue = await instance();
    const size = dim ?? embedder?.size;
    if (!Number.isInteger(size) || (size as number) < 1) throw new ShopfloorError('INVALID_ARGUMENT', 'LinearSvm.create needs an `embedder` or a feature size `dim`');
    const opts = defined({ c, tolerance, maxIterations });
    return new LinearSvm(call(() => new glue.WasmLinearSvm(size as number, opts)), embedder);
  }

  static async fromJSON(json: string | object, { embedder }: { embedder?: Embedder } = {}): Promise<LinearSvm> {
    const glue = await instance();
    const text = typeof json === 'string' ? json : JSON.stringify(json);
    return new LinearSvm(call(() => glue.WasmLinearSvm.fromJson(text)), embedder);
  }

  async #features(x: FrameSource | Float32Array | number[]): Promise<Float32Array> {
    if (asFeatures(x)) return x instanceof Float32Array ? x : Float32Array.from(x);
    if (!this.#embedder) throw new ShopfloorError('INVALID_ARGUMENT', 'this LinearSvm has no embedder: pass features (Float32Array) or create it with { embedder }');
    return this.#embedder.embed(x);
  }

  async addExample(source: FrameSource | Float32Array | number[], label: string): Promise<void> {
    if (typeof label !== 'string') throw new ShopfloorError('INVALID_ARGUMENT', 'addExample(source, label): label must be a string');
    const f = await this.#features(source);
    call(() => this.#inner.addExample(f, label));
  }

  /** Trains on every example so far; needs at least 2 classes. */
  train(): SvmTrainReport {
    return call(() => this.#inner.train() as SvmTrainReport);
  }

  async predict(source: FrameSource | Float32Array | number[]): Promise<SvmPrediction> {
    const f = await this.#features(source);
    return call(() => this.#inner.predict(f) as SvmPrediction);
  }

  get classes(): string[] {
    return call(() => this.#inner.classes() as string[]);
  }

  /** Examples per class: `{ [label]: count }`. */
  get counts(): Record<string, number> {
    const names = this.classes;
    const counts = call(() => this.#inner.counts()) as ArrayLike<number>;
    return Object.fromEntries(names.map((n, i) => [n, counts[i]]));
  }

  get trained(): boolean {
    return call(() => this.#inner.isTrained());
  }

  toJSON(): object {
    return JSON.parse(call(() => this.#inner.toJson())) as object;
  }

  protected override _freedMessage(): string {
    return 'this LinearSvm was freed';
  }
}
