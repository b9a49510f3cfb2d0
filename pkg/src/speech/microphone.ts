import { messageOf, ShopfloorError } from '../errors.js';
import type { MicrophoneOptions } from './options.js';
import type { ChunkSource, Recording } from './samples.js';

/**
 * The microphone through an AudioWorklet: mono chunks of `chunkSize` samples at the device's
 * rate (the core converts to 16 kHz with an anti-aliasing filter). Echo cancellation, noise
 * suppression and gain control are off: the models want the raw signal.
 */
export class MicrophoneStream implements ChunkSource {
  #ctx!: AudioContext;
  #stream: MediaStream | undefined;
  #node: AudioWorkletNode | undefined;
  #source: MediaStreamAudioSourceNode | undefined;
  readonly #listeners = new Set<(samples: Float32Array) => void>();

  private constructor() {}

  /** Rejects with PERMISSION_DENIED when the user refuses, BACKEND_UNAVAILABLE without AudioWorklet or a secure context. */
  static async open({ deviceId, chunkSize = 2048, stream }: MicrophoneOptions = {}): Promise<MicrophoneStream> {
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
        const e = cause as { name?: string; message?: string } | null;
        const code = e?.name === 'NotAllowedError' ? 'PERMISSION_DENIED' : 'SOURCE_NOT_READY';
        throw new ShopfloorError(code, `the microphone could not be opened (${e?.name}: ${e?.message}): allow microphone access for this page`, { cause });
      }
    }
    const m = new MicrophoneStream();
    m.#stream = media;
    m.#ctx = new AudioContext();
    // A file of the package, not a blob: URL, so a strict CSP (script-src 'self') allows it. The
    // path is relative to index.js, the one module this file is built into (scripts/bundle-pkg.mjs).
    try {
      await m.#ctx.audioWorklet.addModule(new URL('./capture-worklet.js', import.meta.url));
    } catch (cause) {
      await m.close();
      throw new ShopfloorError('BACKEND_UNAVAILABLE', `the capture worklet (capture-worklet.js next to index.js) could not be loaded: ${messageOf(cause)}; serve it with the package`, { cause });
    }
    m.#source = m.#ctx.createMediaStreamSource(media);
    m.#node = new AudioWorkletNode(m.#ctx, 'shopfloor-capture', { numberOfOutputs: 0, processorOptions: { chunkSize } });
    m.#node.port.onmessage = (e: MessageEvent<Float32Array>) => {
      for (const l of m.#listeners) l(e.data);
    };
    m.#source.connect(m.#node);
    if (m.#ctx.state === 'suspended') await m.#ctx.resume().catch(() => {});
    return m;
  }

  /** The device's sample rate (the core converts to 16 kHz). */
  get sampleRate(): number {
    return this.#ctx.sampleRate;
  }

  /** The AudioContext, e.g. to attach an AnalyserNode for a spectrogram. */
  get context(): AudioContext {
    return this.#ctx;
  }

  /** The source node: connect an AnalyserNode here for a spectrogram. */
  get source(): MediaStreamAudioSourceNode {
    return this.#source as MediaStreamAudioSourceNode;
  }

  /** `'data'`: `listener(Float32Array)` per chunk. Returns a function that removes it. */
  on(type: 'data', listener: (samples: Float32Array) => void): () => void {
    if (type !== 'data') throw new ShopfloorError('INVALID_ARGUMENT', 'MicrophoneStream emits "data" only');
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records the next `seconds` of audio (at most 30): resolves to `{ samples, sampleRate }` (for `enrol`). */
  record(seconds: number): Promise<Recording> {
    if (!(seconds > 0 && seconds <= 30)) throw new ShopfloorError('INVALID_ARGUMENT', 'record between 0 and 30 seconds');
    const want = Math.round(seconds * this.sampleRate);
    const parts: Float32Array[] = [];
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

  async close(): Promise<void> {
    this.#node?.port.postMessage('stop');
    this.#source?.disconnect();
    this.#stream?.getTracks().forEach((t) => t.stop());
    this.#listeners.clear();
    await this.#ctx?.close().catch(() => {});
  }
}
