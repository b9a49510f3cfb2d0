// Calls into wasm, and what comes out of them normalised to ShopfloorError.
import { ShopfloorError, type ErrorCode } from './errors.js';

/**
 * Calls into wasm and normalises what comes out: Rust errors already carry a code; a Rust panic
 * (unwound and caught at the boundary: wasm-bindgen's `PanicError`) becomes INTERNAL naming
 * `what`, and the instance keeps working; a trap (out of memory) becomes INTERNAL too.
 */
export function call<T>(fn: () => T, what?: string): T {
  try {
    return fn();
  } catch (e) {
    throw normalise(e, what);
  }
}

/** `call` for promises: awaits inside the same normalisation. */
export async function callAsync<T>(fn: () => T | Promise<T>, what?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw normalise(e, what);
  }
}

export function normalise(e: unknown, what = 'a call into the SDK'): ShopfloorError {
  if (e instanceof ShopfloorError) return e;
  const err = e as { name?: unknown; code?: unknown; message?: unknown } | null | undefined;
  if (err && typeof err === 'object' && typeof err.code === 'string' && err.name === 'ShopfloorError') {
    return new ShopfloorError(err.code as ErrorCode, String(err.message), { cause: e });
  }
  if (err?.name === 'PanicError') {
    return new ShopfloorError('INTERNAL', `shopfloor panicked during ${what}: ${String(err.message)} (please report this with the model; the SDK keeps working)`, { cause: e });
  }
  if (e instanceof WebAssembly.RuntimeError) {
    return new ShopfloorError('INTERNAL', `the wasm module trapped during ${what} (${e.message}): please report this with the model`, { cause: e });
  }
  return new ShopfloorError('INTERNAL', String(err?.message ?? e), { cause: e });
}

/** The object without its undefined fields (serde on the wasm side reads absent, not undefined). */
export function defined<T extends object>(o: T): Partial<T> {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
