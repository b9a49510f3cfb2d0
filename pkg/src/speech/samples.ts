// The checks on audio every speech call makes before it reaches wasm.
import { ShopfloorError } from '../errors.js';

export function checkSamples(samples: unknown, sampleRate: unknown): void {
  if (!(samples instanceof Float32Array)) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'samples must be a Float32Array of mono audio in [-1, 1]');
  }
  if (!Number.isInteger(sampleRate) || (sampleRate as number) <= 0) {
    throw new ShopfloorError('INVALID_ARGUMENT', `sampleRate must be the audio's rate in Hz (e.g. 48000), not ${String(sampleRate)}`);
  }
}

/** AudioFeatures' chunks: the rate was given to create(). */
export function checkChunk(samples: unknown): void {
  if (!(samples instanceof Float32Array)) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'samples must be a Float32Array of mono audio at the sampleRate given to create()');
  }
}

/** A recording for `enrol`, or what `MicrophoneStream.record` gives. */
export interface Recording {
  samples: Float32Array;
  sampleRate: number;
}

/** Something that feeds chunks: `MicrophoneStream`, or anything with its `on('data')` and `sampleRate`. */
export interface ChunkSource {
  readonly sampleRate: number;
  on(type: 'data', listener: (samples: Float32Array) => void): () => void;
}
