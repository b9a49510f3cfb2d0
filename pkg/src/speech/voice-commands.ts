import { call, callAsync, defined } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { Handle } from '../handle.js';
import { loadManifest, speechOptions } from '../manifest.js';
import type { ModelInfo } from '../model/model.js';
import { createRemote } from '../remote/remote-impl.js';
import type { InWorker, Remote } from '../remote/remote.js';
import { instanceWith, stopWarmUp } from '../runtime-impl.js';
import type { WasmVoiceCommands } from '../wasm/shopfloor.js';
import { CommandListeners } from './listeners.js';
import type { MicrophoneStream } from './microphone.js';
import type { VoiceCommandsOptions } from './options.js';
import type { CommandEvent, EnrolledCommand, VadEvent } from './result.js';
import { checkSamples, type Recording } from './samples.js';
import { attach, voiceFiles } from './stream.js';

/**
 * Voice commands from a microphone (or any audio): 16 kHz conversion, Silero VAD, openWakeWord's
 * speech embeddings, our command head's word posteriors, and an HMM grammar decoded by Viterbi
 * against a filler model; custom phrases enrolled from 3-10 recordings (Baum-Welch).
 */
export class VoiceCommands extends Handle {
  readonly #listeners = new CommandListeners();
  readonly #words: readonly string[];

  private constructor(inner: WasmVoiceCommands) {
    super(inner);
    this.#words = Object.freeze((call(() => inner.info()) as { words: string[] }).words);
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmVoiceCommands {
    return this._inner as WasmVoiceCommands;
  }

  static create(options: VoiceCommandsOptions & InWorker): Promise<Remote<VoiceCommands>>;
  static create(options: VoiceCommandsOptions): Promise<VoiceCommands>;
  static async create(options: VoiceCommandsOptions): Promise<VoiceCommands | Remote<VoiceCommands>> {
    if (!options || typeof options !== 'object') {
      throw new ShopfloorError('INVALID_ARGUMENT', 'VoiceCommands.create takes { model, backend?, commands?, threshold?, vad?, pause?, worker? }');
    }
    if (options.worker) return createRemote('VoiceCommands', options) as unknown as Promise<Remote<VoiceCommands>>;
    const { commands, threshold, vad, pause } = options;
    if (commands !== undefined && !(Array.isArray(commands) && commands.every((c) => typeof c === 'string'))) {
      throw new ShopfloorError('INVALID_ARGUMENT', '`commands` must be an array of command names (e.g. ["stop", "line two"])');
    }
    // serde-wasm-bindgen reads only the fields it knows: a misspelt one would pass unnoticed.
    if (pause !== undefined) {
      const unknown = pause && typeof pause === 'object' ? Object.keys(pause).filter((k) => k !== 'before' && k !== 'after') : ['(not an object)'];
      if (unknown.length) throw new ShopfloorError('INVALID_ARGUMENT', `unknown field \`${unknown[0]}\` in pause options: use { before, after } in seconds`);
    }
    const [glue, { json, files }] = await instanceWith(loadManifest(options.model, options, 'voice-commands', voiceFiles));
    const voice = defined({ commands: commands ?? [], threshold, vad, pause });
    stopWarmUp();
    const inner = await callAsync(() => glue.WasmVoiceCommands.create(json, files, speechOptions(options), voice), 'VoiceCommands.create');
    return new VoiceCommands(inner);
  }

  /** The commands it listens for (grammar, then enrolled). */
  get commands(): string[] {
    return (call(() => this.#inner.info()) as { commands: string[] }).commands;
  }

  /** The head's vocabulary. */
  get words(): readonly string[] {
    return this.#words;
  }

  /** Speech probability of the latest 32 ms window (0-1). */
  get vadProbability(): number {
    return call(() => this.#inner.vadProbability());
  }

  on(type: 'command', listener: (e: CommandEvent) => void): () => void;
  on(type: 'vad', listener: (e: VadEvent) => void): () => void;
  /** Errors from chunks fed by `listen` (otherwise logged). */
  on(type: 'error', listener: (e: ShopfloorError) => void): () => void;
  /** Returns a function that removes the listener. */
  on(type: string, listener: (e: never) => void): () => void {
    return this.#listeners.on(type, listener);
  }

  off(type: 'command' | 'vad' | 'error', listener: (...args: never[]) => void): void {
    this.#listeners.off(type, listener);
  }

  #emit(events: (CommandEvent | VadEvent)[]): (CommandEvent | VadEvent)[] {
    const out = events.map((e) =>
      e.type === 'command' ? { type: 'command' as const, command: e.command, confidence: e.confidence, start: e.start, end: e.end, decidedAt: e.decidedAt } : e,
    );
    return this.#listeners.emit(out);
  }

  /** Feeds mono samples in [-1, 1] at `sampleRate` Hz (8-384 kHz); resolves to the events they settled (also emitted). Calls queue. */
  feed(samples: Float32Array, sampleRate: number): Promise<(CommandEvent | VadEvent)[]> {
    checkSamples(samples, sampleRate);
    return this._serial(() => callAsync(() => this.#inner.feed(samples, sampleRate) as Promise<(CommandEvent | VadEvent)[]>, 'feed()').then((ev) => this.#emit(ev)));
  }

  /** Ends the stream: decodes the last audio and closes an open speech segment. */
  finish(): Promise<(CommandEvent | VadEvent)[]> {
    return this._serial(() => callAsync(() => this.#inner.finish() as Promise<(CommandEvent | VadEvent)[]>, 'finish()').then((ev) => this.#emit(ev)));
  }

  /** Starts a new stream (enrolled commands stay). */
  reset(): Promise<void> {
    return this._serial(() => call(() => this.#inner.reset()));
  }

  /** Feeds a microphone's chunks as they come; returns a function that stops. */
  listen(mic: MicrophoneStream): () => void {
    return attach(this, mic, (error) => this.#listeners.error(error));
  }

  /**
   * Trains a custom command from 3-10 recordings of one phrase and starts detecting it. Resolves
   * to its saved form (a plain object for `addEnrolled`).
   */
  enrol(name: string, recordings: Recording[]): Promise<EnrolledCommand> {
    if (typeof name !== 'string' || !name.trim()) throw new ShopfloorError('INVALID_ARGUMENT', 'give the command a name');
    if (!Array.isArray(recordings)) throw new ShopfloorError('INVALID_ARGUMENT', 'recordings must be an array of { samples, sampleRate }');
    for (const r of recordings) checkSamples(r?.samples, r?.sampleRate);
    return this._serial(() => callAsync(() => this.#inner.enrol(name, recordings) as Promise<string>, 'enrol()').then((json) => JSON.parse(json) as EnrolledCommand));
  }

  /** Adds a saved custom command (what `enrol` or `enrolled` gave); returns its name. */
  addEnrolled(saved: EnrolledCommand | string): string {
    const json = typeof saved === 'string' ? saved : JSON.stringify(saved);
    return call(() => this.#inner.addEnrolled(json));
  }

  removeEnrolled(name: string): boolean {
    return call(() => this.#inner.removeEnrolled(name));
  }

  /** The enrolled commands, as plain objects to store (e.g. in IndexedDB). */
  get enrolled(): EnrolledCommand[] {
    return (call(() => this.#inner.enrolled()) as string[]).map((j) => JSON.parse(j) as EnrolledCommand);
  }

  info(): { commands: string[]; words: string[]; threshold: number; models: ModelInfo[] } {
    return call(() => this.#inner.info() as { commands: string[]; words: string[]; threshold: number; models: ModelInfo[] });
  }
}
