import { call, callAsync } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { Handle } from '../handle.js';
import { loadManifest, speechOptions } from '../manifest.js';
import type { ModelInfo } from '../model/model.js';
import { createRemote } from '../remote/remote-impl.js';
import type { InWorker, Remote } from '../remote/remote.js';
import { instanceWith, stopWarmUp } from '../runtime-impl.js';
import type { WasmKeywordSpotter } from '../wasm/shopfloor.js';
import type { KeywordSpotterOptions } from './options.js';
import type { WordFrame } from './result.js';
import { checkSamples } from './samples.js';
import { voiceFiles } from './stream.js';

/** The lower level under `VoiceCommands`: audio → per-frame word posteriors. */
export class KeywordSpotter extends Handle {
  readonly #words: readonly string[];

  private constructor(inner: WasmKeywordSpotter, words: readonly string[]) {
    super(inner);
    this.#words = words;
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmKeywordSpotter {
    return this._inner as WasmKeywordSpotter;
  }

  static create(options: KeywordSpotterOptions & InWorker): Promise<Remote<KeywordSpotter>>;
  static create(options: KeywordSpotterOptions): Promise<KeywordSpotter>;
  static async create(options: KeywordSpotterOptions): Promise<KeywordSpotter | Remote<KeywordSpotter>> {
    if (!options || typeof options !== 'object') throw new ShopfloorError('INVALID_ARGUMENT', 'KeywordSpotter.create takes { model, backend?, worker? }');
    if (options.worker) return createRemote('KeywordSpotter', options) as unknown as Promise<Remote<KeywordSpotter>>;
    const [glue, { manifest, json, files }] = await instanceWith(loadManifest(options.model, options, 'voice-commands', voiceFiles));
    stopWarmUp();
    const inner = await callAsync(() => glue.WasmKeywordSpotter.create(json, files.slice(0, 3), speechOptions(options)), 'KeywordSpotter.create');
    return new KeywordSpotter(inner, Object.freeze([...(manifest.words as string[]), 'filler']));
  }

  /** Labels of `posteriors`: the vocabulary, then "filler". */
  get labels(): readonly string[] {
    return this.#words;
  }

  /** Resolves to one frame per 80 ms completed. Calls queue. */
  feed(samples: Float32Array, sampleRate: number): Promise<WordFrame[]> {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this.#inner.feed(samples, sampleRate) as Promise<WordFrame[]>, 'feed()'));
  }

  reset(): Promise<void> {
    return this._serial(() => call(() => this.#inner.reset()));
  }

  info(): ModelInfo[] {
    return call(() => this.#inner.info() as ModelInfo[]);
  }
}
