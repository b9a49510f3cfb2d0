import { backends, init, version } from '../pkg/index.js';
import { setupCamera } from './camera.js';
import { setupMicrophone } from './mic.js';
import { setupDictation } from './dictation.js';

const $ = (id) => document.getElementById(id);

function fill(dl, rows) {
  dl.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = String(v);
      return [dt, dd];
    }),
  );
}

function mib(bytes) {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

async function main() {
  const t0 = performance.now();
  // Models load when the user starts the camera or the microphone: until then a Worker compiles
  // the CPU path's code (the README's "First inference").
  await init({ warmUp: true });
  const loadMs = performance.now() - t0;
  const [v, b] = await Promise.all([version(), backends()]);
  $('version').textContent = `shopfloor ${v} · wasm loaded in ${loadMs.toFixed(0)} ms`;

  $('cpu-card').dataset.available = 'true';
  $('cpu-badge').textContent = 'available';
  fill($('cpu-details'), [
    ['Engine', 'tract (WebAssembly)'],
    ['SIMD', b.cpu.simd],
    ['Threads', `${b.cpu.threads} (${b.cpu.threadsReason})`],
  ]);

  const gpu = b.webgpu;
  $('webgpu-card').dataset.available = String(gpu.available);
  $('webgpu-badge').textContent = gpu.available ? 'available' : 'not available';
  if (gpu.available) {
    const a = gpu.adapter;
    const rows = [
      ['Adapter', a.name || '(the browser hides its name)'],
      ['Vendor', a.vendor || '—'],
      ['Architecture', a.architecture || '—'],
      ['Type', a.isFallbackAdapter ? `${a.deviceType} (software fallback: correct but slow)` : a.deviceType],
      ['Subgroups', a.subgroups ? `yes (${a.subgroupMinSize}–${a.subgroupMaxSize})` : 'no'],
      ['f16 shaders', a.shaderF16 ? 'yes' : 'no'],
      ['Max buffer', mib(a.maxBufferSize)],
      ['Max storage binding', mib(a.maxStorageBufferBindingSize)],
      ['Workgroup memory', `${a.maxComputeWorkgroupStorageSize / 1024} KiB`],
    ];
    fill($('webgpu-details'), rows);
  } else {
    $('webgpu-reason').hidden = false;
    $('webgpu-reason').textContent = `${gpu.reason} Models run on the CPU instead.`;
  }

  $('status').textContent = gpu.available
    ? 'Ready: models can run on WebGPU or the CPU.'
    : 'Ready: models run on the CPU (no WebGPU in this browser).';
  document.body.dataset.state = 'ready';
  setupMicrophone();
  setupDictation();
  await setupCamera();
}

main().catch((err) => {
  console.error(err);
  $('status').textContent = `Could not start: ${err.message}${err.code ? ` (${err.code})` : ''}`;
  document.body.dataset.state = 'error';
});
