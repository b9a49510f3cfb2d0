// The listeners of a VoiceCommands, shared by the page-side object and its worker proxy.
import { ShopfloorError } from './core.js';

const TYPES = ['command', 'vad', 'error'];

export class CommandListeners {
  #byType = new Map();
  /** Returns a function that removes the listener. */
  on(type, listener) {
    if (!TYPES.includes(type)) throw new ShopfloorError('INVALID_ARGUMENT', `unknown event "${type}": use "command", "vad" or "error"`);
    if (typeof listener !== 'function') throw new ShopfloorError('INVALID_ARGUMENT', 'the listener must be a function');
    if (!this.#byType.has(type)) this.#byType.set(type, new Set());
    this.#byType.get(type).add(listener);
    return () => this.off(type, listener);
  }
  off(type, listener) {
    this.#byType.get(type)?.delete(listener);
  }
  /** Pipeline events to the 'command' and 'vad' listeners; returns them. */
  emit(events) {
    for (const e of events) for (const l of this.#byType.get(e.type === 'command' ? 'command' : 'vad') ?? []) l(e);
    return events;
  }
  /** An error of a chunk fed by `listen()`: to the 'error' listeners, or the console if none. */
  error(e) {
    const ls = this.#byType.get('error');
    if (ls?.size) for (const l of ls) l(e);
    else console.error(e);
  }
}
