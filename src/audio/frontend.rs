//! openWakeWord's streaming front-end: 16 kHz audio → 32-band log-mel frames (its
//! `melspectrogram.onnx`) → one 96-d speech embedding per 80 ms (`embedding_model.onnx`, Google's
//! speech_embedding). Framing follows openWakeWord exactly, so chunked input gives the same
//! embeddings as one-shot input, whatever the chunk sizes.

use std::collections::VecDeque;

use super::SAMPLE_RATE;
use crate::{HostTensor, Model, Result};

/// Samples per embedding (80 ms).
pub const CHUNK: usize = 1280;
/// Samples of the previous chunk the mel model also sees (its 512-sample window at hop 160).
const CONTEXT: usize = 480;
const MEL_BANDS: usize = 32;
/// Mel frames per embedding window (0.76 s).
pub const MEL_WINDOW: usize = 76;
pub const EMBEDDING_DIMS: usize = 96;

pub struct Frontend {
    mel: Model,
    embed: Model,
    mel_input: String,
    embed_input: String,
    /// The last CONTEXT samples plus not yet processed ones, scaled to int16 range.
    raw: Vec<f32>,
    mels: VecDeque<[f32; MEL_BANDS]>,
    chunks: u64,
}

impl Frontend {
    pub fn new(mel: Model, embed: Model) -> Result<Self> {
        let mel_input = super::single_input(&mel, "mel spectrogram")?;
        let embed_input = super::single_input(&embed, "embedding")?;
        let mut f = Frontend { mel, embed, mel_input, embed_input, raw: vec![], mels: VecDeque::new(), chunks: 0 };
        f.reset();
        Ok(f)
    }

    /// Back to the state of a new stream.
    pub fn reset(&mut self) {
        self.raw = vec![0.0; CONTEXT];
        // openWakeWord starts its mel buffer with ones (the log-mel of near-silence after its scaling).
        self.mels = std::iter::repeat_n([1.0; MEL_BANDS], MEL_WINDOW).collect();
        self.chunks = 0;
    }

    pub fn models(&self) -> [&Model; 2] {
        [&self.mel, &self.embed]
    }

    /// The stream state, to set aside while another recording goes through.
    pub fn save(&self) -> (Vec<f32>, VecDeque<[f32; MEL_BANDS]>, u64) {
        (self.raw.clone(), self.mels.clone(), self.chunks)
    }

    pub fn restore(&mut self, s: (Vec<f32>, VecDeque<[f32; MEL_BANDS]>, u64)) {
        (self.raw, self.mels, self.chunks) = s;
    }

    /// Embeddings emitted so far (each covers the 80 ms ending at (index + 1) × 80 ms).
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Feeds 16 kHz mono samples in [-1, 1]; returns one embedding per completed 80 ms chunk.
    pub async fn push(&mut self, samples: &[f32]) -> Result<Vec<Vec<f32>>> {
        self.raw.extend(samples.iter().map(|s| s * 32767.0));
        let mut out = vec![];
        while self.raw.len() >= CONTEXT + CHUNK {
            let window = HostTensor::f32(vec![1, CONTEXT + CHUNK], self.raw[..CONTEXT + CHUNK].to_vec())?;
            let mel = super::run_f32(&mut self.mel, &self.mel_input, window).await?;
            if mel.len() != 8 * MEL_BANDS {
                return Err(crate::Error::ModelInvalid(format!(
                    "the mel model gave {} values for 1760 samples, expected 8 frames × 32 bands",
                    mel.len()
                )));
            }
            for f in mel.chunks_exact(MEL_BANDS) {
                let mut row = [0.0; MEL_BANDS];
                for (r, v) in row.iter_mut().zip(f) {
                    *r = v / 10.0 + 2.0; // openWakeWord's scaling
                }
                self.mels.pop_front();
                self.mels.push_back(row);
            }
            let window: Vec<f32> = self.mels.iter().flatten().copied().collect();
            let emb = super::run_f32(
                &mut self.embed,
                &self.embed_input,
                HostTensor::f32(vec![1, MEL_WINDOW, MEL_BANDS, 1], window)?,
            )
            .await?;
            if emb.len() != EMBEDDING_DIMS {
                return Err(crate::Error::ModelInvalid(format!(
                    "the embedding model gave {} values, expected 96",
                    emb.len()
                )));
            }
            out.push(emb);
            self.raw.drain(..CHUNK);
            self.chunks += 1;
        }
        Ok(out)
    }
}

/// Seconds at the end of embedding `index`.
pub fn chunk_end(index: u64) -> f64 {
    (index + 1) as f64 * CHUNK as f64 / SAMPLE_RATE as f64
}
