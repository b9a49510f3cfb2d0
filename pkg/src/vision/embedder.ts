import { ShopfloorError } from '../errors.js';
import type { Remote } from '../remote/remote.js';
import type { FrameSource } from './frames.js';
import { ImageClassifier } from './image-classifier.js';
import type { PipelineOptions } from './options.js';

/** Frames → feature vectors for a trainable head (a classifier's pooled penultimate layer). */
export class Embedder {
  readonly #classifier: ImageClassifier | Remote<ImageClassifier>;

  constructor(classifier: ImageClassifier | Remote<ImageClassifier>) {
    const c = classifier as Partial<Remote<ImageClassifier>> | undefined;
    const remote = c?.worker === true && c.kind === 'ImageClassifier';
    if (!(classifier instanceof ImageClassifier) && !remote) throw new ShopfloorError('INVALID_ARGUMENT', 'new Embedder(classifier) takes an ImageClassifier');
    this.#classifier = classifier;
  }

  static async create(options: PipelineOptions): Promise<Embedder> {
    return new Embedder(await ImageClassifier.create(options));
  }

  /** Feature size. */
  get size(): number {
    return this.#classifier.embeddingSize;
  }

  embed(source: FrameSource): Promise<Float32Array> {
    return this.#classifier.embed(source);
  }

  free(): void {
    this.#classifier.free();
  }
}
