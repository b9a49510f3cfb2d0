// The error type every module of the package throws.

/** Stable error codes: `switch (err.code)` on them. */
export type ErrorCode =
  | 'MODEL_INVALID'
  | 'UNSUPPORTED_OP'
  | 'INPUT_MISMATCH'
  | 'INTEGRITY_MISMATCH'
  | 'BACKEND_UNAVAILABLE'
  | 'RESOURCE_LIMIT'
  | 'INVALID_ARGUMENT'
  | 'BUSY'
  | 'FETCH_FAILED'
  | 'ABORTED'
  | 'SOURCE_NOT_READY'
  | 'TAINTED_SOURCE'
  | 'PERMISSION_DENIED'
  | 'INTERNAL';

/** Every error the SDK throws or rejects with: a JS `Error` with a stable `code`. The message says what to fix. */
export class ShopfloorError extends Error {
  override readonly name = 'ShopfloorError' as const;
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** What a caught value says: its `message`, or the value itself. */
export function messageOf(e: unknown): string {
  return String((e as { message?: unknown } | null | undefined)?.message ?? e);
}

/** Whether a caught value is a `DOMException` (or any error) named `name`, e.g. `'AbortError'`. */
export function isNamed(e: unknown, name: string): boolean {
  return (e as { name?: unknown } | null | undefined)?.name === name;
}
