//! A generic object detector over the two head layouts most exports have: YOLO-style (one tensor
//! of centre/size boxes and class scores per candidate, with or without objectness) and SSD-style
//! (decoded boxes and per-class scores as two tensors), then per-class hard NMS.

use serde::{Deserialize, Serialize};

use super::boxes::{hard_nms, BBox, Candidate};
use super::image::RgbaImage;
use super::model_ref::{ModelRef, Provenance};
use super::run::{check_outputs, forward_frame, input_name, take};
use crate::{Error, Model, Result};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectorManifest {
    #[serde(flatten)]
    pub about: Provenance,
    pub model: ModelRef,
    pub decoder: DetectionDecoder,
    pub labels: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BoxFormat {
    /// (ymin, xmin, ymax, xmax) in 0..1 (TensorFlow's SSD exports).
    YxyxNormalized,
    /// (xmin, ymin, xmax, ymax) in 0..1.
    XyxyNormalized,
    /// (xmin, ymin, xmax, ymax) in input pixels.
    XyxyPixels,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    #[default]
    None,
    Sigmoid,
    Softmax,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum DetectionDecoder {
    /// `[1, 4 + C, N]` (YOLOv8) or `[1, N, 4 + C]`, with one objectness column after the box when
    /// `objectness` (YOLOv5); boxes are (cx, cy, w, h) in input pixels.
    #[serde(rename_all = "camelCase")]
    Yolo {
        output: String,
        #[serde(default)]
        objectness: bool,
        #[serde(default)]
        activation: Activation,
        #[serde(default = "score")]
        score_threshold: f32,
        #[serde(default = "iou")]
        iou_threshold: f32,
        #[serde(default = "max_det")]
        max_detections: usize,
    },
    /// `boxes [1, N, 4]` and `scores [1, N, C]`.
    #[serde(rename_all = "camelCase")]
    Ssd {
        boxes: String,
        scores: String,
        box_format: BoxFormat,
        #[serde(default)]
        activation: Activation,
        /// A class index that means "nothing here" and is never reported.
        #[serde(default)]
        background_class: Option<usize>,
        #[serde(default = "score")]
        score_threshold: f32,
        #[serde(default = "iou")]
        iou_threshold: f32,
        #[serde(default = "max_det")]
        max_detections: usize,
    },
}

fn score() -> f32 {
    0.25
}
fn iou() -> f32 {
    0.45
}
fn max_det() -> usize {
    100
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub score: f32,
    pub class_index: usize,
    pub label: String,
}

fn activate(v: &mut [f32], a: Activation) {
    match a {
        Activation::None => {}
        Activation::Sigmoid => v.iter_mut().for_each(|x| *x = 1.0 / (1.0 + (-*x).exp())),
        Activation::Softmax => super::math::softmax_in_place(v),
    }
}

/// YOLO rows → candidates in input pixels. `classes` fixes which axis holds the candidates.
pub fn decode_yolo(
    dims: &[usize],
    data: &[f32],
    classes: usize,
    objectness: bool,
    act: Activation,
    thr: f32,
) -> Result<Vec<Candidate>> {
    let row = 4 + objectness as usize + classes;
    let (n, transposed) = match dims {
        [1, a, b] if *a == row && *b != row => (*b, true),
        [1, a, b] if *b == row => (*a, false),
        _ => {
            return Err(Error::ModelInvalid(format!(
                "YOLO output is {dims:?}, expected [1, {row}, N] or [1, N, {row}] for {classes} labels"
            )))
        }
    };
    let at = |i: usize, j: usize| if transposed { data[j * n + i] } else { data[i * row + j] };
    let mut out = Vec::new();
    let mut scores = vec![0f32; classes];
    for i in 0..n {
        for (c, s) in scores.iter_mut().enumerate() {
            *s = at(i, 4 + objectness as usize + c);
        }
        activate(&mut scores, act);
        let obj = if objectness {
            let mut o = [at(i, 4)];
            activate(&mut o, if act == Activation::None { Activation::None } else { Activation::Sigmoid });
            o[0]
        } else {
            1.0
        };
        let (c, s) = scores.iter().enumerate().fold((0, f32::MIN), |b, (c, &s)| if s > b.1 { (c, s) } else { b });
        let s = s * obj;
        if s < thr {
            continue;
        }
        let (cx, cy, w, h) = (at(i, 0), at(i, 1), at(i, 2), at(i, 3));
        out.push(Candidate {
            bbox: BBox { x: cx - w / 2.0, y: cy - h / 2.0, width: w, height: h },
            score: s,
            class: c,
            keypoints: vec![],
        });
    }
    Ok(out)
}

/// SSD boxes + scores → candidates in input pixels.
#[allow(clippy::too_many_arguments)]
pub fn decode_ssd(
    boxes: &[f32],
    scores: &[f32],
    classes: usize,
    fmt: BoxFormat,
    act: Activation,
    background: Option<usize>,
    thr: f32,
    (w, h): (f32, f32),
) -> Result<Vec<Candidate>> {
    let n = boxes.len() / 4;
    if !boxes.len().is_multiple_of(4) || scores.len() != n * classes {
        return Err(Error::ModelInvalid(format!(
            "SSD outputs hold {} box values and {} scores: expected N×4 and N×{classes}",
            boxes.len(),
            scores.len()
        )));
    }
    let mut out = Vec::new();
    for i in 0..n {
        let mut s = scores[i * classes..(i + 1) * classes].to_vec();
        activate(&mut s, act);
        let best = s.iter().enumerate().filter(|(c, _)| Some(*c) != background).fold((0, f32::MIN), |b, (c, &v)| {
            if v > b.1 {
                (c, v)
            } else {
                b
            }
        });
        if best.1 < thr {
            continue;
        }
        let b = &boxes[i * 4..i * 4 + 4];
        let (x0, y0, x1, y1) = match fmt {
            BoxFormat::YxyxNormalized => (b[1] * w, b[0] * h, b[3] * w, b[2] * h),
            BoxFormat::XyxyNormalized => (b[0] * w, b[1] * h, b[2] * w, b[3] * h),
            BoxFormat::XyxyPixels => (b[0], b[1], b[2], b[3]),
        };
        out.push(Candidate {
            bbox: BBox { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
            score: best.1,
            class: best.0,
            keypoints: vec![],
        });
    }
    Ok(out)
}

pub struct ObjectDetector {
    model: Model,
    manifest: DetectorManifest,
    input: String,
}

impl ObjectDetector {
    pub fn new(model: Model, manifest: DetectorManifest) -> Result<Self> {
        manifest.model.input.validate()?;
        let input = input_name(&model, &manifest.model.input.name)?;
        match &manifest.decoder {
            DetectionDecoder::Yolo { output, .. } => check_outputs(&model, [output])?,
            DetectionDecoder::Ssd { boxes, scores, .. } => check_outputs(&model, [boxes, scores])?,
        }
        if manifest.labels.is_empty() {
            return Err(Error::InvalidArgument("the detector manifest has no labels".into()));
        }
        Ok(ObjectDetector { model, manifest, input })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub async fn detect(&mut self, img: &RgbaImage) -> Result<Vec<Detection>> {
        let spec = &self.manifest.model.input;
        let (mut outs, to_source) = forward_frame(&mut self.model, &self.input, spec, img).await?;
        let classes = self.manifest.labels.len();
        let size = (spec.width as f32, spec.height as f32);
        let (cands, iou, max) = match &self.manifest.decoder {
            DetectionDecoder::Yolo {
                output,
                objectness,
                activation,
                score_threshold,
                iou_threshold,
                max_detections,
            } => {
                let (dims, data) = take(&mut outs, output)?;
                (
                    decode_yolo(&dims, &data, classes, *objectness, *activation, *score_threshold)?,
                    *iou_threshold,
                    *max_detections,
                )
            }
            DetectionDecoder::Ssd {
                boxes,
                scores,
                box_format,
                activation,
                background_class,
                score_threshold,
                iou_threshold,
                max_detections,
            } => {
                let (_, b) = take(&mut outs, boxes)?;
                let (_, s) = take(&mut outs, scores)?;
                let c =
                    decode_ssd(&b, &s, classes, *box_format, *activation, *background_class, *score_threshold, size)?;
                (c, *iou_threshold, *max_detections)
            }
        };
        let (iw, ih) = (img.width as f32, img.height as f32);
        Ok(hard_nms(cands, iou, max)
            .into_iter()
            .map(|c| {
                let (x0, y0) = to_source.point(c.bbox.x, c.bbox.y);
                let (x1, y1) = to_source.point(c.bbox.x + c.bbox.width, c.bbox.y + c.bbox.height);
                Detection {
                    bbox: BBox { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }.clip(iw, ih),
                    score: c.score,
                    class_index: c.class,
                    label: self.manifest.labels[c.class].clone(),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yolo_v8_and_v5_layouts() {
        // Two candidates, 2 classes, YOLOv8 layout [1, 6, 2] (channels first).
        let v8 = [10.0, 50.0, 10.0, 50.0, 4.0, 8.0, 4.0, 8.0, 0.9, 0.1, 0.05, 0.7];
        let c = decode_yolo(&[1, 6, 2], &v8, 2, false, Activation::None, 0.25).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].class, c[0].bbox.x, c[0].bbox.width), (0, 8.0, 4.0));
        assert_eq!((c[1].class, c[1].score), (1, 0.7));
        // YOLOv5: [1, 1, 7] rows with objectness 0.5 scaling class 0.8 → 0.4.
        let v5 = [10.0, 10.0, 2.0, 2.0, 0.5, 0.8, 0.1];
        let c = decode_yolo(&[1, 1, 7], &v5, 2, true, Activation::None, 0.25).unwrap();
        assert!((c[0].score - 0.4).abs() < 1e-6);
        assert!(decode_yolo(&[1, 5, 3], &[0.0; 15], 2, false, Activation::None, 0.2).is_err());
    }

    #[test]
    fn ssd_skips_background() {
        let boxes = [0.1, 0.2, 0.5, 0.6];
        let scores = [0.9, 0.6]; // background 0.9, class 1 0.6
        let c =
            decode_ssd(&boxes, &scores, 2, BoxFormat::YxyxNormalized, Activation::None, Some(0), 0.5, (100.0, 200.0))
                .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].class, 1);
        // (ymin, xmin, ymax, xmax) = (0.1, 0.2, 0.5, 0.6) of 100 × 200
        let b = c[0].bbox;
        assert!((b.x - 20.0).abs() < 1e-4 && (b.y - 20.0).abs() < 1e-4, "{b:?}");
        assert!((b.width - 40.0).abs() < 1e-4 && (b.height - 80.0).abs() < 1e-4, "{b:?}");
    }
}
