// A consumer of the npm package: imported by its name, bundled by Vite (`vite build`), the wasm
// module and the SDK's worker emitted as assets by the bundler. The model and the photo come from
// the server's /models/ (see vite.config.js and tests/e2e/vite-app.test.mjs).
import { ImageClassifier } from 'shopfloor';

const $ = (id) => document.getElementById(id);

async function main() {
  const img = $('photo');
  await img.decode();
  const classifier = await ImageClassifier.create({ model: '/models/cache/efficientnet/manifest.json', backend: 'cpu', worker: true });
  const [top] = await classifier.classify(img, { topK: 1 });
  $('result').textContent = `${top.label} (${(top.score * 100).toFixed(1)}%)`;
  document.body.dataset.state = 'done';
}

main().catch((e) => {
  $('result').textContent = `${e.code ?? 'ERROR'}: ${e.message}`;
  document.body.dataset.state = 'error';
});
