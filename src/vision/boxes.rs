//! Boxes in source pixels and the two suppressions detectors use: hard NMS (YOLO/SSD heads) and
//! MediaPipe's weighted NMS, which averages overlapping detections instead of dropping them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl BBox {
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    pub fn iou(&self, o: &BBox) -> f32 {
        let x0 = self.x.max(o.x);
        let y0 = self.y.max(o.y);
        let x1 = (self.x + self.width).min(o.x + o.width);
        let y1 = (self.y + self.height).min(o.y + o.height);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.area() + o.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }

    /// Clipped to a `w × h` frame.
    pub fn clip(&self, w: f32, h: f32) -> BBox {
        let x0 = self.x.clamp(0.0, w);
        let y0 = self.y.clamp(0.0, h);
        let x1 = (self.x + self.width).clamp(0.0, w);
        let y1 = (self.y + self.height).clamp(0.0, h);
        BBox { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }
    }
}

/// A scored box with optional keypoints (face landmarks), before suppression.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub bbox: BBox,
    pub score: f32,
    pub class: usize,
    pub keypoints: Vec<(f32, f32)>,
}

/// Greedy hard NMS per class: keeps the best box and drops those overlapping it above `iou`.
pub fn hard_nms(mut c: Vec<Candidate>, iou: f32, max: usize) -> Vec<Candidate> {
    c.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Candidate> = Vec::new();
    for cand in c {
        if kept.len() >= max {
            break;
        }
        if kept.iter().all(|k| k.class != cand.class || k.bbox.iou(&cand.bbox) <= iou) {
            kept.push(cand);
        }
    }
    kept
}

/// MediaPipe's weighted NMS: each cluster of boxes overlapping the best one above `iou` becomes one
/// detection whose box and keypoints are the score-weighted mean of the cluster (steadier boxes
/// frame to frame than hard NMS), with the best score.
pub fn weighted_nms(mut c: Vec<Candidate>, iou: f32, max: usize) -> Vec<Candidate> {
    c.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !c.is_empty() && out.len() < max {
        let best = c[0].clone();
        let (cluster, rest): (Vec<_>, Vec<_>) = c.into_iter().partition(|d| d.bbox.iou(&best.bbox) > iou);
        c = rest;
        let cluster = if cluster.is_empty() { vec![best.clone()] } else { cluster };
        let total: f32 = cluster.iter().map(|d| d.score).sum();
        let mut merged = Candidate {
            bbox: BBox { x: 0.0, y: 0.0, width: 0.0, height: 0.0 },
            score: best.score,
            class: best.class,
            keypoints: vec![(0.0, 0.0); best.keypoints.len()],
        };
        for d in &cluster {
            let w = d.score / total;
            merged.bbox.x += w * d.bbox.x;
            merged.bbox.y += w * d.bbox.y;
            merged.bbox.width += w * d.bbox.width;
            merged.bbox.height += w * d.bbox.height;
            for (m, k) in merged.keypoints.iter_mut().zip(&d.keypoints) {
                m.0 += w * k.0;
                m.1 += w * k.1;
            }
        }
        out.push(merged);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(x: f32, score: f32, class: usize) -> Candidate {
        Candidate { bbox: BBox { x, y: 0.0, width: 10.0, height: 10.0 }, score, class, keypoints: vec![(x, 0.0)] }
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = BBox { x: 0.0, y: 0.0, width: 10.0, height: 10.0 };
        let b = BBox { x: 5.0, y: 0.0, width: 10.0, height: 10.0 };
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&BBox { x: 20.0, ..a }), 0.0);
    }

    #[test]
    fn hard_nms_keeps_other_classes_and_far_boxes() {
        let kept = hard_nms(vec![cand(0.0, 0.9, 0), cand(1.0, 0.8, 0), cand(1.0, 0.7, 1), cand(50.0, 0.6, 0)], 0.5, 10);
        let xs: Vec<_> = kept.iter().map(|c| (c.bbox.x, c.class)).collect();
        assert_eq!(xs, vec![(0.0, 0), (1.0, 1), (50.0, 0)]);
    }

    #[test]
    fn weighted_nms_averages_a_cluster() {
        let out = weighted_nms(vec![cand(0.0, 0.75, 0), cand(2.0, 0.25, 0), cand(40.0, 0.5, 0)], 0.3, 10);
        assert_eq!(out.len(), 2);
        assert!((out[0].bbox.x - 0.5).abs() < 1e-6);
        assert!((out[0].keypoints[0].0 - 0.5).abs() < 1e-6);
        assert_eq!(out[0].score, 0.75);
        assert_eq!(out[1].bbox.x, 40.0);
    }
}
