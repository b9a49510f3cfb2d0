// The one base of every object that owns a wasm-side object (Model, the pipelines, LinearSvm):
// free(), the finalizer for handles the page drops, the error after free(), and a queue for
// streaming calls that must not overlap.
import { ShopfloorError } from './errors.js';

/** What every wasm-bindgen object has. */
export interface WasmObject {
  free(): void;
}

/** Frees the wasm object of a handle the page dropped without `free()`. */
const finalizer = new FinalizationRegistry<WasmObject>((inner) => {
  try {
    inner.free();
  } catch {
    // already freed
  }
});

export abstract class Handle {
  #inner: WasmObject | null;
  #queue: Promise<unknown> = Promise.resolve();

  protected constructor(inner: WasmObject) {
    this.#inner = inner;
    finalizer.register(this, inner, this);
  }

  /** @internal The wasm object; `INVALID_ARGUMENT` once freed. */
  get _inner(): WasmObject {
    if (!this.#inner) throw new ShopfloorError('INVALID_ARGUMENT', this._freedMessage());
    return this.#inner;
  }

  /** @internal What a call after `free()` says. */
  protected _freedMessage(): string {
    return `this ${this.constructor.name} was freed: create it again`;
  }

  /** @internal Runs calls one after another: chunks from a microphone never overlap (no BUSY). */
  protected _serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Releases the wasm memory now (a FinalizationRegistry also frees forgotten objects). Later calls throw `INVALID_ARGUMENT`. */
  free(): void {
    if (!this.#inner) return;
    finalizer.unregister(this);
    const inner = this.#inner;
    this.#inner = null;
    inner.free();
  }
}
