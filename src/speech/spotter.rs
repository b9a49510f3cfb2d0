//! The keyword spotter: audio → embeddings → the command head's per-frame word posteriors.

use std::collections::VecDeque;

use serde::Serialize;

use crate::audio::frontend::{chunk_end, Frontend, EMBEDDING_DIMS};
use crate::audio::To16k;
use crate::{Error, HostTensor, Model, Result};

/// One 80 ms frame: its end time, the embedding, and P(word just ended) per word (filler last).
#[derive(Clone, Debug, Serialize)]
pub struct WordFrame {
    pub index: u64,
    pub time: f64,
    #[serde(skip)]
    pub embedding: Vec<f32>,
    pub posteriors: Vec<f32>,
}

pub struct KeywordSpotter {
    to16k: To16k,
    pub(crate) frontend: Frontend,
    head: Model,
    head_input: String,
    stack: VecDeque<Vec<f32>>,
    depth: usize,
    labels: usize,
}

impl KeywordSpotter {
    /// `labels`: the head's outputs (vocabulary + filler).
    pub fn new(frontend: Frontend, head: Model, depth: usize, labels: usize) -> Result<Self> {
        let head_input = crate::audio::single_input(&head, "command head")?;
        let mut s =
            KeywordSpotter { to16k: To16k::new(), frontend, head, head_input, stack: VecDeque::new(), depth, labels };
        s.reset();
        Ok(s)
    }

    /// Mel spectrogram, embedding and head models.
    pub fn models(&self) -> [&Model; 3] {
        let [m, e] = self.frontend.models();
        [m, e, &self.head]
    }

    pub fn words(&self) -> usize {
        self.labels - 1
    }

    pub fn reset(&mut self) {
        self.to16k.reset();
        self.frontend.reset();
        self.stack = std::iter::repeat_n(vec![0.0; EMBEDDING_DIMS], self.depth).collect();
    }

    /// Any-rate mono samples in [-1, 1] → one `WordFrame` per completed 80 ms.
    pub async fn feed(&mut self, samples: &[f32], rate: u32) -> Result<Vec<WordFrame>> {
        let s16 = self.to16k.push(samples, rate)?;
        self.feed_16k(&s16).await
    }

    pub(crate) async fn feed_16k(&mut self, s16: &[f32]) -> Result<Vec<WordFrame>> {
        let first = self.frontend.chunks();
        let embeddings = self.frontend.push(s16).await?;
        let mut frames = Vec::with_capacity(embeddings.len());
        for (i, e) in embeddings.into_iter().enumerate() {
            self.stack.pop_front();
            self.stack.push_back(e.clone());
            let x: Vec<f32> = self.stack.iter().flatten().copied().collect();
            let post = crate::audio::run_f32(
                &mut self.head,
                &self.head_input,
                HostTensor::f32(vec![1, self.depth, EMBEDDING_DIMS], x)?,
            )
            .await?;
            if post.len() != self.labels {
                return Err(Error::ModelInvalid(format!(
                    "the command head gave {} posteriors, the manifest has {} words + filler",
                    post.len(),
                    self.labels - 1
                )));
            }
            let index = first + i as u64;
            frames.push(WordFrame { index, time: chunk_end(index), embedding: e, posteriors: post });
        }
        Ok(frames)
    }
}
