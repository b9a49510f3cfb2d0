// The warm-up Worker (runtime-impl.ts starts it at init()): a second instance of the module the
// page has just compiled loads and runs a small graph of common CNN ops once, then the worker
// ends. Browsers compile a wasm function at its first call and share compiled code between the
// instances of one module, so this compiles the load and run paths on another core while the
// page fetches its model (docs/performance-log.md, "First inference").
import { messageOf } from './errors.js';

/** What runtime-impl.ts sends: the compiled module, and which build it is. */
export interface WarmUpRequest {
  module: WebAssembly.Module;
  threaded: boolean;
}

/** The one answer: done, or why it failed (the page times it, Worker start included). */
export type WarmUpDone = { done: true } | { error: string };

const scope = self as unknown as {
  postMessage(message: WarmUpDone): void;
  onmessage: ((e: MessageEvent<WarmUpRequest>) => void) | null;
  close(): void;
};

scope.onmessage = async ({ data }) => {
  try {
    // The threaded build's glue makes this instance a main thread of its own (its own memory;
    // no pool is started, so the graph runs on this thread).
    const glue = data.threaded ? await import('./wasm-mt/shopfloor.js') : await import('./wasm/shopfloor.js');
    await glue.default({ module_or_path: data.module });
    glue.warmUp();
    scope.postMessage({ done: true });
  } catch (e) {
    scope.postMessage({ error: messageOf(e) });
  }
  scope.close();
};
