//! Calibration of the answerer's confidence on a validation split: a small logistic model that
//! turns what the answerer knows about one question (how sure the re-ranker is of its paragraph,
//! how far ahead of the runner-up it is, how sure the reader is, whether the closed-book guess
//! agrees) into P(the answer is supported and plausible). The decline threshold applies to this
//! probability, so it reads as "answer when at least this likely to be right and backed by the
//! shown evidence".
//!
//! Fitted on validation questions the re-ranker and reader never trained on, never on held-out
//! ones. Seven weights need no burn model: plain Newton steps on the L2-penalised log-loss are
//! exact, fast and deterministic.

use serde::Serialize;

use super::corpus::Corpus;
use super::search::Hit;

/// Number of calibration features (bias included).
pub const DIM: usize = 7;

/// Short names of the features, for reports.
pub const NAMES: [&str; DIM] = [
    "bias",
    "logit P(paragraph)",
    "P(paragraph) - runner-up",
    "logit reader confidence",
    "logit closed-book confidence",
    "closed-book agrees",
    "answers yes",
];

fn logit(p: f32) -> f64 {
    let p = (p as f64).clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// What the answerer knows about one question, before anyone checks the answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Signals {
    /// Re-ranker probability of the chosen paragraph.
    pub p_retrieval: f32,
    /// Re-ranker probability of the second-best hit (0 with one hit).
    pub p_second: f32,
    /// Reader P(yes) on the chosen paragraph.
    pub p_yes: f32,
    /// Reader P(yes) from the question alone.
    pub p_yes_closed: f32,
    /// BM25 rank of the chosen paragraph (0 = first).
    pub bm25_rank: usize,
    /// Other hits from the chosen paragraph's article.
    pub same_article: usize,
    /// BM25 score of the chosen paragraph relative to the top hit's.
    pub bm25_rel: f32,
}

impl Signals {
    /// The feature vector.
    pub fn features(&self) -> [f64; DIM] {
        let rc = self.p_yes.max(1.0 - self.p_yes);
        let cc = self.p_yes_closed.max(1.0 - self.p_yes_closed);
        let yes = self.p_yes >= 0.5;
        [
            1.0,
            logit(self.p_retrieval),
            (self.p_retrieval - self.p_second) as f64,
            logit(rc),
            logit(cc),
            f64::from(u8::from((self.p_yes_closed >= 0.5) == yes)),
            f64::from(u8::from(yes)),
        ]
    }

    /// The signals of reading hit `i` of `hits` (re-ranker probabilities `probs`), whose
    /// paragraph the reader gives P(yes) = `p_yes`; `p_yes_closed` is the closed-book P(yes).
    pub fn of_hit(
        corpus: &Corpus,
        hits: &[Hit],
        probs: &[f32],
        i: usize,
        p_yes: f32,
        p_yes_closed: f32,
    ) -> Signals {
        let id = hits[i].id;
        let title = &corpus.paragraphs[id].title;
        Signals {
            p_retrieval: probs[i],
            p_second: (0..probs.len())
                .filter(|&j| j != i)
                .map(|j| probs[j])
                .fold(0.0, f32::max),
            p_yes,
            p_yes_closed,
            bm25_rank: i,
            same_article: hits
                .iter()
                .filter(|h| h.id != id && corpus.paragraphs[h.id].title == *title)
                .count(),
            bm25_rel: hits[i].score / hits[0].score.max(1e-6),
        }
    }

    /// The uncalibrated confidence used before a calibrator is fitted:
    /// P(paragraph) x reader confidence.
    pub fn raw(&self) -> f32 {
        self.p_retrieval * self.p_yes.max(1.0 - self.p_yes)
    }
}

/// The fitted calibrator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibrator {
    /// Weights, in the order of [`NAMES`].
    pub weights: [f64; DIM],
    /// Validation questions it was fitted on.
    pub fitted_on: usize,
}

impl Calibrator {
    /// P(supported and plausible).
    pub fn prob(&self, s: &Signals) -> f32 {
        let f = s.features();
        let z: f64 = self.weights.iter().zip(&f).map(|(w, x)| w * x).sum();
        (1.0 / (1.0 + (-z).exp())) as f32
    }

    /// Fits by Newton's method on the log-loss with an L2 penalty `l2` (not on the bias).
    /// `outcomes` pairs each question's signals with whether its answer was supported and
    /// plausible. Returns `None` for fewer than 20 questions or a single class.
    pub fn fit(outcomes: &[(Signals, bool)], l2: f64) -> Option<Calibrator> {
        let pos = outcomes.iter().filter(|(_, y)| *y).count();
        if outcomes.len() < 20 || pos == 0 || pos == outcomes.len() {
            return None;
        }
        let xs: Vec<[f64; DIM]> = outcomes.iter().map(|(s, _)| s.features()).collect();
        let mut w = [0.0f64; DIM];
        for _ in 0..50 {
            let mut grad = [0.0f64; DIM];
            let mut hess = [[0.0f64; DIM]; DIM];
            for (x, (_, y)) in xs.iter().zip(outcomes) {
                let z: f64 = w.iter().zip(x).map(|(a, b)| a * b).sum();
                let p = 1.0 / (1.0 + (-z).exp());
                let r = p - f64::from(u8::from(*y));
                let v = (p * (1.0 - p)).max(1e-9);
                for i in 0..DIM {
                    grad[i] += r * x[i];
                    for j in 0..DIM {
                        hess[i][j] += v * x[i] * x[j];
                    }
                }
            }
            for i in 1..DIM {
                grad[i] += l2 * w[i];
                hess[i][i] += l2;
            }
            let step = solve(hess, grad)?;
            let mut moved = 0.0f64;
            for i in 0..DIM {
                w[i] -= step[i];
                moved = moved.max(step[i].abs());
            }
            if moved < 1e-9 {
                break;
            }
        }
        w.iter().all(|v| v.is_finite()).then_some(Calibrator {
            weights: w,
            fitted_on: outcomes.len(),
        })
    }
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None` when singular.
fn solve(mut a: [[f64; DIM]; DIM], mut b: [f64; DIM]) -> Option<[f64; DIM]> {
    for c in 0..DIM {
        let piv = (c..DIM).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[piv][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, piv);
        b.swap(c, piv);
        for r in c + 1..DIM {
            let f = a[r][c] / a[c][c];
            let pivot = a[c];
            for (x, p) in a[r].iter_mut().zip(pivot).skip(c) {
                *x -= f * p;
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = [0.0f64; DIM];
    for c in (0..DIM).rev() {
        let s: f64 = (c + 1..DIM).map(|k| a[c][k] * x[k]).sum();
        x[c] = (b[c] - s) / a[c][c];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn recovers_a_known_relation_and_ranks_by_it() {
        // Answers are right with probability rising in the re-ranker's confidence only.
        let mut rng = Rng::new(4);
        let data: Vec<(Signals, bool)> = (0..4000)
            .map(|_| {
                let p = 0.02 + 0.96 * rng.uniform() as f32;
                let s = Signals {
                    p_retrieval: p,
                    p_second: 0.0,
                    p_yes: 0.3 + 0.4 * rng.uniform() as f32,
                    p_yes_closed: 0.5,
                    bm25_rank: 0,
                    same_article: 0,
                    bm25_rel: 1.0,
                };
                (s, (rng.uniform() as f32) < p)
            })
            .collect();
        let c = Calibrator::fit(&data, 1e-3).expect("fits");
        assert!(c.weights[1] > 0.5, "{:?}", c.weights);
        let lo = Signals {
            p_retrieval: 0.1,
            ..data[0].0
        };
        let hi = Signals {
            p_retrieval: 0.9,
            ..data[0].0
        };
        assert!(c.prob(&hi) > 0.75 && c.prob(&lo) < 0.25);
        assert!(Calibrator::fit(&data[..10], 1e-3).is_none());
    }
}
