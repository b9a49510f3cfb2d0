//! Explanations: class activation maps (Zhou et al. 2016). For a network that ends in global
//! average pooling + a linear layer, the class score is the spatial mean of `w_c · features(x, y)`,
//! so that per-position sum is exactly where the evidence for the class lies: no gradients, one
//! forward pass.

use super::preprocess::ToSource;

/// `[C, h, w]` features · `weights[C]` + `bias` → `h × w` map.
pub fn class_activation_map(feats: &[f32], c: usize, h: usize, w: usize, weights: &[f32], bias: f32) -> Vec<f32> {
    let n = h * w;
    let mut out = vec![bias; n];
    for (ch, wc) in weights.iter().enumerate().take(c) {
        let plane = &feats[ch * n..(ch + 1) * n];
        for (o, f) in out.iter_mut().zip(plane) {
            *o += wc * f;
        }
    }
    out
}

/// A heatmap over the source frame, values in 0..=1 (1 = strongest evidence).
#[derive(Clone, Debug)]
pub struct Saliency {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

impl Saliency {
    /// Upsamples a `gw × gh` grid (covering the model's `in_w × in_h` input) to the source frame.
    /// Positive evidence only, scaled by its maximum; pixels the model did not see are 0.
    #[allow(clippy::too_many_arguments)]
    pub fn from_grid(
        grid: &[f32],
        gw: usize,
        gh: usize,
        in_w: usize,
        in_h: usize,
        to_source: &ToSource,
        width: usize,
        height: usize,
    ) -> Saliency {
        let max = grid.iter().copied().fold(0f32, f32::max);
        let norm: Vec<f32> = grid.iter().map(|v| if max > 0.0 { v.max(0.0) / max } else { 0.0 }).collect();
        let content = to_source.content;
        let mut values = vec![0f32; width * height];
        for y in 0..height {
            let iy = (y as f32 + 0.5 - to_source.offset_y) / to_source.scale_y;
            if iy < content.y || iy >= content.y + content.height {
                continue;
            }
            let gy = (iy * gh as f32 / in_h as f32 - 0.5).clamp(0.0, (gh - 1) as f32);
            let (y0, fy) = (gy.floor() as usize, gy.fract());
            let y1 = (y0 + 1).min(gh - 1);
            for x in 0..width {
                let ix = (x as f32 + 0.5 - to_source.offset_x) / to_source.scale_x;
                if ix < content.x || ix >= content.x + content.width {
                    continue;
                }
                let gx = (ix * gw as f32 / in_w as f32 - 0.5).clamp(0.0, (gw - 1) as f32);
                let (x0, fx) = (gx.floor() as usize, gx.fract());
                let x1 = (x0 + 1).min(gw - 1);
                let top = norm[y0 * gw + x0] * (1.0 - fx) + norm[y0 * gw + x1] * fx;
                let bottom = norm[y1 * gw + x0] * (1.0 - fx) + norm[y1 * gw + x1] * fx;
                values[y * width + x] = top * (1.0 - fy) + bottom * fy;
            }
        }
        Saliency { width, height, values }
    }

    /// RGBA overlay (`ImageData` layout): a blue→red ramp whose opacity follows the evidence.
    pub fn to_rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.values.len() * 4);
        for &v in &self.values {
            let v = v.clamp(0.0, 1.0);
            let r = (255.0 * (1.5 * v).min(1.0)) as u8;
            let g = (255.0 * (1.0 - (2.0 * v - 1.0).abs())) as u8;
            let b = (255.0 * (1.0 - 1.5 * v).max(0.0)) as u8;
            out.extend_from_slice(&[r, g, b, (200.0 * v) as u8]);
        }
        out
    }

    /// Fraction of the total heat inside a rectangle of the frame (tests, and "is it looking at
    /// the part?" checks in portals).
    pub fn mass_in(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> f32 {
        let total: f32 = self.values.iter().sum();
        if total <= 0.0 {
            return 0.0;
        }
        let mut s = 0.0;
        for y in y0.min(self.height)..y1.min(self.height) {
            s += self.values[y * self.width + x0.min(self.width)..y * self.width + x1.min(self.width)]
                .iter()
                .sum::<f32>();
        }
        s / total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::image::Rect;

    #[test]
    fn cam_is_the_weighted_channel_sum() {
        // 2 channels of 1×2: [1, 2] and [10, 20]; weights [1, -0.1], bias 0.5.
        let m = class_activation_map(&[1.0, 2.0, 10.0, 20.0], 2, 1, 2, &[1.0, -0.1], 0.5);
        assert_eq!(m, vec![0.5, 0.5]);
    }

    #[test]
    fn heat_lands_where_the_grid_is_hot() {
        // 2×2 grid hot in its right half, over a 4×4 input that is the whole 8×8 frame.
        let map = ToSource {
            scale_x: 2.0,
            scale_y: 2.0,
            offset_x: 0.0,
            offset_y: 0.0,
            content: Rect { x: 0.0, y: 0.0, width: 4.0, height: 4.0 },
        };
        let s = Saliency::from_grid(&[0.0, 1.0, -3.0, 2.0], 2, 2, 4, 4, &map, 8, 8);
        assert!(s.mass_in(4, 0, 8, 8) > 0.85, "{}", s.mass_in(4, 0, 8, 8));
        assert_eq!(s.values[7 * 8 + 7], 1.0);
        assert_eq!(s.values[7 * 8], 0.0); // negative evidence is not shown
    }
}
