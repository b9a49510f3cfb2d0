// The public types of `{ worker: true }`. Implemented in remote-impl.ts (the page's side) and
// ../worker.ts (the worker's).

/**
 * An object created with `{ worker: true }`: it lives in the SDK's Web Worker (`worker.js`, next
 * to `index.js`; one worker per page, shared by every such object) and the page holds this proxy.
 * Same members, but every method answers with a promise (`info()` included); properties
 * (`labels`, `inputs`, `commands`, `vadProbability`…) are mirrored after each call. Frames cross
 * as `ImageBitmap`/`VideoFrame` copies transferred without a further copy (the caller's source is
 * left untouched), results come back transferred. Calls on one object run in order (no `BUSY`).
 * Needs a module worker from the page's origin (CSP `worker-src 'self'`, the default of
 * `default-src 'self'`); `BACKEND_UNAVAILABLE` where there is none.
 */
export type Remote<T> = {
  readonly [K in keyof T]: K extends 'free' | 'on' | 'off' | 'listen'
    ? T[K]
    : T[K] extends (...args: infer A) => infer R
      ? (...args: A) => Promise<Awaited<R>>
      : T[K];
} & { readonly worker: true; readonly kind: string };

/** `{ worker: true }`: create the object in the SDK's Web Worker (see `Remote`). */
export interface InWorker {
  worker: true;
}
