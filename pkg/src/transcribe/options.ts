// What `Transcriber` takes.
import type { BackendChoice } from '../model/model.js';

/** Options for `Transcriber.create`. */
export interface TranscriberOptions {
  /**
   * URL of a speech-to-text manifest (`task: "transcribe"`, e.g. the setup's
   * `whisper-tiny-en/manifest.json`: encoder, decoder, tokenizer, config and, for live dictation,
   * a VAD) or the object with `baseUrl`.
   */
  model: string | URL | (Record<string, unknown> & { baseUrl?: string });
  /** Where the encoder runs (`"auto"` measures both; the one-token decoder and the VAD stay on the CPU). */
  backend?: BackendChoice;
  /**
   * Words and spellings to expect (part numbers, station names, jargon), given to the decoder
   * as the text that came before: it biases the transcript towards them.
   */
  prompt?: string;
  /** Do not prompt each 30-s window (or utterance) with the text before it. Default false. */
  noContext?: boolean;
  /**
   * Live dictation: also emit `partial` events with the text of an utterance while it goes on
   * (about once a second of speech, less often when transcribing takes longer). Each costs a
   * transcription of the utterance so far. Default false.
   */
  partials?: boolean;
  /** Beam search with this many beams, 1 to 8 (default 1: greedy); each beam costs a decoder step per token. */
  beamSize?: number;
  /**
   * When a window's text loops (it compresses over 2.4×) or the decoder was guessing (mean token
   * log-probability under −1), decode it again by sampling at temperatures 0.2, 0.4 … 1.0 and keep
   * the likeliest attempt (Whisper's own rule; seeded, so the same audio gives the same text).
   * Costs time only on such windows. Default true.
   */
  temperatureFallback?: boolean;
  /**
   * Multilingual models (e.g. Whisper base): the language spoken, as Whisper's code (`"en"`,
   * `"de"`, `"fr"`, `"pl"`, …), or `"auto"` to detect it on each recording or utterance (the
   * default, unless the manifest names a `language`). English-only models (`*.en`) take only
   * `"en"`; any other code, or one the model does not know, is `INVALID_ARGUMENT`.
   */
  language?: string;
  maxTensorBytes?: number;
  signal?: AbortSignal;
  /** Run it in the SDK's Web Worker (see `Remote`); events are still emitted on this thread. */
  worker?: boolean;
}
