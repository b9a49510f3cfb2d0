import { call } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { Handle } from '../handle.js';
import { createRemote } from '../remote/remote-impl.js';
import type { InWorker, Remote } from '../remote/remote.js';
import { instance } from '../runtime-impl.js';
import type { WasmAudioFeatures } from '../wasm/shopfloor.js';
import type { AudioFeatureOptions } from './options.js';
import type { AudioFeatureFrames } from './result.js';
import { checkChunk } from './samples.js';

// The Rust side ignores fields it does not know (serde-wasm-bindgen reads only its own), so a
// typo such as `nFFT` would silently fall back to the default: refuse it here.
const FEATURE_OPTIONS = ['kind', 'sampleRate', 'nFft', 'hopLength', 'winLength', 'center', 'power', 'nMels', 'fmin', 'fmax', 'htk', 'norm', 'amin', 'ref', 'topDb', 'nMfcc', 'lifter'];

/**
 * Log-mel spectrograms, mel spectrograms and MFCCs computed in wasm exactly as librosa 0.11
 * defines them (within 1e-4 of librosa's values; tested), for models trained on classic
 * features. Bad options reject with INVALID_ARGUMENT naming the option.
 */
export class AudioFeatures extends Handle {
  private constructor(inner: WasmAudioFeatures) {
    super(inner);
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmAudioFeatures {
    return this._inner as WasmAudioFeatures;
  }

  static create(options: AudioFeatureOptions & InWorker): Promise<Remote<AudioFeatures>>;
  static create(options: AudioFeatureOptions & { worker?: false }): Promise<AudioFeatures>;
  static async create(options: AudioFeatureOptions & { worker?: boolean }): Promise<AudioFeatures | Remote<AudioFeatures>> {
    if (!options || typeof options !== 'object') {
      throw new ShopfloorError('INVALID_ARGUMENT', "AudioFeatures.create takes { sampleRate, kind?, nFft?, hopLength?, nMels?, ... } (librosa's parameters)");
    }
    const unknown = Object.keys(options).filter((k) => !FEATURE_OPTIONS.includes(k) && k !== 'worker');
    if (unknown.length) {
      throw new ShopfloorError('INVALID_ARGUMENT', `unknown field \`${unknown[0]}\` in AudioFeatures options: use ${FEATURE_OPTIONS.join(', ')}`);
    }
    if (options.worker) return createRemote('AudioFeatures', options) as unknown as Promise<Remote<AudioFeatures>>;
    const glue = await instance();
    return new AudioFeatures(call(() => new glue.WasmAudioFeatures(options)));
  }

  /** The whole clip's features (including `topDb`, which clips against the clip's loudest value). */
  compute(samples: Float32Array): AudioFeatureFrames {
    checkChunk(samples);
    return call(() => this.#inner.compute(samples) as AudioFeatureFrames);
  }

  /**
   * Streaming: the frames these samples complete. The concatenated frames equal `compute` on the
   * whole stream; `topDb` must be null (INVALID_ARGUMENT otherwise).
   */
  push(samples: Float32Array): AudioFeatureFrames {
    checkChunk(samples);
    return call(() => this.#inner.push(samples) as AudioFeatureFrames);
  }

  /** Ends the stream (the last frames, from the centre padding); the next `push` starts a new one. */
  finish(): AudioFeatureFrames {
    return call(() => this.#inner.finish() as AudioFeatureFrames);
  }

  reset(): void {
    call(() => this.#inner.reset());
  }

  /** The options in effect, defaults filled in, plus `bins`. */
  info(): Required<Omit<AudioFeatureOptions, 'topDb'>> & { topDb?: number; bins: number } {
    return call(() => this.#inner.info() as Required<Omit<AudioFeatureOptions, 'topDb'>> & { topDb?: number; bins: number });
  }
}
