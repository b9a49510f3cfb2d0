// Speech: VoiceCommands, KeywordSpotter, Vad, MicrophoneStream. Audio is captured and processed on
// this device; nothing is sent anywhere. Documented in index.d.ts.
import { call, callAsync, init, ShopfloorError } from './core.js';
import { readSource } from './model.js';
import { CommandListeners } from './events.js';
import { checkSamples, loadManifest, Pipeline, wasmOptions } from './pipeline.js';
import { createRemote } from './remote.js';

/** Streams audio into `pipeline.feed` from a MicrophoneStream; returns a function that stops it. */
export function attach(pipeline, mic, onError) {
  if (!(mic instanceof MicrophoneStream)) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'listen() takes a MicrophoneStream (MicrophoneStream.open())');
  }
  return mic.on('data', (samples) => {
    pipeline.feed(samples, mic.sampleRate).catch(onError);
  });
}

/** The voice-command manifest's files, in the order the core takes them. */
function voiceFiles(manifest) {
  const refs = [manifest.frontend?.melspectrogram, manifest.frontend?.embedding, manifest.head, manifest.vad];
  if (refs.some((r) => !r || typeof r.file !== 'string')) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'the manifest must name frontend.melspectrogram, frontend.embedding, head and vad files');
  }
  return refs;
}

export class VoiceCommands extends Pipeline {
  #listeners = new CommandListeners();
  #words;
  static async create(options) {
    if (!options || typeof options !== 'object') {
      throw new ShopfloorError('INVALID_ARGUMENT', 'VoiceCommands.create takes { model, backend?, commands?, threshold?, vad?, pause?, worker? }');
    }
    if (options.worker) return createRemote('VoiceCommands', options);
    const { commands, threshold, vad, pause } = options;
    if (commands !== undefined && !(Array.isArray(commands) && commands.every((c) => typeof c === 'string'))) {
      throw new ShopfloorError('INVALID_ARGUMENT', '`commands` must be an array of command names (e.g. ["stop", "line two"])');
    }
    // serde-wasm-bindgen reads only the fields it knows: a misspelt one would pass unnoticed.
    if (pause !== undefined) {
      const unknown = pause && typeof pause === 'object' ? Object.keys(pause).filter((k) => k !== 'before' && k !== 'after') : ['(not an object)'];
      if (unknown.length) throw new ShopfloorError('INVALID_ARGUMENT', `unknown field \`${unknown[0]}\` in pause options: use { before, after } in seconds`);
    }
    const glue = await init();
    const { json, files } = await loadManifest(options.model, options, 'voice-commands', voiceFiles);
    const voice = { commands: commands ?? [], threshold, vad, pause };
    for (const k of Object.keys(voice)) if (voice[k] === undefined) delete voice[k];
    const inner = await callAsync(() => glue.WasmVoiceCommands.create(json, files, wasmOptions(options), voice), 'VoiceCommands.create');
    return new VoiceCommands(inner);
  }
  constructor(inner) {
    super(inner);
    this.#words = Object.freeze(call(() => inner.info()).words);
  }
  /** The commands it listens for (grammar and enrolled). */
  get commands() {
    return call(() => this._inner.info()).commands;
  }
  get words() {
    return this.#words;
  }
  /** Speech probability of the latest 32 ms window (0-1). */
  get vadProbability() {
    return call(() => this._inner.vadProbability());
  }
  /** `type`: 'command' | 'vad' | 'error'. Returns a function that removes the listener. */
  on(type, listener) {
    return this.#listeners.on(type, listener);
  }
  off(type, listener) {
    this.#listeners.off(type, listener);
  }
  #emit(events) {
    const out = events.map((e) =>
      e.type === 'command'
        ? { type: 'command', command: e.command, confidence: e.confidence, start: e.start, end: e.end, decidedAt: e.decidedAt }
        : e,
    );
    return this.#listeners.emit(out);
  }
  /** Feeds mono samples at `sampleRate`; resolves to (and emits) the events they settled. */
  feed(samples, sampleRate) {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this._inner.feed(samples, sampleRate), 'feed()').then((ev) => this.#emit(ev)));
  }
  /** Ends the stream: decodes what the last audio holds. */
  finish() {
    return this._serial(() => callAsync(() => this._inner.finish(), 'finish()').then((ev) => this.#emit(ev)));
  }
  reset() {
    return this._serial(() => call(() => this._inner.reset()));
  }
  /** Feeds a MicrophoneStream's chunks; returns a function that stops listening. */
  listen(mic) {
    return attach(this, mic, (error) => this.#listeners.error(error));
  }
  /**
   * Trains a custom command from 3-10 recordings of a phrase (`[{ samples, sampleRate }]`) and
   * starts detecting it. Resolves to its saved form (a plain object for `addEnrolled`).
   */
  enrol(name, recordings) {
    if (typeof name !== 'string' || !name.trim()) throw new ShopfloorError('INVALID_ARGUMENT', 'give the command a name');
    if (!Array.isArray(recordings)) throw new ShopfloorError('INVALID_ARGUMENT', 'recordings must be an array of { samples, sampleRate }');
    for (const r of recordings) checkSamples(r?.samples, r?.sampleRate);
    return this._serial(() => callAsync(() => this._inner.enrol(name, recordings), 'enrol()').then((json) => JSON.parse(json)));
  }
  /** Adds a saved enrolled command (what `enrol` or `enrolled` gave). */
  addEnrolled(saved) {
    const json = typeof saved === 'string' ? saved : JSON.stringify(saved);
    return call(() => this._inner.addEnrolled(json));
  }
  removeEnrolled(name) {
    return call(() => this._inner.removeEnrolled(name));
  }
  /** The enrolled commands, as plain objects to store (e.g. in IndexedDB). */
  get enrolled() {
    return call(() => this._inner.enrolled()).map((j) => JSON.parse(j));
  }
}

export class KeywordSpotter extends Pipeline {
  #words;
  static async create(options) {
    if (!options || typeof options !== 'object') throw new ShopfloorError('INVALID_ARGUMENT', 'KeywordSpotter.create takes { model, backend?, worker? }');
    if (options.worker) return createRemote('KeywordSpotter', options);
    const glue = await init();
    const { manifest, json, files } = await loadManifest(options.model, options, 'voice-commands', voiceFiles);
    const inner = await callAsync(() => glue.WasmKeywordSpotter.create(json, files.slice(0, 3), wasmOptions(options)), 'KeywordSpotter.create');
    const k = new KeywordSpotter(inner);
    k.#words = Object.freeze([...manifest.words, 'filler']);
    return k;
  }
  /** Labels of `posteriors`: the vocabulary, then "filler". */
  get labels() {
    return this.#words;
  }
  /** Resolves to one frame per 80 ms completed: `{ index, time, posteriors }`. */
  feed(samples, sampleRate) {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this._inner.feed(samples, sampleRate), 'feed()'));
  }
  reset() {
    return this._serial(() => call(() => this._inner.reset()));
  }
}

export class Vad extends Pipeline {
  static async create(options) {
    if (!options || typeof options !== 'object') throw new ShopfloorError('INVALID_ARGUMENT', 'Vad.create takes { model, sha256?, backend?, threshold?, worker?, ... }');
    if (options.worker) return createRemote('Vad', options);
    const glue = await init();
    const url = new URL(options.model, globalThis.location?.href).href;
    const bytes = await readSource(url, options);
    const { threshold, negThreshold, minSpeechSeconds, minSilenceSeconds } = options;
    const vad = { threshold, negThreshold, minSpeechSeconds, minSilenceSeconds };
    for (const k of Object.keys(vad)) if (vad[k] === undefined) delete vad[k];
    const inner = await callAsync(() => glue.WasmVad.create(bytes, options.sha256, wasmOptions(options), vad), 'Vad.create');
    return new Vad(inner);
  }
  /** Resolves to `{ probabilities: [[time, p], ...], events: [...] }`. */
  feed(samples, sampleRate) {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this._inner.feed(samples, sampleRate), 'feed()'));
  }
  reset() {
    return this._serial(() => call(() => this._inner.reset()));
  }
}

// The Rust side ignores fields it does not know (serde-wasm-bindgen reads only its own), so a
// typo such as `nFFT` would silently fall back to the default: refuse it here.
const FEATURE_OPTIONS = ['kind', 'sampleRate', 'nFft', 'hopLength', 'winLength', 'center', 'power', 'nMels', 'fmin', 'fmax', 'htk', 'norm', 'amin', 'ref', 'topDb', 'nMfcc', 'lifter'];

/** Log-mel, mel and MFCC features as librosa defines them (see index.d.ts). */
export class AudioFeatures extends Pipeline {
  static async create(options) {
    if (!options || typeof options !== 'object') {
      throw new ShopfloorError('INVALID_ARGUMENT', 'AudioFeatures.create takes { sampleRate, kind?, nFft?, hopLength?, nMels?, ... } (librosa\'s parameters)');
    }
    const unknown = Object.keys(options).filter((k) => !FEATURE_OPTIONS.includes(k) && k !== 'worker');
    if (unknown.length) {
      throw new ShopfloorError('INVALID_ARGUMENT', `unknown field \`${unknown[0]}\` in AudioFeatures options: use ${FEATURE_OPTIONS.join(', ')}`);
    }
    if (options.worker) return createRemote('AudioFeatures', options);
    const glue = await init();
    return new AudioFeatures(call(() => new glue.WasmAudioFeatures(options)));
  }
  /** The whole clip's features, `topDb` included. */
  compute(samples) {
    checkChunk(samples);
    return call(() => this._inner.compute(samples));
  }
  /** Streams samples in; returns the frames they complete (`topDb` must be null). */
  push(samples) {
    checkChunk(samples);
    return call(() => this._inner.push(samples));
  }
  /** Ends the stream: the last frames (the centre padding's). */
  finish() {
    return call(() => this._inner.finish());
  }
  reset() {
    call(() => this._inner.reset());
  }
}

function checkChunk(samples) {
  if (!(samples instanceof Float32Array)) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'samples must be a Float32Array of mono audio at the sampleRate given to create()');
  }
}

/** The microphone as chunks of mono Float32 samples at the device's rate (see index.d.ts). */
export class MicrophoneStream {
  #ctx;
  #stream;
  #node;
  #source;
  #listeners = new Set();
  static async open({ deviceId, chunkSize = 2048, stream } = {}) {
    if (!Number.isInteger(chunkSize) || chunkSize < 128 || chunkSize > 65536) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'chunkSize must be an integer between 128 and 65536 samples');
    }
    if (typeof AudioWorkletNode === 'undefined') {
      throw new ShopfloorError('BACKEND_UNAVAILABLE', 'this browser has no AudioWorklet (or the page is not a secure context: serve it over https or from localhost)');
    }
    let media = stream;
    if (!media) {
      if (!navigator.mediaDevices?.getUserMedia) {
        throw new ShopfloorError('BACKEND_UNAVAILABLE', 'no microphone access here: serve the page over https or from localhost');
      }
      try {
        media = await navigator.mediaDevices.getUserMedia({
          audio: { deviceId: deviceId ? { exact: deviceId } : undefined, channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
        });
      } catch (cause) {
        const code = cause?.name === 'NotAllowedError' ? 'PERMISSION_DENIED' : 'SOURCE_NOT_READY';
        throw new ShopfloorError(code, `the microphone could not be opened (${cause?.name}: ${cause?.message}): allow microphone access for this page`, { cause });
      }
    }
    const m = new MicrophoneStream();
    m.#stream = media;
    m.#ctx = new AudioContext();
    // A file next to this module, not a blob: URL, so a strict CSP (script-src 'self') allows it.
    try {
      await m.#ctx.audioWorklet.addModule(new URL('./capture-worklet.js', import.meta.url));
    } catch (cause) {
      await m.close();
      throw new ShopfloorError('BACKEND_UNAVAILABLE', `the capture worklet (capture-worklet.js next to speech.js) could not be loaded: ${cause?.message ?? cause}; serve it with the package`, { cause });
    }
    m.#source = m.#ctx.createMediaStreamSource(media);
    m.#node = new AudioWorkletNode(m.#ctx, 'shopfloor-capture', { numberOfOutputs: 0, processorOptions: { chunkSize } });
    m.#node.port.onmessage = (e) => {
      for (const l of m.#listeners) l(e.data);
    };
    m.#source.connect(m.#node);
    if (m.#ctx.state === 'suspended') await m.#ctx.resume().catch(() => {});
    return m;
  }
  /** The device's sample rate (the core converts to 16 kHz). */
  get sampleRate() {
    return this.#ctx.sampleRate;
  }
  /** The AudioContext, e.g. to attach an AnalyserNode for a spectrogram. */
  get context() {
    return this.#ctx;
  }
  /** The source node (connect an AnalyserNode to it). */
  get source() {
    return this.#source;
  }
  /** `'data'`: `listener(Float32Array)` per chunk. Returns a function that removes it. */
  on(type, listener) {
    if (type !== 'data') throw new ShopfloorError('INVALID_ARGUMENT', 'MicrophoneStream emits "data" only');
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  /** Records `seconds` of audio: resolves to `{ samples, sampleRate }` (for `enrol`). */
  record(seconds) {
    if (!(seconds > 0 && seconds <= 30)) throw new ShopfloorError('INVALID_ARGUMENT', 'record between 0 and 30 seconds');
    const want = Math.round(seconds * this.sampleRate);
    const parts = [];
    let have = 0;
    return new Promise((resolve) => {
      const off = this.on('data', (c) => {
        parts.push(c);
        have += c.length;
        if (have >= want) {
          off();
          const samples = new Float32Array(have);
          let o = 0;
          for (const p of parts) {
            samples.set(p, o);
            o += p.length;
          }
          resolve({ samples: samples.subarray(0, want), sampleRate: this.sampleRate });
        }
      });
    });
  }
  async close() {
    this.#node?.port.postMessage('stop');
    this.#source?.disconnect();
    this.#stream?.getTracks().forEach((t) => t.stop());
    this.#listeners.clear();
    await this.#ctx?.close().catch(() => {});
  }
}
