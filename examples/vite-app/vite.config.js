// Relative asset URLs, so the built app works under any path (the tests serve it at
// /examples/vite-app/dist/); the worker is an ES module like the SDK's own.
export default {
  base: './',
  worker: { format: 'es' },
  build: { target: 'es2022' },
};
