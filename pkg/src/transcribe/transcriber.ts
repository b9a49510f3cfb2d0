// Speech to text (Whisper) on this device: whole recordings and live dictation from a
// MicrophoneStream. Nothing is sent anywhere.
import { call, callAsync, defined } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { Handle } from '../handle.js';
import { fileRefs, loadManifest, speechOptions, type ManifestJson } from '../manifest.js';
import type { ModelInfo } from '../model/model.js';
import { createRemote } from '../remote/remote-impl.js';
import type { InWorker, Remote } from '../remote/remote.js';
import { instanceWith, stopWarmUp } from '../runtime-impl.js';
import { DictationListeners } from '../speech/listeners.js';
import type { MicrophoneStream } from '../speech/microphone.js';
import type { VadEvent } from '../speech/result.js';
import { checkSamples } from '../speech/samples.js';
import { attach } from '../speech/stream.js';
import type { WasmTranscriber } from '../wasm/shopfloor.js';
import type { TranscriberOptions } from './options.js';
import type { DictationEvent, PartialEvent, SegmentEvent, Transcript } from './result.js';

/** The speech-to-text manifest's files, in the order the core takes them. */
function transcriberFiles(manifest: ManifestJson) {
  const m = (manifest.models ?? {}) as Record<string, { file?: unknown } | undefined>;
  const refs = fileRefs([m.encoder, m.decoder, m.tokenizer, m.config], 'the manifest must name models.encoder, models.decoder, models.tokenizer and models.config files');
  if (m.vad !== undefined && typeof m.vad?.file !== 'string') {
    throw new ShopfloorError('INVALID_ARGUMENT', 'models.vad must be { file, sha256? }');
  }
  return m.vad ? [...refs, ...fileRefs([m.vad], '')] : refs;
}

const OPTIONS = ['model', 'backend', 'maxTensorBytes', 'prompt', 'noContext', 'partials', 'beamSize', 'temperatureFallback', 'language', 'worker', 'signal', 'onProgress', 'cache'];

/**
 * Speech to text on the device (Whisper): whole recordings with `transcribe`, or live dictation
 * (`feed` / `listen`) where Silero VAD cuts the stream into utterances, each transcribed when it
 * ends. Audio at any rate from 8 to 384 kHz, mono, in [-1, 1].
 */
export class Transcriber extends Handle {
  readonly #listeners: DictationListeners;

  private constructor(inner: WasmTranscriber, partials: boolean) {
    super(inner);
    this.#listeners = new DictationListeners(partials);
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmTranscriber {
    return this._inner as WasmTranscriber;
  }

  static create(options: TranscriberOptions & InWorker): Promise<Remote<Transcriber>>;
  static create(options: TranscriberOptions): Promise<Transcriber>;
  static async create(options: TranscriberOptions): Promise<Transcriber | Remote<Transcriber>> {
    if (!options || typeof options !== 'object') {
      throw new ShopfloorError('INVALID_ARGUMENT', 'Transcriber.create takes { model, backend?, prompt?, noContext?, partials?, beamSize?, temperatureFallback?, language?, worker? }');
    }
    const unknown = Object.keys(options).filter((k) => !OPTIONS.includes(k));
    if (unknown.length) throw new ShopfloorError('INVALID_ARGUMENT', `unknown option \`${unknown[0]}\`: use ${OPTIONS.join(', ')}`);
    if (options.prompt !== undefined && typeof options.prompt !== 'string') {
      throw new ShopfloorError('INVALID_ARGUMENT', '`prompt` must be a string (the words and spellings to expect)');
    }
    if (options.language !== undefined && typeof options.language !== 'string') {
      throw new ShopfloorError('INVALID_ARGUMENT', '`language` must be a string: a language code such as "de", or "auto"');
    }
    if (options.worker) return createRemote('Transcriber', options) as unknown as Promise<Remote<Transcriber>>;
    for (const flag of ['partials', 'noContext', 'temperatureFallback'] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw new ShopfloorError('INVALID_ARGUMENT', `\`${flag}\` must be true or false`);
    }
    const [glue, { json, files }] = await instanceWith(loadManifest(options.model, options, 'transcribe', transcriberFiles));
    const t = defined({ prompt: options.prompt, noContext: options.noContext, partials: options.partials, beamSize: options.beamSize, temperatureFallback: options.temperatureFallback, language: options.language });
    stopWarmUp();
    const inner = await callAsync(() => glue.WasmTranscriber.create(json, files, speechOptions(options), t), 'Transcriber.create');
    return new Transcriber(inner, !!options.partials);
  }

  /** A whole recording of any length (30-s windows, each starting where the last complete segment ended). Empty or silent audio gives `text: ""`; non-finite samples `INVALID_ARGUMENT`. */
  transcribe(samples: Float32Array, sampleRate: number): Promise<Transcript> {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this.#inner.transcribe(samples, sampleRate) as Promise<Transcript>, 'transcribe()'));
  }

  on(type: 'segment', listener: (e: SegmentEvent) => void): () => void;
  /** Only with `partials: true` (else `INVALID_ARGUMENT`). */
  on(type: 'partial', listener: (e: PartialEvent) => void): () => void;
  on(type: 'vad', listener: (e: VadEvent) => void): () => void;
  /** Errors from chunks fed by `listen` (otherwise logged). */
  on(type: 'error', listener: (e: ShopfloorError) => void): () => void;
  /** Returns a function that removes the listener. */
  on(type: string, listener: (e: never) => void): () => void {
    return this.#listeners.on(type, listener);
  }

  off(type: 'segment' | 'partial' | 'vad' | 'error', listener: (...args: never[]) => void): void {
    this.#listeners.off(type, listener);
  }

  /** Live dictation: feeds a chunk; resolves to the events it settled (also emitted). Calls queue. Needs a manifest with a VAD, else `INVALID_ARGUMENT`. */
  feed(samples: Float32Array, sampleRate: number): Promise<DictationEvent[]> {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this.#inner.feed(samples, sampleRate) as Promise<DictationEvent[]>, 'feed()').then((ev) => this.#listeners.emit(ev)));
  }

  /** Ends the stream: transcribes an utterance still open; the next `feed` starts a new stream. */
  finish(): Promise<DictationEvent[]> {
    return this._serial(() => callAsync(() => this.#inner.finish() as Promise<DictationEvent[]>, 'finish()').then((ev) => this.#listeners.emit(ev)));
  }

  /** Forgets the stream (options stay). */
  reset(): Promise<void> {
    return this._serial(() => call(() => this.#inner.reset()));
  }

  /** Feeds a microphone's chunks as they come; returns a function that stops. */
  listen(mic: MicrophoneStream): () => void {
    return attach(this, mic, (error) => this.#listeners.error(error));
  }

  info(): { name: string; live: boolean; models: ModelInfo[] } {
    return call(() => this.#inner.info() as { name: string; live: boolean; models: ModelInfo[] });
  }
}
