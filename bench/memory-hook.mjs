// Records every wasm memory the page creates (exported by an instance or made in JS and
// imported, as Emscripten's threaded builds do), so both runtimes are measured the same way.
export const MEMORY_HOOK = `(() => {
  const list = (globalThis.__benchMemories = []);
  const M = WebAssembly.Memory;
  const Hooked = function (d) { const m = new M(d); list.push(m); return m; };
  Hooked.prototype = M.prototype;
  WebAssembly.Memory = Hooked;
  const note = (inst) => { for (const v of Object.values(inst.exports)) if (v instanceof M && !list.includes(v)) list.push(v); };
  for (const fn of ['instantiate', 'instantiateStreaming']) {
    const orig = WebAssembly[fn];
    WebAssembly[fn] = async function (...a) { const r = await orig.apply(this, a); note(r.instance ?? r); return r; };
  }
})();`;
