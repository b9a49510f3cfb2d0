//! Image classification: top-k labels, the pooled embedding (for the trainable SVM head) and class
//! activation maps for explanations.

use serde::{Deserialize, Serialize};

use super::image::RgbaImage;
use super::math::softmax;
use super::model_ref::{ModelRef, Provenance};
use super::run::{check_outputs, forward_frame, input_name, take};
use super::saliency::{class_activation_map, Saliency};
use crate::model::peek;
use crate::{Error, Model, Result};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierOutputs {
    pub logits: String,
    /// Pooled penultimate features (the `Embedder`'s vector).
    #[serde(default)]
    pub embedding: Option<String>,
    /// Last conv features `[1, C, h, w]`, for class activation maps.
    #[serde(default)]
    pub features: Option<String>,
}

/// Class activation maps: the final linear layer's initializers (`[classes, C]`, `[classes]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CamSpec {
    pub weights: String,
    #[serde(default)]
    pub bias: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierManifest {
    #[serde(flatten)]
    pub about: Provenance,
    pub model: ModelRef,
    pub outputs: ClassifierOutputs,
    /// Whether `logits` still need a softmax.
    #[serde(default = "yes")]
    pub softmax: bool,
    pub labels: Vec<String>,
    #[serde(default)]
    pub cam: Option<CamSpec>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Classification {
    pub label: String,
    pub score: f32,
    pub class_index: usize,
}

struct Cam {
    weights: Vec<f32>,
    bias: Vec<f32>,
    channels: usize,
}

pub struct ImageClassifier {
    model: Model,
    manifest: ClassifierManifest,
    input: String,
    cam: Option<Cam>,
}

impl ImageClassifier {
    /// `model_bytes` are the bytes `model` was loaded from: the CAM weights are read from them.
    pub fn new(model: Model, manifest: ClassifierManifest, model_bytes: &[u8]) -> Result<Self> {
        manifest.model.input.validate()?;
        let input = input_name(&model, &manifest.model.input.name)?;
        let o = &manifest.outputs;
        check_outputs(&model, std::iter::once(&o.logits).chain(&o.embedding).chain(&o.features))?;
        if manifest.labels.is_empty() {
            return Err(Error::InvalidArgument("the classifier manifest has no labels".into()));
        }
        let cam = match (&manifest.cam, &o.features) {
            (Some(spec), Some(_)) => {
                let (dims, weights) = peek::initializer_f32(model_bytes, &spec.weights)?;
                if dims.len() != 2 || dims[0] != manifest.labels.len() {
                    return Err(Error::InvalidArgument(format!(
                        "CAM weights \"{}\" are {dims:?}, expected [{} classes, channels]",
                        spec.weights,
                        manifest.labels.len()
                    )));
                }
                let bias = match &spec.bias {
                    Some(b) => peek::initializer_f32(model_bytes, b)?.1,
                    None => vec![0.0; dims[0]],
                };
                Some(Cam { weights, bias, channels: dims[1] })
            }
            _ => None,
        };
        Ok(ImageClassifier { model, manifest, input, cam })
    }

    pub fn labels(&self) -> &[String] {
        &self.manifest.labels
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn embedding_size(&self) -> Option<usize> {
        let name = self.manifest.outputs.embedding.as_ref()?;
        let o = self.model.outputs().iter().find(|o| &o.name == name)?;
        o.shape.as_ref()?.last().and_then(|d| d.fixed())
    }

    /// The `top_k` most likely classes, best first.
    pub async fn classify(&mut self, img: &RgbaImage, top_k: usize) -> Result<Vec<Classification>> {
        let (mut outs, _) = forward_frame(&mut self.model, &self.input, &self.manifest.model.input, img).await?;
        let (_, logits) = take(&mut outs, &self.manifest.outputs.logits)?;
        Ok(self.top_k(&logits, top_k))
    }

    fn top_k(&self, logits: &[f32], k: usize) -> Vec<Classification> {
        let probs = if self.manifest.softmax { softmax(logits) } else { logits.to_vec() };
        let mut idx: Vec<usize> = (0..probs.len().min(self.manifest.labels.len())).collect();
        idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        idx.truncate(k.max(1));
        idx.into_iter()
            .map(|i| Classification { label: self.manifest.labels[i].clone(), score: probs[i], class_index: i })
            .collect()
    }

    /// The L2-normalised pooled features: the input of a trainable head.
    pub async fn embed(&mut self, img: &RgbaImage) -> Result<Vec<f32>> {
        let name =
            self.manifest.outputs.embedding.clone().ok_or_else(|| {
                Error::InvalidArgument("this classifier's manifest names no `embedding` output".into())
            })?;
        let (mut outs, _) = forward_frame(&mut self.model, &self.input, &self.manifest.model.input, img).await?;
        let (_, mut v) = take(&mut outs, &name)?;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        Ok(v)
    }

    /// A class activation map for `class` (the top class when `None`), aligned to the frame.
    pub async fn explain(&mut self, img: &RgbaImage, class: Option<usize>) -> Result<(Classification, Saliency)> {
        let Some(cam) = &self.cam else {
            return Err(Error::InvalidArgument(
                "this classifier's manifest has no `cam` weights and `features` output, which explanations need".into(),
            ));
        };
        if let Some(c) = class {
            if c >= self.manifest.labels.len() {
                return Err(Error::InvalidArgument(format!(
                    "class index {c} is out of range: the model has {} classes",
                    self.manifest.labels.len()
                )));
            }
        }
        let (mut outs, to_source) =
            forward_frame(&mut self.model, &self.input, &self.manifest.model.input, img).await?;
        let (_, logits) = take(&mut outs, &self.manifest.outputs.logits)?;
        let feats_name = self.manifest.outputs.features.as_ref().expect("checked at creation");
        let (dims, feats) = take(&mut outs, feats_name)?;
        if dims.len() != 4 || dims[1] != cam.channels {
            return Err(Error::ModelInvalid(format!("features are {dims:?}, expected [1, {}, h, w]", cam.channels)));
        }
        let probs = if self.manifest.softmax { softmax(&logits) } else { logits.clone() };
        let c = class.unwrap_or_else(|| (0..probs.len()).max_by(|&a, &b| probs[a].total_cmp(&probs[b])).unwrap_or(0));
        let w = &cam.weights[c * cam.channels..(c + 1) * cam.channels];
        let grid = class_activation_map(&feats, dims[1], dims[2], dims[3], w, cam.bias[c]);
        let spec = &self.manifest.model.input;
        let sal =
            Saliency::from_grid(&grid, dims[3], dims[2], spec.width, spec.height, &to_source, img.width, img.height);
        Ok((Classification { label: self.manifest.labels[c].clone(), score: probs[c], class_index: c }, sal))
    }
}
