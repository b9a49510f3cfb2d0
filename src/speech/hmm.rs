//! Hidden Markov models in log space: Viterbi, forward-backward and Baum-Welch for models with
//! diagonal-Gaussian emissions (the enrolment of custom commands), plus the log-sum-exp helpers the
//! grammar decoder shares. Everything is f64 and log-domain, so long inputs neither underflow nor
//! lose precision.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub const LOG_ZERO: f64 = f64::NEG_INFINITY;
const LN_2PI: f64 = 1.837_877_066_409_345_5;

pub fn log_sum_exp(xs: impl IntoIterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().into_iter().fold(LOG_ZERO, f64::max);
    if m == LOG_ZERO {
        return LOG_ZERO;
    }
    m + xs.into_iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

fn ln(p: f64) -> f64 {
    if p > 0.0 {
        p.ln()
    } else {
        LOG_ZERO
    }
}

/// A diagonal Gaussian over feature vectors.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DiagGaussian {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
}

impl DiagGaussian {
    pub fn log_pdf(&self, x: &[f32]) -> f64 {
        let mut s = 0.0;
        for ((&xi, &m), &v) in x.iter().zip(&self.mean).zip(&self.var) {
            let d = xi as f64 - m;
            s += d * d / v + v.ln();
        }
        -0.5 * (s + self.mean.len() as f64 * LN_2PI)
    }
}

/// An HMM with one diagonal Gaussian per state. Probabilities are stored plainly (as hmmlearn
/// does) and used in log space.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GaussianHmm {
    pub start: Vec<f64>,
    /// `trans[i][j]`: P(state j at t+1 | state i at t).
    pub trans: Vec<Vec<f64>>,
    pub states: Vec<DiagGaussian>,
}

/// What a Baum-Welch run did.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Total log-likelihood of the data before each iteration's update.
    pub log_likelihoods: Vec<f64>,
}

impl GaussianHmm {
    pub fn n_states(&self) -> usize {
        self.start.len()
    }

    pub fn dims(&self) -> usize {
        self.states.first().map_or(0, |s| s.mean.len())
    }

    /// Checks shapes and that probabilities are probabilities: loaded JSON is untrusted.
    pub fn validate(&self) -> Result<()> {
        let n = self.n_states();
        let bad = |m: String| Err(Error::InvalidArgument(format!("HMM: {m}")));
        if n == 0 || self.trans.len() != n || self.states.len() != n {
            return bad(format!(
                "{n} start probabilities, {} transition rows and {} states must agree and be non-zero",
                self.trans.len(),
                self.states.len()
            ));
        }
        let d = self.dims();
        let prob_row =
            |r: &[f64]| r.iter().all(|p| p.is_finite() && *p >= 0.0) && (r.iter().sum::<f64>() - 1.0).abs() < 1e-6;
        if !prob_row(&self.start) {
            return bad("start probabilities must be ≥ 0 and sum to 1".into());
        }
        for (i, r) in self.trans.iter().enumerate() {
            if r.len() != n || !prob_row(r) {
                return bad(format!("transition row {i} must have {n} probabilities ≥ 0 summing to 1"));
            }
        }
        for (i, s) in self.states.iter().enumerate() {
            if d == 0 || s.mean.len() != d || s.var.len() != d {
                return bad(format!("state {i} must have {d} means and {d} variances"));
            }
            if s.mean.iter().any(|m| !m.is_finite()) || s.var.iter().any(|v| !v.is_finite() || *v <= 0.0) {
                return bad(format!("state {i}: means must be finite and variances > 0"));
            }
        }
        Ok(())
    }

    /// `log_b[t][k]` = log N(x_t; state k).
    pub fn emissions(&self, xs: &[Vec<f32>]) -> Vec<Vec<f64>> {
        xs.iter().map(|x| self.states.iter().map(|s| s.log_pdf(x)).collect()).collect()
    }

    fn log_trans(&self) -> Vec<Vec<f64>> {
        self.trans.iter().map(|r| r.iter().map(|&p| ln(p)).collect()).collect()
    }

    /// The most likely state path and its log-probability.
    pub fn viterbi(&self, xs: &[Vec<f32>]) -> (Vec<usize>, f64) {
        viterbi(&self.start.iter().map(|&p| ln(p)).collect::<Vec<_>>(), &self.log_trans(), &self.emissions(xs))
    }

    /// log P(xs | model).
    pub fn log_likelihood(&self, xs: &[Vec<f32>]) -> f64 {
        let (alpha, _) = self.forward(&self.emissions(xs));
        alpha.last().map_or(0.0, |a| log_sum_exp(a.iter().copied()))
    }

    fn forward(&self, log_b: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let n = self.n_states();
        let lt = self.log_trans();
        let mut alpha = Vec::with_capacity(log_b.len());
        for (t, b) in log_b.iter().enumerate() {
            let a: Vec<f64> = (0..n)
                .map(|j| {
                    let prev = if t == 0 {
                        ln(self.start[j])
                    } else {
                        let p: &Vec<f64> = &alpha[t - 1];
                        log_sum_exp((0..n).map(|i| p[i] + lt[i][j]))
                    };
                    prev + b[j]
                })
                .collect();
            alpha.push(a);
        }
        let mut beta = vec![vec![0.0; n]; log_b.len()];
        for t in (0..log_b.len().saturating_sub(1)).rev() {
            for i in 0..n {
                beta[t][i] = log_sum_exp((0..n).map(|j| lt[i][j] + log_b[t + 1][j] + beta[t + 1][j]));
            }
        }
        (alpha, beta)
    }

    /// Baum-Welch (EM) on several sequences: start, transition and Gaussian parameters all
    /// re-estimated; structural zeros (a left-to-right topology) stay zero. `var_floor` keeps
    /// variances of sparsely visited states from collapsing.
    pub fn fit(&mut self, seqs: &[Vec<Vec<f32>>], iterations: usize, var_floor: f64) -> Result<FitReport> {
        let (n, d) = (self.n_states(), self.dims());
        if seqs.iter().all(|s| s.is_empty()) {
            return Err(Error::InvalidArgument("Baum-Welch needs at least one non-empty sequence".into()));
        }
        if seqs.iter().flatten().any(|x| x.len() != d || x.iter().any(|v| !v.is_finite())) {
            return Err(Error::InvalidArgument(format!("every frame must have {d} finite values")));
        }
        let mut report = FitReport { log_likelihoods: vec![] };
        for _ in 0..iterations {
            let lt = self.log_trans();
            let mut start_acc = vec![0.0; n];
            let mut trans_acc = vec![vec![0.0; n]; n];
            let mut gamma_sum = vec![0.0; n];
            let mut x_sum = vec![vec![0.0; d]; n];
            let mut xx_sum = vec![vec![0.0; d]; n];
            let mut total = 0.0;
            for xs in seqs.iter().filter(|s| !s.is_empty()) {
                let log_b = self.emissions(xs);
                let (alpha, beta) = self.forward(&log_b);
                let ll = log_sum_exp(alpha[xs.len() - 1].iter().copied());
                if !ll.is_finite() {
                    return Err(Error::InvalidArgument(
                        "a sequence is impossible under the model (too short for its left-to-right states?)".into(),
                    ));
                }
                total += ll;
                for t in 0..xs.len() {
                    for k in 0..n {
                        let g = (alpha[t][k] + beta[t][k] - ll).exp();
                        if t == 0 {
                            start_acc[k] += g;
                        }
                        gamma_sum[k] += g;
                        for (j, &x) in xs[t].iter().enumerate() {
                            x_sum[k][j] += g * x as f64;
                            xx_sum[k][j] += g * (x as f64) * (x as f64);
                        }
                    }
                    if t + 1 < xs.len() {
                        for i in 0..n {
                            for j in 0..n {
                                if lt[i][j] > LOG_ZERO {
                                    trans_acc[i][j] +=
                                        (alpha[t][i] + lt[i][j] + log_b[t + 1][j] + beta[t + 1][j] - ll).exp();
                                }
                            }
                        }
                    }
                }
            }
            report.log_likelihoods.push(total);
            let s: f64 = start_acc.iter().sum();
            self.start = start_acc.iter().map(|v| v / s).collect();
            for (i, row) in trans_acc.iter().enumerate() {
                let s: f64 = row.iter().sum();
                if s > 0.0 {
                    self.trans[i] = row.iter().map(|v| v / s).collect();
                }
            }
            for k in 0..n {
                if gamma_sum[k] <= 1e-10 {
                    continue; // never visited: keep the old parameters
                }
                let g = gamma_sum[k];
                let st = &mut self.states[k];
                for j in 0..d {
                    let m = x_sum[k][j] / g;
                    st.mean[j] = m;
                    st.var[j] = (xx_sum[k][j] / g - m * m).max(var_floor).max(1e-12);
                }
            }
        }
        Ok(report)
    }
}

/// Viterbi over log start, log transition and per-frame log emission scores.
pub fn viterbi(log_start: &[f64], log_trans: &[Vec<f64>], log_b: &[Vec<f64>]) -> (Vec<usize>, f64) {
    let n = log_start.len();
    if log_b.is_empty() || n == 0 {
        return (vec![], 0.0);
    }
    let mut delta: Vec<f64> = (0..n).map(|k| log_start[k] + log_b[0][k]).collect();
    let mut back = vec![vec![0usize; n]; log_b.len()];
    for t in 1..log_b.len() {
        let mut next = vec![LOG_ZERO; n];
        for j in 0..n {
            let (bi, bv) =
                (0..n)
                    .map(|i| (i, delta[i] + log_trans[i][j]))
                    .fold((0, LOG_ZERO), |acc, x| if x.1 > acc.1 { x } else { acc });
            next[j] = bv + log_b[t][j];
            back[t][j] = bi;
        }
        delta = next;
    }
    let (mut k, score) =
        delta.iter().copied().enumerate().fold((0, LOG_ZERO), |acc, x| if x.1 > acc.1 { x } else { acc });
    let mut path = vec![0; log_b.len()];
    for t in (0..log_b.len()).rev() {
        path[t] = k;
        k = back[t][k];
    }
    (path, score)
}

/// A left-to-right HMM: start in state 0, stay or move one state on.
pub fn left_to_right(states: Vec<DiagGaussian>, stay: f64) -> GaussianHmm {
    let n = states.len();
    let mut trans = vec![vec![0.0; n]; n];
    for (i, row) in trans.iter_mut().enumerate() {
        if i + 1 < n {
            row[i] = stay;
            row[i + 1] = 1.0 - stay;
        } else {
            row[i] = 1.0;
        }
    }
    let mut start = vec![0.0; n];
    start[0] = 1.0;
    GaussianHmm { start, trans, states }
}
