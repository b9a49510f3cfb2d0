//! Plane geometry for text boxes: convex hull and minimum-area rectangle (rotating calipers over
//! the hull's edges), as OpenCV's `minAreaRect` gives PP-OCR's reference post-processing.

pub type Pt = (f32, f32);

/// Andrew's monotone chain; counter-clockwise in y-down image coordinates is irrelevant here.
pub fn convex_hull(mut pts: Vec<Pt>) -> Vec<Pt> {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: Pt, a: Pt, b: Pt| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut hull: Vec<Pt> = Vec::with_capacity(pts.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &Pt>> =
            if pass == 0 { Box::new(pts.iter()) } else { Box::new(pts.iter().rev()) };
        for &p in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// A rotated rectangle: centre, side lengths along its unit axes `u` and `v = u⊥`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RotRect {
    pub center: Pt,
    pub u: Pt,
    pub width: f32,
    pub height: f32,
}

impl RotRect {
    pub fn v(&self) -> Pt {
        (-self.u.1, self.u.0)
    }

    /// Corners ordered top-left, top-right, bottom-right, bottom-left (PP-OCR's order: by x
    /// then y, as `get_mini_boxes` sorts them).
    pub fn corners(&self) -> [Pt; 4] {
        let (u, v) = (self.u, self.v());
        let (hw, hh) = (self.width / 2.0, self.height / 2.0);
        let c = self.center;
        let mut p = [
            (c.0 - u.0 * hw - v.0 * hh, c.1 - u.1 * hw - v.1 * hh),
            (c.0 + u.0 * hw - v.0 * hh, c.1 + u.1 * hw - v.1 * hh),
            (c.0 + u.0 * hw + v.0 * hh, c.1 + u.1 * hw + v.1 * hh),
            (c.0 - u.0 * hw + v.0 * hh, c.1 - u.1 * hw + v.1 * hh),
        ];
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (l0, l1) = if p[0].1 <= p[1].1 { (p[0], p[1]) } else { (p[1], p[0]) };
        let (r0, r1) = if p[2].1 <= p[3].1 { (p[2], p[3]) } else { (p[3], p[2]) };
        [l0, r0, r1, l1]
    }

    pub fn contains(&self, p: Pt) -> bool {
        let d = (p.0 - self.center.0, p.1 - self.center.1);
        let v = self.v();
        (d.0 * self.u.0 + d.1 * self.u.1).abs() <= self.width / 2.0 + 1e-3
            && (d.0 * v.0 + d.1 * v.1).abs() <= self.height / 2.0 + 1e-3
    }

    /// Grown by `d` on every side (a rectangle offset with round joins has this min-area rect).
    pub fn grown(&self, d: f32) -> RotRect {
        RotRect { width: self.width + 2.0 * d, height: self.height + 2.0 * d, ..*self }
    }
}

/// The minimum-area enclosing rectangle of `pts` (one side lies on a hull edge).
pub fn min_area_rect(pts: &[Pt]) -> Option<RotRect> {
    let hull = convex_hull(pts.to_vec());
    match hull.len() {
        0 => return None,
        1 => return Some(RotRect { center: hull[0], u: (1.0, 0.0), width: 0.0, height: 0.0 }),
        _ => {}
    }
    let mut best: Option<(f32, RotRect)> = None;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if len == 0.0 {
            continue;
        }
        let u = ((b.0 - a.0) / len, (b.1 - a.1) / len);
        let v = (-u.1, u.0);
        let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for p in &hull {
            let pu = p.0 * u.0 + p.1 * u.1;
            let pv = p.0 * v.0 + p.1 * v.1;
            umin = umin.min(pu);
            umax = umax.max(pu);
            vmin = vmin.min(pv);
            vmax = vmax.max(pv);
        }
        let area = (umax - umin) * (vmax - vmin);
        if best.as_ref().is_none_or(|(ba, _)| area < *ba) {
            let (cu, cv) = ((umin + umax) / 2.0, (vmin + vmax) / 2.0);
            let center = (cu * u.0 + cv * v.0, cu * u.1 + cv * v.1);
            // Keep `u` the longer, left-to-right axis: text runs along it.
            let (mut rect_u, mut w, mut h) = (u, umax - umin, vmax - vmin);
            if h > w {
                rect_u = v;
                std::mem::swap(&mut w, &mut h);
            }
            if rect_u.0 < 0.0 || (rect_u.0 == 0.0 && rect_u.1 < 0.0) {
                rect_u = (-rect_u.0, -rect_u.1);
            }
            best = Some((area, RotRect { center, u: rect_u, width: w, height: h }));
        }
    }
    best.map(|(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_aligned_points_give_their_bounding_box() {
        let pts: Vec<Pt> = (0..10).flat_map(|x| (0..3).map(move |y| (x as f32, y as f32))).collect();
        let r = min_area_rect(&pts).unwrap();
        assert!((r.width - 9.0).abs() < 1e-4 && (r.height - 2.0).abs() < 1e-4, "{r:?}");
        assert_eq!(r.corners(), [(0.0, 0.0), (9.0, 0.0), (9.0, 2.0), (0.0, 2.0)]);
    }

    #[test]
    fn rotated_bar_is_found_at_its_angle() {
        // A 20×2 bar rotated by 30°.
        let (s, c) = 30f32.to_radians().sin_cos();
        let pts: Vec<Pt> = (0..=40)
            .flat_map(|i| (0..=4).map(move |j| (i as f32 * 0.5, j as f32 * 0.5)))
            .map(|(x, y)| (x * c - y * s + 50.0, x * s + y * c + 50.0))
            .collect();
        let r = min_area_rect(&pts).unwrap();
        assert!((r.width - 20.0).abs() < 1e-3 && (r.height - 2.0).abs() < 1e-3, "{r:?}");
        assert!((r.u.1.atan2(r.u.0).to_degrees() - 30.0).abs() < 1e-2);
        assert!(pts.iter().all(|&p| r.contains(p)));
    }
}
