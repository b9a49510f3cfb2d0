//! Audio below the speech tasks: microphone samples checked and converted to 16 kHz
//! (`resample`, `To16k`), the classic features as librosa computes them (`features`), and the
//! speech front-end's models (`frontend`: mel spectrogram → speech embeddings). Streams: audio
//! goes in as it arrives. The tasks built on it are in `speech/`.

pub mod features;
pub mod frontend;
pub mod resample;

pub use features::{FeatureExtractor, FeatureKind, FeatureOptions, Features, MelNorm};
pub use resample::Resampler;

use crate::{Error, HostTensor, Model, Result, TensorData};

/// Every model here runs at 16 kHz.
pub const SAMPLE_RATE: u32 = 16_000;
/// One embedding, head and decoder frame.
pub const FRAME_SECONDS: f64 = 0.08;

pub(crate) fn single_input(model: &Model, what: &str) -> Result<String> {
    match model.inputs() {
        [one] => Ok(one.name.clone()),
        other => Err(Error::ModelInvalid(format!("the {what} model should have one input, it has {}", other.len()))),
    }
}

pub(crate) async fn run_f32(model: &mut Model, input: &str, t: HostTensor) -> Result<Vec<f32>> {
    let outs = model.run_async(std::collections::HashMap::from([(input.to_string(), t)])).await?;
    match outs.into_iter().next() {
        Some((_, HostTensor { data: TensorData::F32(v), .. })) => Ok(v),
        Some((name, t)) => Err(Error::ModelInvalid(format!("output \"{name}\" is {}, expected f32", t.dtype()))),
        None => Err(Error::ModelInvalid("the model has no output".into())),
    }
}

/// Checks a chunk from the caller: finite samples, a rate we can convert. Values beyond ±1
/// (clipped or unnormalised input) are clamped, as a sound card would.
pub fn check_samples(samples: &[f32], rate: u32) -> Result<()> {
    resample::check_rate(rate)?;
    if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "sample {i} of the chunk is {}: audio must be finite numbers in [-1, 1]",
            samples[i]
        )));
    }
    Ok(())
}

/// Converts any-rate audio to 16 kHz, keeping the converter across chunks of one stream.
pub struct To16k {
    resampler: Option<Resampler>,
}

impl Default for To16k {
    fn default() -> Self {
        Self::new()
    }
}

impl To16k {
    pub fn new() -> Self {
        To16k { resampler: None }
    }

    pub fn push(&mut self, samples: &[f32], rate: u32) -> Result<Vec<f32>> {
        check_samples(samples, rate)?;
        if self.resampler.as_ref().is_none_or(|r| r.in_rate() != rate) {
            // A new rate starts a new conversion (a new device); the models' state carries on.
            self.resampler = Some(Resampler::new(rate, SAMPLE_RATE)?);
        }
        let clamped: Vec<f32> = samples.iter().map(|s| s.clamp(-1.0, 1.0)).collect();
        let mut out = Vec::with_capacity(samples.len() * SAMPLE_RATE as usize / rate as usize + 1);
        self.resampler.as_mut().expect("set above").push(&clamped, &mut out);
        Ok(out)
    }

    pub fn reset(&mut self) {
        self.resampler = None;
    }
}
