//! Where a camera frame's pixels go in a vision model's input tensor, and how they are
//! normalised: decided once by the vision layer (`vision::preprocess`), carried out by a backend
//! (the GPU's frame pass today). Neutral ground below both, so that neither imports the other.

use crate::{Error, Result};

/// Where a frame's pixels go in the input tensor, and how they are normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameTransform {
    /// The input's width and height.
    pub width: u32,
    pub height: u32,
    /// The part of the input that holds image (x, y, width, height); zero pixels elsewhere.
    pub content: [u32; 4],
    /// The source rectangle resampled into `content` (x, y, width, height), in source pixels.
    pub rect: [f32; 4],
    /// The source rows the vertical filter reads: [first, end).
    pub rows: [u32; 2],
    pub nhwc: bool,
    /// Per input channel, the frame channel it takes (0 red, 1 green, 2 blue).
    pub order: [u32; 3],
    pub mean: [f32; 3],
    pub scale: [f32; 3],
}

impl FrameTransform {
    /// Inconsistent geometry would read outside the frame or the temporary rows.
    pub fn check(&self, rgba: &[u8], src_w: u32, src_h: u32) -> Result<()> {
        let [cx, cy, cw, ch] = self.content;
        let ok = rgba.len() as u64 == src_w as u64 * src_h as u64 * 4
            && cw > 0
            && ch > 0
            && cx + cw <= self.width
            && cy + ch <= self.height
            && self.rows[0] < self.rows[1]
            && self.rows[1] <= src_h
            && src_w > 0
            && self.order.iter().all(|&c| c < 3)
            && self.rect.iter().chain(&self.mean).chain(&self.scale).all(|v| v.is_finite());
        if ok {
            Ok(())
        } else {
            Err(Error::Internal(format!("inconsistent frame transform {self:?} for a {src_w}×{src_h} frame")))
        }
    }
}
