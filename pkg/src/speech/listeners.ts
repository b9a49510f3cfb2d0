// The listeners of the streaming pipelines (VoiceCommands, Transcriber), shared by the page-side
// objects and their worker proxies.
import { ShopfloorError } from '../errors.js';

type Listener = (e: never) => void;

export class Listeners {
  readonly #byType = new Map<string, Set<Listener>>();
  readonly types: readonly string[];

  /** `types`: the event names, 'error' last. */
  constructor(types: readonly string[]) {
    this.types = types;
  }

  /** Returns a function that removes the listener. */
  on(type: string, listener: Listener): () => void {
    if (!this.types.includes(type)) {
      const names = this.types.map((t) => `"${t}"`);
      throw new ShopfloorError('INVALID_ARGUMENT', `unknown event "${type}": use ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`);
    }
    if (typeof listener !== 'function') throw new ShopfloorError('INVALID_ARGUMENT', 'the listener must be a function');
    let set = this.#byType.get(type);
    if (!set) this.#byType.set(type, (set = new Set()));
    set.add(listener);
    return () => this.off(type, listener);
  }

  off(type: string, listener: Listener): void {
    this.#byType.get(type)?.delete(listener);
  }

  /** Pipeline events to their listeners (VAD events, `speechStart` / `speechEnd`, to 'vad'); returns them. */
  emit<E extends { type: string }>(events: E[]): E[] {
    for (const e of events) for (const l of this.#byType.get(this.types.includes(e.type) ? e.type : 'vad') ?? []) (l as (e: E) => void)(e);
    return events;
  }

  /** An error of a chunk fed by `listen()`: to the 'error' listeners, or the console if none. */
  error(e: unknown): void {
    const ls = this.#byType.get('error');
    if (ls?.size) for (const l of ls) (l as (e: unknown) => void)(e);
    else console.error(e);
  }
}

export class CommandListeners extends Listeners {
  constructor() {
    super(['command', 'vad', 'error']);
  }
}

export class DictationListeners extends Listeners {
  readonly #partials: boolean;

  /** `partials`: whether the Transcriber was created with `partials: true`. */
  constructor(partials: boolean) {
    super(['segment', 'partial', 'vad', 'error']);
    this.#partials = partials;
  }

  override on(type: string, listener: Listener): () => void {
    if (type === 'partial' && !this.#partials) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'partial results are off: create the Transcriber with { partials: true } (each partial costs a transcription of the utterance so far)');
    }
    return super.on(type, listener);
  }
}
