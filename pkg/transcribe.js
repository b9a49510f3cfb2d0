// Speech to text (Whisper) on this device: whole recordings and live dictation from a
// MicrophoneStream. Nothing is sent anywhere. Documented in index.d.ts.
import { call, callAsync, init, ShopfloorError } from './core.js';
import { createRemote } from './remote.js';
import { checkSamples, loadManifest, Pipeline, wasmOptions } from './pipeline.js';
import { attach } from './speech.js';
import { DictationListeners } from './events.js';

/** The speech-to-text manifest's files, in the order the core takes them. */
function transcriberFiles(manifest) {
  const m = manifest.models ?? {};
  const refs = [m.encoder, m.decoder, m.tokenizer, m.config];
  if (refs.some((r) => !r || typeof r.file !== 'string')) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'the manifest must name models.encoder, models.decoder, models.tokenizer and models.config files');
  }
  if (m.vad !== undefined && typeof m.vad?.file !== 'string') {
    throw new ShopfloorError('INVALID_ARGUMENT', 'models.vad must be { file, sha256? }');
  }
  return m.vad ? [...refs, m.vad] : refs;
}

const OPTIONS = ['model', 'backend', 'maxTensorBytes', 'prompt', 'noContext', 'partials', 'beamSize', 'temperatureFallback', 'worker', 'signal', 'onProgress', 'cache'];

export class Transcriber extends Pipeline {
  #listeners;
  static async create(options) {
    if (!options || typeof options !== 'object') {
      throw new ShopfloorError('INVALID_ARGUMENT', 'Transcriber.create takes { model, backend?, prompt?, noContext?, partials?, beamSize?, temperatureFallback?, worker? }');
    }
    const unknown = Object.keys(options).filter((k) => !OPTIONS.includes(k));
    if (unknown.length) throw new ShopfloorError('INVALID_ARGUMENT', `unknown option \`${unknown[0]}\`: use ${OPTIONS.join(', ')}`);
    if (options.prompt !== undefined && typeof options.prompt !== 'string') {
      throw new ShopfloorError('INVALID_ARGUMENT', '`prompt` must be a string (the words and spellings to expect)');
    }
    if (options.worker) return createRemote('Transcriber', options);
    const glue = await init();
    const { json, files } = await loadManifest(options.model, options, 'transcribe', transcriberFiles);
    for (const flag of ['partials', 'noContext', 'temperatureFallback']) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw new ShopfloorError('INVALID_ARGUMENT', `\`${flag}\` must be true or false`);
    }
    const t = { prompt: options.prompt, noContext: options.noContext, partials: options.partials, beamSize: options.beamSize, temperatureFallback: options.temperatureFallback };
    for (const k of Object.keys(t)) if (t[k] === undefined) delete t[k];
    const inner = await callAsync(() => glue.WasmTranscriber.create(json, files, wasmOptions(options), t), 'Transcriber.create');
    return new Transcriber(inner, !!options.partials);
  }
  constructor(inner, partials) {
    super(inner);
    this.#listeners = new DictationListeners(partials);
  }
  /** Whole recording → `{ text, segments, duration }`. */
  transcribe(samples, sampleRate) {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this._inner.transcribe(samples, sampleRate), 'transcribe()'));
  }
  /** `type`: 'segment' | 'partial' (with `partials: true`) | 'vad' | 'error'. Returns a function that removes the listener. */
  on(type, listener) {
    return this.#listeners.on(type, listener);
  }
  off(type, listener) {
    this.#listeners.off(type, listener);
  }
  /** Live dictation: feeds a chunk; resolves to (and emits) the events it settled. */
  feed(samples, sampleRate) {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this._inner.feed(samples, sampleRate), 'feed()').then((ev) => this.#listeners.emit(ev)));
  }
  /** Ends the stream: transcribes an utterance still open. */
  finish() {
    return this._serial(() => callAsync(() => this._inner.finish(), 'finish()').then((ev) => this.#listeners.emit(ev)));
  }
  reset() {
    return this._serial(() => call(() => this._inner.reset()));
  }
  /** Feeds a MicrophoneStream's chunks; returns a function that stops listening. */
  listen(mic) {
    return attach(this, mic, (error) => this.#listeners.error(error));
  }
}
