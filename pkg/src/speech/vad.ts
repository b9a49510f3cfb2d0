import { call, callAsync, defined } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { Handle } from '../handle.js';
import { speechOptions } from '../manifest.js';
import type { ModelInfo } from '../model/model.js';
import { readSource } from '../model/source.js';
import { createRemote } from '../remote/remote-impl.js';
import type { InWorker, Remote } from '../remote/remote.js';
import { instanceWith, stopWarmUp } from '../runtime-impl.js';
import type { WasmVad } from '../wasm/shopfloor.js';
import type { VadCreateOptions } from './options.js';
import type { VadEvent } from './result.js';
import { checkSamples } from './samples.js';

/** Silero VAD on a stream: a probability per 32 ms window and speech segments. */
export class Vad extends Handle {
  private constructor(inner: WasmVad) {
    super(inner);
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmVad {
    return this._inner as WasmVad;
  }

  static create(options: VadCreateOptions & InWorker): Promise<Remote<Vad>>;
  static create(options: VadCreateOptions): Promise<Vad>;
  static async create(options: VadCreateOptions): Promise<Vad | Remote<Vad>> {
    if (!options || typeof options !== 'object') throw new ShopfloorError('INVALID_ARGUMENT', 'Vad.create takes { model, sha256?, backend?, threshold?, worker?, ... }');
    if (options.worker) return createRemote('Vad', options) as unknown as Promise<Remote<Vad>>;
    const url = new URL(options.model, globalThis.location?.href).href;
    const [glue, bytes] = await instanceWith(readSource(url, options));
    const { threshold, negThreshold, minSpeechSeconds, minSilenceSeconds } = options;
    const vad = defined({ threshold, negThreshold, minSpeechSeconds, minSilenceSeconds });
    stopWarmUp();
    const inner = await callAsync(() => glue.WasmVad.create(bytes, options.sha256, speechOptions(options), vad), 'Vad.create');
    return new Vad(inner);
  }

  /** Resolves to `{ probabilities: [[time, p], ...], events: [...] }`. Calls queue. */
  feed(samples: Float32Array, sampleRate: number): Promise<{ probabilities: [number, number][]; events: VadEvent[] }> {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this.#inner.feed(samples, sampleRate) as Promise<{ probabilities: [number, number][]; events: VadEvent[] }>, 'feed()'));
  }

  reset(): Promise<void> {
    return this._serial(() => call(() => this.#inner.reset()));
  }

  info(): ModelInfo {
    return call(() => this.#inner.info() as ModelInfo);
  }
}
