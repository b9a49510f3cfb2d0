//! Face detection with MediaPipe's BlazeFace: SSD anchors, box/keypoint decoding against them, and
//! weighted NMS, as MediaPipe's `face_detection_short_range` graph does.

use serde::{Deserialize, Serialize};

use super::boxes::{weighted_nms, BBox, Candidate};
use super::image::RgbaImage;
use super::model_ref::{ModelRef, Provenance};
use super::run::{check_outputs, forward_frame, input_name, take};
use crate::{Error, Model, Result};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceManifest {
    #[serde(flatten)]
    pub about: Provenance,
    pub model: ModelRef,
    pub decoder: BlazeFaceDecoder,
}

/// Decoder settings (MediaPipe's `SsdAnchorsCalculator` + `TensorsToDetectionsCalculator` options).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlazeFaceDecoder {
    /// Score outputs, one per anchor group (consecutive layers of equal stride), `[1, n, 1]`.
    pub scores: Vec<String>,
    /// Regressor outputs in the same order, `[1, n, 4 + 2·keypoints]`.
    pub boxes: Vec<String>,
    /// Per SSD layer; layers of equal stride share one grid.
    pub strides: Vec<usize>,
    #[serde(default = "default_score")]
    pub score_threshold: f32,
    #[serde(default = "default_iou")]
    pub iou_threshold: f32,
    #[serde(default = "default_keypoints")]
    pub keypoints: usize,
    #[serde(default = "default_max")]
    pub max_faces: usize,
}

fn default_score() -> f32 {
    0.5
}
fn default_iou() -> f32 {
    0.3
}
fn default_keypoints() -> usize {
    6
}
fn default_max() -> usize {
    100
}

/// A face in source pixels. Keypoints (BlazeFace's order): right eye, left eye, nose tip, mouth,
/// right ear tragion, left ear tragion, from the subject's point of view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Face {
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub score: f32,
    pub keypoints: Vec<[f32; 2]>,
}

/// Anchor centres in normalised input coordinates, grouped as the model's outputs are.
pub fn anchors(strides: &[usize], width: usize, height: usize) -> Vec<Vec<(f32, f32)>> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < strides.len() {
        let stride = strides[i];
        let mut per_cell = 0;
        while i < strides.len() && strides[i] == stride {
            per_cell += 2; // aspect ratio 1 plus the interpolated scale
            i += 1;
        }
        let (gw, gh) = (width.div_ceil(stride), height.div_ceil(stride));
        let mut g = Vec::with_capacity(gw * gh * per_cell);
        for y in 0..gh {
            for x in 0..gw {
                for _ in 0..per_cell {
                    g.push(((x as f32 + 0.5) / gw as f32, (y as f32 + 0.5) / gh as f32));
                }
            }
        }
        groups.push(g);
    }
    groups
}

pub struct FaceDetector {
    model: Model,
    manifest: FaceManifest,
    input: String,
    anchors: Vec<Vec<(f32, f32)>>,
}

impl FaceDetector {
    pub fn new(model: Model, manifest: FaceManifest) -> Result<Self> {
        let spec = &manifest.model.input;
        spec.validate()?;
        let input = input_name(&model, &spec.name)?;
        let d = &manifest.decoder;
        check_outputs(&model, d.scores.iter().chain(&d.boxes))?;
        let anchors = anchors(&d.strides, spec.width, spec.height);
        if anchors.len() != d.scores.len() || d.scores.len() != d.boxes.len() {
            return Err(Error::InvalidArgument(format!(
                "the decoder's strides give {} anchor groups for {} score and {} box outputs",
                anchors.len(),
                d.scores.len(),
                d.boxes.len()
            )));
        }
        if !(0.0..=1.0).contains(&d.score_threshold) || !(0.0..=1.0).contains(&d.iou_threshold) {
            return Err(Error::InvalidArgument("scoreThreshold and iouThreshold must lie in 0..=1".into()));
        }
        Ok(FaceDetector { model, manifest, input, anchors })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn set_thresholds(&mut self, score: Option<f32>, iou: Option<f32>) -> Result<()> {
        for v in [score, iou].into_iter().flatten() {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::InvalidArgument(format!("threshold {v} must lie in 0..=1")));
            }
        }
        let d = &mut self.manifest.decoder;
        d.score_threshold = score.unwrap_or(d.score_threshold);
        d.iou_threshold = iou.unwrap_or(d.iou_threshold);
        Ok(())
    }

    pub async fn detect(&mut self, img: &RgbaImage) -> Result<Vec<Face>> {
        let spec = &self.manifest.model.input;
        let (mut outs, to_source) = forward_frame(&mut self.model, &self.input, spec, img).await?;
        let d = &self.manifest.decoder;
        let (w, h) = (spec.width as f32, spec.height as f32);
        let logit_min = -(1.0 / d.score_threshold.max(1e-6) - 1.0).ln();
        let mut cands = Vec::new();
        for (g, anchors) in self.anchors.iter().enumerate() {
            let (_, scores) = take(&mut outs, &d.scores[g])?;
            let (bdims, boxes) = take(&mut outs, &d.boxes[g])?;
            let stride = *bdims.last().unwrap_or(&0);
            if scores.len() != anchors.len() || stride < 4 + 2 * d.keypoints || boxes.len() != anchors.len() * stride {
                return Err(Error::ModelInvalid(format!(
                    "outputs \"{}\"/\"{}\" hold {}/{} values, the decoder expects {} anchors × {}",
                    d.scores[g],
                    d.boxes[g],
                    scores.len(),
                    boxes.len(),
                    anchors.len(),
                    4 + 2 * d.keypoints
                )));
            }
            for (i, &(ax, ay)) in anchors.iter().enumerate() {
                let s = scores[i].clamp(-100.0, 100.0);
                if s < logit_min {
                    continue;
                }
                let r = &boxes[i * stride..(i + 1) * stride];
                // Offsets are in input pixels; anchors are unit-sized, so w and h are absolute.
                let (cx, cy) = (ax * w + r[0], ay * h + r[1]);
                let (x0, y0) = to_source.point(cx - r[2] / 2.0, cy - r[3] / 2.0);
                let (x1, y1) = to_source.point(cx + r[2] / 2.0, cy + r[3] / 2.0);
                let keypoints =
                    (0..d.keypoints).map(|k| to_source.point(ax * w + r[4 + 2 * k], ay * h + r[5 + 2 * k])).collect();
                cands.push(Candidate {
                    bbox: BBox { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
                    score: 1.0 / (1.0 + (-s).exp()),
                    class: 0,
                    keypoints,
                });
            }
        }
        let faces = weighted_nms(cands, d.iou_threshold, d.max_faces);
        let (w, h) = (img.width as f32, img.height as f32);
        Ok(faces
            .into_iter()
            .map(|c| Face {
                bbox: c.bbox.clip(w, h),
                score: c.score,
                keypoints: c.keypoints.into_iter().map(|(x, y)| [x, y]).collect(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_model_anchor_layout() {
        let g = anchors(&[8, 16, 16, 16], 128, 128);
        assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), vec![512, 384]);
        assert_eq!(g[0][0], (0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(g[0][1], g[0][0]);
        assert_eq!(g[1][6], (1.5 / 8.0, 0.5 / 8.0));
    }
}
