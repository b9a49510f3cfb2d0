// What the speech pipelines take.
import type { BackendChoice } from '../model/model.js';

export interface VadOptions {
  /** Speech starts above this probability (default 0.5). */
  threshold?: number;
  /** …and ends after `minSilenceSeconds` below this one (default 0.35). */
  negThreshold?: number;
  /** Shorter segments are dropped (default 0.25 s). */
  minSpeechSeconds?: number;
  minSilenceSeconds?: number;
}

/** Options for `VoiceCommands.create`. */
export interface VoiceCommandsOptions {
  /** URL of the voice-command manifest (`models/speech/manifest.json`) or the object with `baseUrl`. */
  model: string | URL | (Record<string, unknown> & { baseUrl?: string });
  backend?: BackendChoice;
  /**
   * Which commands to listen for: names from the manifest's grammar ("stop", "line two") or new
   * sequences of its vocabulary words ("stop line two"). Default: all of the manifest's.
   */
  commands?: string[];
  /** Path score to fire at (default: the manifest's); higher means fewer false alarms, more misses. */
  threshold?: number;
  /** Silero VAD settings (defaults: Silero's own). */
  vad?: VadOptions;
  /**
   * A command stands only when said on its own: `before` speech-free seconds before it (default
   * 0.5) and the speech stopping within `after` seconds after it (default 0.5; the event comes
   * when it does). 0 turns that side off; each in [0, 3], else `INVALID_ARGUMENT`.
   */
  pause?: { before?: number; after?: number };
  signal?: AbortSignal;
  /** Run the pipeline in the SDK's Web Worker (see `Remote`); events are still emitted on this thread. */
  worker?: boolean;
}

/** Options for `KeywordSpotter.create`. */
export interface KeywordSpotterOptions {
  model: VoiceCommandsOptions['model'];
  backend?: BackendChoice;
  signal?: AbortSignal;
  worker?: boolean;
}

/** Options for `Vad.create`. */
export interface VadCreateOptions extends VadOptions {
  /** URL of `silero_vad_op18_ifless.onnx` (or Silero's standard file). */
  model: string | URL;
  /** Pins the file's sha256. */
  sha256?: string;
  backend?: BackendChoice;
  signal?: AbortSignal;
  worker?: boolean;
}

/** Options of `AudioFeatures`: librosa's parameters by the same names (camelCase), same defaults. */
export interface AudioFeatureOptions {
  /** The rate of the samples you will give, in Hz (required; resample first if it is not the model's). */
  sampleRate: number;
  /** `'mel'`: `melspectrogram`; `'logmel'` (default): `power_to_db(melspectrogram)`; `'mfcc'`: `mfcc`. */
  kind?: 'mel' | 'logmel' | 'mfcc';
  /** FFT size, default 2048. */
  nFft?: number;
  /** Default `nFft / 4`. */
  hopLength?: number;
  /** Hann window length centred in the FFT frame, default `nFft`. */
  winLength?: number;
  /** Frames centred on `t * hopLength`, zero-padded (librosa's `pad_mode="constant"`); default true. */
  center?: boolean;
  /** Exponent of the magnitude: 2 (default) power, 1 magnitude. */
  power?: number;
  /** Default 128. */
  nMels?: number;
  /** Default 0 Hz. */
  fmin?: number;
  /** Default `sampleRate / 2`. */
  fmax?: number;
  /** HTK mel scale instead of Slaney's (default false). */
  htk?: boolean;
  /** `'slaney'` (default): unit-area triangles; `'none'`: peak 1. */
  norm?: 'slaney' | 'none';
  /** `power_to_db`: `amin` (default 1e-10), `ref` (default 1), `topDb` (default 80; null: no clipping). */
  amin?: number;
  ref?: number;
  topDb?: number | null;
  /** MFCCs kept (default 20) and the cepstral lifter (default 0: none). */
  nMfcc?: number;
  lifter?: number;
}

/** Options of `MicrophoneStream.open`. */
export interface MicrophoneOptions {
  /** The input device (from `navigator.mediaDevices.enumerateDevices()`); default: the system's. */
  deviceId?: string;
  /** Samples per chunk, 128 to 65536 (default 2048). */
  chunkSize?: number;
  /** An open stream to read instead of asking for the microphone. */
  stream?: MediaStream;
}
