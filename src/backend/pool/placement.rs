//! Where each plan's runs go in the threaded build: the pool or the caller's thread, chosen by
//! measuring both.

/// Where one plan's runs go in the threaded build. Handing a run to the pool and splitting its
/// products over threads has a fixed cost that a small model does not earn back (BlazeFace: 10 ms
/// on one thread, 14 ms on two), so each plan measures both ways once its first `WARMUP` runs
/// are done and keeps the faster by their median runs: the pool, or inline on the caller's thread
/// with tract's single-thread kernels. What else runs in the page changes which is faster (another model or
/// runtime between the runs leaves the pool's threads asleep and the caches cold), so every
/// `REVISIT` runs the other way is measured again against the latest runs of the chosen one, and
/// sooner when the chosen way's latest runs have become `REGRET` times slower than the other's.
/// Inline is only ever tried for plans whose pooled run is short, so a page's thread is never held
/// long.
#[derive(Debug, Default, Clone)]
pub struct Placement {
    /// The latest runs measured each way after the `WARMUP` runs: pooled, inline.
    pooled: Samples,
    inline: Samples,
    warmed: usize,
    decided: Option<Where>,
    /// Pooled runs too long to ever try inline: the pool for good.
    fixed: bool,
    /// Runs the chosen way since the choice was last made.
    since: usize,
    /// Measuring the other way again (`REVISIT`).
    probing: bool,
}

/// The runs measured one way (ms), in order; the latest `SAMPLES` only.
#[derive(Debug, Clone, Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, ms: f64) {
        if self.0.len() == SAMPLES {
            self.0.remove(0);
        }
        self.0.push(ms);
    }

    fn best(&self) -> f64 {
        self.0.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// The middle run: a pooled run's time varies far more than an inline one's (other threads,
    /// the hand-over), so the fastest of a few flattered the pool.
    fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::INFINITY)
    }
}

/// Where a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    Pool,
    Inline,
}

/// A pooled run longer than this is never tried inline (it would hold the caller's thread).
const INLINE_MAX_MS: f64 = 25.0;
/// Inline runs shorter than this hold the caller's thread for less than a third of a 60-Hz
/// frame: the faster way wins outright. Longer ones must beat the pool by 10 %.
const SHORT_MS: f64 = 5.0;
/// Runs measured each way before choosing (their medians are compared).
const SAMPLES: usize = 5;
/// A plan's first runs, in the pool, before either way is measured: the browser is still
/// optimising the code they run (BlazeFace's runs 2-12 took 11-17 ms, later ones 4-6 ms in
/// Chromium), and a choice made on them was a coin toss that then stood for `REVISIT` runs.
const WARMUP: usize = 5;
/// Runs the chosen way between two measurements of the other.
const REVISIT: usize = 60;
/// The other way is measured again at once, before `REVISIT`, when the chosen way's latest runs
/// have become this much slower than the other way's last ones: what runs beside a plan can
/// change within a few runs (another runtime's threads spinning after its own runs made
/// BlazeFace's pooled bands 4-13 ms where they had been 3.5 at the choice).
const REGRET: f64 = 1.25;

impl Where {
    fn other(self) -> Where {
        match self {
            Where::Pool => Where::Inline,
            Where::Inline => Where::Pool,
        }
    }
}

impl Placement {
    /// Where the next run goes.
    pub fn next(&self) -> Where {
        if let Some(w) = self.decided {
            return if self.probing { w.other() } else { w };
        }
        if self.warmed < WARMUP || self.inline.0.len() >= self.pooled.0.len() {
            Where::Pool
        } else {
            Where::Inline
        }
    }

    /// Records how long a run placed by `next()` took, and decides once both ways are measured
    /// (again after every `REVISIT` runs).
    pub fn record(&mut self, at: Where, ms: f64) {
        if self.fixed {
            return;
        }
        if self.warmed < WARMUP {
            self.warmed += 1;
            if ms > INLINE_MAX_MS * 4.0 {
                self.fix();
            }
            return;
        }
        match at {
            Where::Pool => self.pooled.push(ms),
            Where::Inline => self.inline.push(ms),
        };
        // A run that would hold the caller's thread long: the pool's (while it is the choice or
        // being chosen; an inline choice's probe of the pool may be slow) or inline's own.
        let long = match at {
            Where::Pool => self.decided != Some(Where::Inline) && self.pooled.best() > INLINE_MAX_MS,
            Where::Inline => self.inline.best() > INLINE_MAX_MS,
        };
        if long {
            self.fix();
            return;
        }
        match self.decided {
            None if self.pooled.0.len() >= SAMPLES && self.inline.0.len() >= SAMPLES => self.decide(),
            None => {}
            Some(w) if self.probing => {
                // The other way's fresh runs against the chosen way's latest ones.
                let fresh = if w == Where::Pool { &self.inline } else { &self.pooled };
                if at != w && fresh.0.len() >= SAMPLES {
                    self.decide();
                }
            }
            Some(w) => {
                self.since += 1;
                let (chosen, other) = match w {
                    Where::Pool => (&self.pooled, &self.inline),
                    Where::Inline => (&self.inline, &self.pooled),
                };
                // Once the chosen way's samples are all runs since the choice.
                let regret = self.since >= SAMPLES && chosen.median() > REGRET * other.median();
                if self.since >= REVISIT || regret {
                    self.probing = true;
                    match w {
                        Where::Pool => self.inline.0.clear(),
                        Where::Inline => self.pooled.0.clear(),
                    }
                }
            }
        }
    }

    fn decide(&mut self) {
        // Near-ties go to the pool, which keeps the caller's thread free, unless inline runs are
        // short: there a 10 % margin kept the openWakeWord embedding in the pool at 2.5-4 ms a run
        // against 2.2-2.4 inline (docs/performance-log.md, "Short runs go the faster way").
        let inline = self.inline.median();
        let margin = if inline < SHORT_MS { 1.0 } else { 0.9 };
        let inline_wins = inline < margin * self.pooled.median();
        self.decided = Some(if inline_wins { Where::Inline } else { Where::Pool });
        (self.since, self.probing) = (0, false);
    }

    fn fix(&mut self) {
        (self.decided, self.fixed, self.probing) = (Some(Where::Pool), true, false);
    }

    /// The choice once made (`None` while still measuring).
    pub fn decided(&self) -> Option<Where> {
        self.decided
    }
}

#[cfg(test)]
mod tests {
    use super::{Placement, Where, REVISIT, SAMPLES, WARMUP};

    fn measure(p: &mut Placement, pooled: f64, inline: f64) -> Vec<Where> {
        let mut seen = vec![];
        for _ in 0..30 {
            let at = p.next();
            seen.push(at);
            p.record(at, if at == Where::Pool { pooled } else { inline });
        }
        seen
    }

    #[test]
    fn a_small_plan_that_runs_faster_inline_moves_inline_after_measuring_both() {
        let mut p = Placement::default();
        let seen = measure(&mut p, 14.0, 10.0);
        assert_eq!(p.decided(), Some(Where::Inline));
        // The warm-up in the pool, then `SAMPLES` of each, alternating, then inline for good.
        let measured = WARMUP + 2 * SAMPLES;
        assert!(seen[..WARMUP].iter().all(|w| *w == Where::Pool), "{seen:?}");
        let alternating: Vec<Where> =
            (0..2 * SAMPLES).map(|i| if i % 2 == 0 { Where::Pool } else { Where::Inline }).collect();
        assert_eq!(&seen[WARMUP..measured], &alternating[..], "{seen:?}");
        assert!(seen[measured..].iter().all(|w| *w == Where::Inline), "{seen:?}");
    }

    /// The pool's runs vary: one fast pooled run among slow ones does not make the pool look
    /// faster than steady inline runs.
    #[test]
    fn the_pools_occasional_fast_run_does_not_decide() {
        let mut p = Placement::default();
        let warm_up = [2.0; WARMUP];
        let (mut pooled, mut inline) =
            (warm_up.into_iter().chain([3.0, 9.0, 8.5, 9.2, 8.8]), [3.4, 3.3, 3.5, 3.4, 3.6].into_iter());
        while p.decided().is_none() {
            let at = p.next();
            let ms = if at == Where::Pool { pooled.next() } else { inline.next() };
            p.record(at, ms.expect("decided within the samples"));
        }
        // After the warm-up (2.0): pooled 3.0, 9.0, 8.5, 9.2, 8.8 (the fastest, 3.0, would have
        // kept the pool).
        assert_eq!(p.decided(), Some(Where::Inline), "pooled median 8.8 ms against inline 3.4");
    }

    /// What runs beside a plan changes: the other way is measured again every `REVISIT` runs and
    /// taken when it has become faster; while it is not, the choice stands.
    #[test]
    fn the_choice_is_measured_again_and_follows_the_faster_way() {
        let mut p = Placement::default();
        let seen = measure(&mut p, 10.0, 14.0);
        assert_eq!(p.decided(), Some(Where::Pool));
        assert!(seen[WARMUP + 2 * SAMPLES..].iter().all(|w| *w == Where::Pool));
        // The pool slows down (another runtime's runs between ours): within REVISIT runs and
        // SAMPLES inline ones, runs go inline.
        let mut seen = vec![];
        for _ in 0..REVISIT + 10 {
            let at = p.next();
            seen.push(at);
            p.record(at, if at == Where::Pool { 20.0 } else { 14.0 });
        }
        assert_eq!(p.decided(), Some(Where::Inline), "{seen:?}");
        let first = seen.iter().position(|w| *w == Where::Inline).unwrap();
        assert!(first < REVISIT, "measured again within {REVISIT} runs: {seen:?}");
        // (The pool slowed down to past `REGRET` times inline's runs: measured again at once.)
        let until = (first + SAMPLES + REVISIT).min(seen.len());
        assert!(seen[first..until].iter().all(|w| *w == Where::Inline), "the probes, then inline: {seen:?}");
        // Inline stays while the pool is still slower when measured again (from the end of any
        // probe under way: two whole cycles of `REVISIT` inline runs and a probe).
        while p.probing {
            let at = p.next();
            p.record(at, if at == Where::Pool { 20.0 } else { 14.0 });
        }
        let mut seen = vec![];
        for _ in 0..2 * (REVISIT + SAMPLES) {
            let at = p.next();
            seen.push(at);
            p.record(at, if at == Where::Pool { 20.0 } else { 14.0 });
        }
        assert_eq!(p.decided(), Some(Where::Inline));
        let probes = seen.windows(SAMPLES).filter(|w| w.iter().all(|w| *w == Where::Pool)).count();
        assert_eq!(probes, 2, "a probe of {SAMPLES} pooled runs every {REVISIT} runs: {seen:?}");
        assert_eq!(
            seen.iter().filter(|w| **w == Where::Pool).count(),
            2 * SAMPLES,
            "and no other pooled run: {seen:?}"
        );
    }

    /// The chosen way slowing down past `REGRET` times the other way's last runs has the other
    /// measured again at once, not `REVISIT` runs later; a slowdown short of it waits.
    #[test]
    fn a_choice_that_slows_down_is_measured_again_at_once() {
        use super::REGRET;
        let mut p = Placement::default();
        measure(&mut p, 3.5, 3.8);
        assert_eq!(p.decided(), Some(Where::Pool));
        // The pool's runs slow to just under the line: no probe of inline.
        let slow = 3.8 * REGRET * 0.95;
        for _ in 0..REVISIT - p.since - 1 {
            assert_eq!(p.next(), Where::Pool);
            p.record(Where::Pool, slow);
        }
        // Past it (another runtime's threads beside the pool): inline is measured within
        // `SAMPLES` pooled runs and taken.
        let mut p = Placement::default();
        measure(&mut p, 3.5, 3.8);
        let mut seen = vec![];
        for _ in 0..3 * SAMPLES {
            let at = p.next();
            seen.push(at);
            p.record(at, if at == Where::Pool { 7.8 } else { 3.8 });
        }
        let first = seen.iter().position(|w| *w == Where::Inline).expect("inline measured again");
        assert!(first <= SAMPLES, "within {SAMPLES} slow pooled runs: {seen:?}");
        assert_eq!(p.decided(), Some(Where::Inline), "{seen:?}");
        // A machine that slowed down both ways keeps its choice after the probe.
        let mut p = Placement::default();
        measure(&mut p, 3.5, 3.8);
        let mut seen = vec![];
        for _ in 0..4 * SAMPLES {
            let at = p.next();
            seen.push(at);
            p.record(at, if at == Where::Pool { 7.0 } else { 7.6 });
        }
        assert_eq!(p.decided(), Some(Where::Pool), "{seen:?}");
        assert_eq!(seen.iter().filter(|w| **w == Where::Inline).count(), SAMPLES, "one probe: {seen:?}");
    }

    /// An inline choice's probe of the pool that comes out slow (past what inline may hold the
    /// thread for) keeps the plan inline; inline runs that become that long go to the pool.
    #[test]
    fn a_slow_probe_of_the_pool_keeps_an_inline_plan_inline() {
        let mut p = Placement::default();
        measure(&mut p, 14.0, 10.0);
        assert_eq!(p.decided(), Some(Where::Inline));
        for _ in 0..REVISIT + 10 {
            let at = p.next();
            p.record(at, if at == Where::Pool { 40.0 } else { 10.0 });
        }
        assert_eq!(p.decided(), Some(Where::Inline));
        for _ in 0..5 {
            let at = p.next();
            p.record(at, if at == Where::Pool { 14.0 } else { 30.0 });
        }
        assert_eq!(p.decided(), Some(Where::Pool), "inline runs of 30 ms hold the thread too long");
    }

    #[test]
    fn ties_and_large_plans_stay_in_the_pool() {
        let mut p = Placement::default();
        measure(&mut p, 10.0, 9.5);
        assert_eq!(p.decided(), Some(Where::Pool), "within 10 %: the pool keeps the caller free");
        let mut p = Placement::default();
        measure(&mut p, 5.4, 5.1);
        assert_eq!(p.decided(), Some(Where::Pool), "inline runs of 5 ms or more need the 10 %");
        let mut p = Placement::default();
        let seen = measure(&mut p, 60.0, 1.0);
        assert_eq!(p.decided(), Some(Where::Pool));
        assert!(seen.iter().all(|w| *w == Where::Pool), "a 60 ms run is never tried inline: {seen:?}");
    }

    /// A few milliseconds on the caller's thread cost a page less than a frame: the faster way
    /// wins outright, with no margin for the pool.
    #[test]
    fn short_runs_go_the_faster_way() {
        let mut p = Placement::default();
        measure(&mut p, 2.5, 2.3);
        assert_eq!(p.decided(), Some(Where::Inline), "inline 2.3 ms against the pool's 2.5");
        let mut p = Placement::default();
        measure(&mut p, 2.3, 2.5);
        assert_eq!(p.decided(), Some(Where::Pool), "and the pool when it is the faster");
    }
}
