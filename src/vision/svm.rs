//! A linear SVM head users train on the line: one-vs-rest, L2-regularised squared-hinge loss
//! (scikit-learn's `LinearSVC` defaults), solved by dual coordinate descent (Hsieh et al. 2008,
//! LIBLINEAR's solver 1) with the bias as an extra constant feature. 200 × 1280-d examples train in
//! milliseconds; the examples are kept so that classes can be added later and the head retrained.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SvmOptions {
    /// Inverse regularisation strength.
    pub c: f32,
    /// Stop when the projected gradient's spread falls below this.
    pub tolerance: f32,
    pub max_iterations: usize,
    /// The bias feature's value (LIBLINEAR's `B`, scikit-learn's `intercept_scaling`).
    pub bias_feature: f32,
}

impl Default for SvmOptions {
    fn default() -> Self {
        SvmOptions { c: 1.0, tolerance: 1e-4, max_iterations: 1000, bias_feature: 1.0 }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LinearSvm {
    pub dim: usize,
    pub classes: Vec<String>,
    pub options: SvmOptions,
    /// Per class: `dim` weights then the intercept. Empty until trained.
    pub weights: Vec<Vec<f32>>,
    /// (features, class index)
    pub examples: Vec<(Vec<f32>, usize)>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClassScore {
    pub label: String,
    pub decision: f32,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SvmPrediction {
    pub label: String,
    pub class_index: usize,
    pub decision: f32,
    /// Every class's decision value, best first.
    pub scores: Vec<ClassScore>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrainReport {
    pub examples: usize,
    pub classes: usize,
    /// Coordinate-descent epochs, the most any class needed.
    pub iterations: usize,
    pub converged: bool,
}

/// Most examples one head keeps (≈ 50 MB of 1280-d features).
pub const MAX_EXAMPLES: usize = 10_000;

impl LinearSvm {
    pub fn new(dim: usize, options: SvmOptions) -> Result<Self> {
        if dim == 0 || dim > 1 << 16 {
            return Err(Error::InvalidArgument(format!("feature size {dim} is out of range (1..=65536)")));
        }
        let positive = |v: f32| v.is_finite() && v > 0.0;
        if !positive(options.c) || !positive(options.tolerance) || options.max_iterations == 0 {
            return Err(Error::InvalidArgument(
                "SVM options: c and tolerance must be positive, maxIterations ≥ 1".into(),
            ));
        }
        Ok(LinearSvm { dim, classes: Vec::new(), options, weights: Vec::new(), examples: Vec::new() })
    }

    pub fn add_example(&mut self, features: &[f32], label: &str) -> Result<()> {
        if features.len() != self.dim {
            return Err(Error::InvalidArgument(format!(
                "the example has {} features, this head takes {}",
                features.len(),
                self.dim
            )));
        }
        if features.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument("the example has NaN or infinite features".into()));
        }
        if label.is_empty() || label.len() > 200 {
            return Err(Error::InvalidArgument("a label must be 1 to 200 bytes".into()));
        }
        if self.examples.len() >= MAX_EXAMPLES {
            return Err(Error::ResourceLimit(format!("this head already holds {MAX_EXAMPLES} examples")));
        }
        let k = match self.classes.iter().position(|c| c == label) {
            Some(k) => k,
            None => {
                self.classes.push(label.to_string());
                self.classes.len() - 1
            }
        };
        self.examples.push((features.to_vec(), k));
        Ok(())
    }

    pub fn is_trained(&self) -> bool {
        self.weights.len() == self.classes.len() && !self.weights.is_empty()
    }

    pub fn train(&mut self) -> Result<TrainReport> {
        if self.classes.len() < 2 {
            return Err(Error::InvalidArgument(format!(
                "training needs examples of at least 2 classes, this head has {}",
                self.classes.len()
            )));
        }
        let mut weights = Vec::with_capacity(self.classes.len());
        let (mut iterations, mut converged) = (0, true);
        for k in 0..self.classes.len() {
            let (w, it, ok) = self.train_binary(k);
            weights.push(w);
            iterations = iterations.max(it);
            converged &= ok;
        }
        self.weights = weights;
        Ok(TrainReport { examples: self.examples.len(), classes: self.classes.len(), iterations, converged })
    }

    /// Class `k` against the rest.
    fn train_binary(&self, k: usize) -> (Vec<f32>, usize, bool) {
        let o = &self.options;
        let n = self.examples.len();
        let d = self.dim;
        let b = o.bias_feature;
        let diag = 0.5 / o.c as f64; // squared hinge: D_ii = 1/(2C), no upper bound
        let y: Vec<f64> = self.examples.iter().map(|(_, c)| if *c == k { 1.0 } else { -1.0 }).collect();
        let qii: Vec<f64> = self
            .examples
            .iter()
            .map(|(x, _)| x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() + (b * b) as f64 + diag)
            .collect();
        let mut alpha = vec![0f64; n];
        let mut w = vec![0f64; d + 1];
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ k as u64;
        for it in 0..o.max_iterations {
            // Fisher-Yates with a fixed-seed xorshift: training is reproducible.
            for i in (1..n).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                order.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            let (mut pg_max, mut pg_min) = (f64::MIN, f64::MAX);
            for &i in &order {
                let x = &self.examples[i].0;
                let dot = x.iter().zip(&w).map(|(a, b)| *a as f64 * b).sum::<f64>() + w[d] * b as f64;
                let g = y[i] * dot - 1.0 + diag * alpha[i];
                let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
                pg_max = pg_max.max(pg);
                pg_min = pg_min.min(pg);
                if pg.abs() > 1e-12 {
                    let old = alpha[i];
                    alpha[i] = (alpha[i] - g / qii[i]).max(0.0);
                    let step = (alpha[i] - old) * y[i];
                    for (wj, xj) in w.iter_mut().zip(x) {
                        *wj += step * *xj as f64;
                    }
                    w[d] += step * b as f64;
                }
            }
            if pg_max - pg_min < o.tolerance as f64 {
                return (finish(w, b), it + 1, true);
            }
        }
        (finish(w, b), o.max_iterations, false)
    }

    /// Decision values per class (`w·x + intercept`).
    pub fn decision(&self, x: &[f32]) -> Result<Vec<f32>> {
        if !self.is_trained() {
            return Err(Error::InvalidArgument(
                "the SVM head is not trained: call train() after adding examples".into(),
            ));
        }
        if x.len() != self.dim {
            return Err(Error::InvalidArgument(format!("{} features given, this head takes {}", x.len(), self.dim)));
        }
        Ok(self
            .weights
            .iter()
            .map(|w| w[..self.dim].iter().zip(x).map(|(a, b)| a * b).sum::<f32>() + w[self.dim])
            .collect())
    }

    pub fn predict(&self, x: &[f32]) -> Result<SvmPrediction> {
        let dec = self.decision(x)?;
        let mut scores: Vec<ClassScore> =
            self.classes.iter().zip(&dec).map(|(l, &d)| ClassScore { label: l.clone(), decision: d }).collect();
        scores.sort_by(|a, b| b.decision.total_cmp(&a.decision));
        let best = self.classes.iter().position(|c| *c == scores[0].label).unwrap_or(0);
        Ok(SvmPrediction { label: scores[0].label.clone(), class_index: best, decision: scores[0].decision, scores })
    }

    pub fn to_json(&self) -> String {
        crate::json::to_string(self)
    }

    pub fn from_json(json: &str) -> Result<Self> {
        let s: LinearSvm =
            crate::json::from_str(json).map_err(|e| Error::InvalidArgument(format!("not a saved LinearSvm: {e}")))?;
        let mut fresh = LinearSvm::new(s.dim, s.options.clone())?;
        if s.classes.iter().collect::<std::collections::HashSet<_>>().len() != s.classes.len() {
            return Err(Error::InvalidArgument("a saved LinearSvm lists a class twice".into()));
        }
        if s.examples.len() > MAX_EXAMPLES
            || s.examples
                .iter()
                .any(|(x, k)| x.len() != s.dim || *k >= s.classes.len() || x.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::InvalidArgument(
                "a saved LinearSvm has examples that do not fit its classes or size".into(),
            ));
        }
        if !s.weights.is_empty()
            && (s.weights.len() != s.classes.len()
                || s.weights.iter().any(|w| w.len() != s.dim + 1 || w.iter().any(|v| !v.is_finite())))
        {
            return Err(Error::InvalidArgument(
                "a saved LinearSvm has weights that do not fit its classes or size".into(),
            ));
        }
        fresh.classes = s.classes;
        fresh.examples = s.examples;
        fresh.weights = s.weights;
        Ok(fresh)
    }
}

fn finish(w: Vec<f64>, b: f32) -> Vec<f32> {
    let d = w.len() - 1;
    let mut out: Vec<f32> = w[..d].iter().map(|v| *v as f32).collect();
    out.push((w[d] * b as f64) as f32);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_two_points() {
        let mut s = LinearSvm::new(2, SvmOptions::default()).unwrap();
        s.add_example(&[1.0, 0.0], "a").unwrap();
        s.add_example(&[-1.0, 0.0], "b").unwrap();
        let r = s.train().unwrap();
        assert!(r.converged);
        assert_eq!(s.predict(&[0.7, 0.3]).unwrap().label, "a");
        assert_eq!(s.predict(&[-0.2, 5.0]).unwrap().label, "b");
        let back = LinearSvm::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn hand_computed_dual_solution() {
        // x = ±1 in 1-D, bias feature 1, C = 1, squared hinge; the primal is
        // ½(w² + b²) + (1 − w − b)² + (1 − w + b)²: ∂b = 5b = 0, ∂w = 5w − 4 = 0 → w = 4/5.
        let mut s = LinearSvm::new(1, SvmOptions { tolerance: 1e-7, ..SvmOptions::default() }).unwrap();
        s.add_example(&[1.0], "pos").unwrap();
        s.add_example(&[-1.0], "neg").unwrap();
        s.train().unwrap();
        assert!((s.weights[0][0] - 0.8).abs() < 1e-4, "{:?}", s.weights);
        assert!(s.weights[0][1].abs() < 1e-4);
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let mut s = LinearSvm::new(2, SvmOptions::default()).unwrap();
        assert!(s.add_example(&[1.0], "a").is_err());
        assert!(s.add_example(&[f32::NAN, 0.0], "a").is_err());
        s.add_example(&[1.0, 0.0], "a").unwrap();
        assert!(s.train().is_err()); // one class
        assert!(s.predict(&[0.0, 0.0]).is_err()); // untrained
        assert!(LinearSvm::from_json("{}").is_err());
        assert!(LinearSvm::new(0, SvmOptions::default()).is_err());
    }
}
