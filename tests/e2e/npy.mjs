// A minimal .npy reader for the browser tests (little-endian f32/i64, C order).
import { readFileSync } from 'node:fs';

export function readNpy(path) {
  const buf = readFileSync(path);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${path}: Fortran order`);
  const body = buf.subarray(10 + headerLen);
  const copy = new Uint8Array(body).buffer;
  const data = descr === '<f4' ? Array.from(new Float32Array(copy)) : descr === '<i8' ? Array.from(new BigInt64Array(copy), Number) : null;
  if (!data) throw new Error(`${path}: dtype ${descr}`);
  return { dims: shape, data, dtype: descr === '<f4' ? 'f32' : 'i64' };
}
