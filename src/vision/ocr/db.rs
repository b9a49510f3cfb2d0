//! DB (differentiable binarisation) post-processing, as PaddleOCR/RapidOCR do it: threshold the
//! text probability map, dilate, take connected regions, fit a minimum-area rectangle to each,
//! score it by the mean probability inside, and grow it by the "unclip" distance
//! `area · ratio / perimeter` that undoes the shrinking the model was trained with.

use serde::{Deserialize, Serialize};

use super::geometry::{min_area_rect, Pt, RotRect};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DbParams {
    /// Pixel probability above which a pixel is text.
    pub threshold: f32,
    /// Mean probability a region needs to be kept.
    pub box_threshold: f32,
    pub unclip_ratio: f32,
    pub max_candidates: usize,
    /// Regions whose shorter side is below this (detector pixels) are noise.
    pub min_size: f32,
    /// Resize rule: `"max"` shrinks frames whose longer side exceeds `limitSide`; `"min"`
    /// enlarges frames whose shorter side is below it (better for small print, slower).
    pub limit_type: LimitType,
    pub limit_side: usize,
    pub dilate: bool,
    /// When set, every frame is letterboxed into one `fixedSide × fixedSide` detector input
    /// instead of a size that follows the frame's: one shape, which the WebGPU backend needs (it
    /// defaults to `limitSide` there) and which lets the CPU keep a single plan.
    pub fixed_side: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitType {
    Max,
    Min,
}

impl Default for DbParams {
    fn default() -> Self {
        DbParams {
            threshold: 0.3,
            box_threshold: 0.5,
            unclip_ratio: 1.6,
            max_candidates: 1000,
            min_size: 3.0,
            limit_type: LimitType::Max,
            limit_side: 960,
            dilate: true,
            fixed_side: None,
        }
    }
}

impl DbParams {
    /// The detector's input size for a `w × h` frame: scaled by the limit rule, each side a
    /// multiple of 32 (the network's total stride).
    pub fn input_size(&self, w: usize, h: usize) -> (usize, usize) {
        if let Some(side) = self.fixed_side {
            return (side, side);
        }
        let (short, long) = (w.min(h) as f32, w.max(h) as f32);
        let ratio = match self.limit_type {
            LimitType::Max if long > self.limit_side as f32 => self.limit_side as f32 / long,
            LimitType::Min if short < self.limit_side as f32 => self.limit_side as f32 / short,
            _ => 1.0,
        };
        let round32 = |v: f32| (((v * ratio) / 32.0).round() as usize * 32).clamp(32, 4096);
        (round32(w as f32), round32(h as f32))
    }
}

/// The fixed side rounded to the network's stride, or why it cannot be used.
pub fn round_side(side: usize) -> crate::Result<usize> {
    if !(32..=4096).contains(&side) {
        return Err(crate::Error::InvalidArgument(format!(
            "the text detector's fixedSide {side} is out of range: use 32..4096 pixels (a multiple of 32)"
        )));
    }
    Ok(side.div_ceil(32) * 32)
}

/// Text regions in detector pixels with their scores, unordered.
pub fn boxes_from_map(prob: &[f32], w: usize, h: usize, p: &DbParams) -> Vec<(RotRect, f32)> {
    let mut mask: Vec<bool> = prob.iter().map(|&v| v > p.threshold).collect();
    if p.dilate {
        // OpenCV's 2×2 dilation (anchor at the kernel's centre): a pixel is set when it or its
        // left, upper or upper-left neighbour is.
        let src = mask.clone();
        for y in 0..h {
            for x in 0..w {
                let at = |dx: usize, dy: usize| x >= dx && y >= dy && src[(y - dy) * w + x - dx];
                mask[y * w + x] = at(0, 0) || at(1, 0) || at(0, 1) || at(1, 1);
            }
        }
    }
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] || seen[start] {
            continue;
        }
        if out.len() >= p.max_candidates {
            break;
        }
        // 8-connected region; its boundary pixels are what `findContours` would return.
        let mut boundary: Vec<Pt> = Vec::new();
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            let mut edge = false;
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    if dx == 0 && dy == 0 {
                        continue;
                    }
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        edge = true;
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if !mask[j] {
                        edge = true;
                    } else if !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
            if edge {
                boundary.push((x as f32, y as f32));
            }
        }
        let Some(rect) = min_area_rect(&boundary) else { continue };
        if rect.height < p.min_size {
            continue;
        }
        let score = mean_inside(prob, w, h, &rect);
        if score < p.box_threshold {
            continue;
        }
        let perimeter = 2.0 * (rect.width + rect.height);
        let grown = rect.grown(rect.width * rect.height * p.unclip_ratio / perimeter);
        if grown.height < p.min_size + 2.0 {
            continue;
        }
        out.push((grown, score));
    }
    out
}

/// Mean probability over the pixels inside the rectangle (DB's "fast" score).
fn mean_inside(prob: &[f32], w: usize, h: usize, r: &RotRect) -> f32 {
    let c = r.corners();
    let clampi = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi - 1);
    let x0 = clampi(c.iter().map(|p| p.0).fold(f32::MAX, f32::min).floor(), w);
    let x1 = clampi(c.iter().map(|p| p.0).fold(f32::MIN, f32::max).ceil(), w);
    let y0 = clampi(c.iter().map(|p| p.1).fold(f32::MAX, f32::min).floor(), h);
    let y1 = clampi(c.iter().map(|p| p.1).fold(f32::MIN, f32::max).ceil(), h);
    let (mut sum, mut n) = (0.0, 0usize);
    for y in y0..=y1 {
        for x in x0..=x1 {
            if r.contains((x as f32, y as f32)) {
                sum += prob[y * w + x];
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_bars_two_boxes() {
        let (w, h) = (64, 32);
        let mut prob = vec![0f32; w * h];
        for y in 4..10 {
            for x in 5..40 {
                prob[y * w + x] = 0.9;
            }
        }
        for y in 20..26 {
            for x in 10..60 {
                prob[y * w + x] = 0.8;
            }
        }
        let mut boxes = boxes_from_map(&prob, w, h, &DbParams::default());
        boxes.sort_by(|a, b| a.0.center.1.total_cmp(&b.0.center.1));
        assert_eq!(boxes.len(), 2);
        let (r, s) = boxes[0];
        // Scored over the dilated box: 35×6 pixels of 0.9 among 36×7.
        assert!((s - 0.9 * 210.0 / 252.0).abs() < 1e-3, "{s}");
        // Region 35×6 dilated to 36×7 (pixel centres 5..40 × 4..10 → 35 × 6 between centres),
        // then unclipped by area·1.6/perimeter.
        let d = 35.0 * 6.0 * 1.6 / (2.0 * 41.0);
        assert!((r.width - (35.0 + 2.0 * d)).abs() < 1e-3, "{r:?}");
        assert!((r.height - (6.0 + 2.0 * d)).abs() < 1e-3, "{r:?}");
    }

    #[test]
    fn faint_and_tiny_regions_are_dropped() {
        let (w, h) = (32, 32);
        let mut prob = vec![0f32; w * h];
        for x in 2..30 {
            prob[5 * w + x] = 0.9; // one pixel tall
            prob[15 * w + x] = 0.35; // above threshold, below boxThreshold
            prob[16 * w + x] = 0.35;
            prob[17 * w + x] = 0.35;
            prob[18 * w + x] = 0.35;
        }
        assert!(boxes_from_map(&prob, w, h, &DbParams::default()).is_empty());
    }

    #[test]
    fn input_size_rules() {
        let p = DbParams::default();
        assert_eq!(p.input_size(640, 480), (640, 480));
        assert_eq!(p.input_size(1920, 1080), (960, 544));
        let small = DbParams { limit_type: LimitType::Min, limit_side: 736, ..p };
        assert_eq!(small.input_size(384, 191), (1472, 736));
    }
}
