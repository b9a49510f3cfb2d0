// Runs bench/tiles' variants in headless Chromium, alternating, and prints each one's median
// GMAC/s per layer. Usage: node bench/tiles/run.mjs WASM [--rounds 40]
import { readFileSync } from 'node:fs';
import { launch } from '../../tests/e2e/browser.mjs';

const args = process.argv.slice(2);
const rounds = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 40);
const bytes = [...readFileSync(args[0])];
const VARIANTS = ['in_place_4x8', 'gathered_4x8', 'gathered_4x8_shuffles', 'gathered_6x8', 'in_place_2x16', 'gathered_2x16', 'in_place_3x16'];
// openWakeWord embedding's layers: [outputs, planes, h, w, kh, kw].
const LAYERS = { 'openWakeWord 72→72, 3×1 over 30×8': [72, 72, 30, 8, 3, 1], 'openWakeWord 24→24, 1×3 over 74×32': [24, 24, 74, 32, 1, 3] };
const { context, close } = await launch({ webgpu: false });
try {
  const page = await context.newPage();
  await page.goto('about:blank');
  for (const [title, dims] of Object.entries(LAYERS)) {
    const r = await page.evaluate(async ({ bytes, dims, variants, rounds }) => {
      const { instance } = await WebAssembly.instantiate(new Uint8Array(bytes));
      const e = instance.exports;
      e.setup(...dims);
      const macs = e.macs();
      const seen = Object.fromEntries(variants.map((v) => [v, []]));
      for (const v of variants) e[v](20);
      for (let i = 0; i < rounds; i++) {
        for (const v of variants) {
          const t0 = performance.now();
          e[v](20);
          seen[v].push((macs * 20) / (performance.now() - t0) / 1e6);
        }
      }
      return seen;
    }, { bytes, dims, variants: VARIANTS, rounds });
    console.log(`\n${title}: GMAC/s, median (p25-p75) of ${rounds} alternating rounds`);
    for (const [v, xs] of Object.entries(r)) {
      const s = [...xs].sort((a, b) => a - b);
      const q = (f) => s[Math.floor(f * (s.length - 1))].toFixed(1);
      console.log(`  ${v.padEnd(24)} ${q(0.5)} (${q(0.25)}-${q(0.75)})`);
    }
  }
} finally {
  await close();
}
