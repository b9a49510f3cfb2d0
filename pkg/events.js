// The listeners of the streaming pipelines (VoiceCommands, Transcriber), shared by the page-side
// objects and their worker proxies.
import { ShopfloorError } from './core.js';

class Listeners {
  #byType = new Map();
  /** `types`: the event names, 'error' last. */
  constructor(types) {
    this.types = types;
  }
  /** Returns a function that removes the listener. */
  on(type, listener) {
    if (!this.types.includes(type)) {
      const names = this.types.map((t) => `"${t}"`);
      throw new ShopfloorError('INVALID_ARGUMENT', `unknown event "${type}": use ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`);
    }
    if (typeof listener !== 'function') throw new ShopfloorError('INVALID_ARGUMENT', 'the listener must be a function');
    if (!this.#byType.has(type)) this.#byType.set(type, new Set());
    this.#byType.get(type).add(listener);
    return () => this.off(type, listener);
  }
  off(type, listener) {
    this.#byType.get(type)?.delete(listener);
  }
  /** Pipeline events to their listeners (VAD events, `speechStart` / `speechEnd`, to 'vad'); returns them. */
  emit(events) {
    for (const e of events) for (const l of this.#byType.get(this.types.includes(e.type) ? e.type : 'vad') ?? []) l(e);
    return events;
  }
  /** An error of a chunk fed by `listen()`: to the 'error' listeners, or the console if none. */
  error(e) {
    const ls = this.#byType.get('error');
    if (ls?.size) for (const l of ls) l(e);
    else console.error(e);
  }
}

export class CommandListeners extends Listeners {
  constructor() {
    super(['command', 'vad', 'error']);
  }
}

export class DictationListeners extends Listeners {
  #partials;
  /** `partials`: whether the Transcriber was created with `partials: true`. */
  constructor(partials) {
    super(['segment', 'partial', 'vad', 'error']);
    this.#partials = partials;
  }
  on(type, listener) {
    if (type === 'partial' && !this.#partials) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'partial results are off: create the Transcriber with { partials: true } (each partial costs a transcription of the utterance so far)');
    }
    return super.on(type, listener);
  }
}
