//! Hot loops that run on the host and must be fast even in a debug build: the workspace's dev
//! profile compiles its own crates at `opt-level = 1`, where LLVM does not vectorise loops, so
//! this small crate gets `opt-level = 3` of its own (see the workspace `Cargo.toml`).
//!
//! [`adam_update`] is Adam as burn's `AdamConfig` computes it (same moments, same bias
//! correction, same epsilon placement), fused into one pass over the parameters, with one
//! addition: values too small to matter are flushed to zero so that no float ever becomes
//! subnormal (see [`FLUSH`]).

use rayon::prelude::*;

/// Moments below this magnitude are set to exactly zero, and gradients below [`GRAD_FLUSH`].
///
/// Why: a first moment decays by `beta_1 = 0.9` every step where its gradient is zero, so within
/// a few hundred steps it sinks below `f32::MIN_POSITIVE` (1.2e-38) into the subnormal range,
/// where every multiplication costs the CPU tens to hundreds of cycles. Over a long run a large
/// share of the moments end up there and the training step slows down by half. At 1e-30 the
/// value is still normal after any number of steps up to the next flush (it is flushed every
/// step), and its contribution to an update, `m / (sqrt(v) + eps)` with `eps = 1e-5`, is below
/// 1e-25: nothing the model can notice.
pub const FLUSH: f32 = 1e-30;

/// Gradients below this magnitude count as zero: their square (which enters the second moment)
/// would be below [`FLUSH`], and their share of an update is below 1e-10 of the learning rate.
pub const GRAD_FLUSH: f32 = 1e-15;

/// Elements per parallel chunk (large enough that a chunk is worth a thread hop).
const CHUNK: usize = 1 << 15;

/// The constants of one Adam step for one parameter tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// Epsilon added to `sqrt(v)` (before bias correction, as burn does).
    pub epsilon: f32,
    /// The step number of this parameter, from 1.
    pub time: i32,
}

impl AdamStep {
    /// `(combined_factor, eps_hat)`: the update is `m * combined / (sqrt(v) + eps_hat)`.
    fn factors(&self) -> (f32, f32) {
        let bc2 = (1.0 - self.beta_2.powi(self.time)).sqrt();
        let combined = bc2 / (1.0 - self.beta_1.powi(self.time));
        (combined, self.epsilon * bc2)
    }
}

/// One chunk of each of the four slices, as rayon's zipped iterators hand them out.
type Chunks<'a> = (((&'a mut [f32], &'a [f32]), &'a mut [f32]), &'a mut [f32]);

/// One Adam step in place: updates the moments `m` and `v` from the gradient `g` and moves the
/// parameters `p`. All four slices have the same length. Element-wise, so the result does not
/// depend on how the work is split across threads.
pub fn adam_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], step: AdamStep) {
    assert!(
        p.len() == g.len() && p.len() == m.len() && p.len() == v.len(),
        "adam_update: slices of different lengths"
    );
    let (combined, eps_hat) = step.factors();
    let (b1, b2) = (step.beta_1, step.beta_2);
    let (f1, f2) = (1.0 - b1, 1.0 - b2);
    let lr = step.lr;
    let kernel = |(((p, g), m), v): Chunks<'_>| {
        for i in 0..p.len() {
            let gi = if g[i].abs() < GRAD_FLUSH { 0.0 } else { g[i] };
            let mut mi = b1 * m[i] + f1 * gi;
            if mi.abs() < FLUSH {
                mi = 0.0;
            }
            let mut vi = b2 * v[i] + f2 * gi * gi;
            if vi < FLUSH {
                vi = 0.0;
            }
            m[i] = mi;
            v[i] = vi;
            p[i] -= lr * (mi * combined / (vi.sqrt() + eps_hat));
        }
    };
    if p.len() < 2 * CHUNK {
        kernel((((p, g), m), v));
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(kernel);
    }
}

/// How many of `xs` are subnormal (nonzero and below `f32::MIN_POSITIVE` in magnitude).
pub fn count_subnormal(xs: &[f32]) -> usize {
    xs.iter().filter(|x| x.is_subnormal()).count()
}

/// Inner product of two equal-length slices, in eight independent lanes so that LLVM vectorises
/// it (the RETRO lab's HNSW distance, called millions of times per index build).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// burn's Adam written the plain way, without flushing.
    fn reference(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
        let (combined, eps_hat) = s.factors();
        for i in 0..p.len() {
            m[i] = s.beta_1 * m[i] + (1.0 - s.beta_1) * g[i];
            v[i] = s.beta_2 * v[i] + (1.0 - s.beta_2) * g[i] * g[i];
            p[i] -= s.lr * (m[i] * combined / (v[i].sqrt() + eps_hat));
        }
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..397).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..397).map(|i| (i as f32 * 0.11).cos()).collect();
        let want: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
        assert!((dot(&a, &b) as f64 - want).abs() < 1e-3);
        assert_eq!(
            dot(&a[..3], &b[..3]),
            a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
        );
    }

    fn step(time: i32) -> AdamStep {
        AdamStep {
            lr: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            time,
        }
    }

    #[test]
    fn matches_plain_adam_on_ordinary_gradients() {
        let n = 3 * CHUNK + 17; // takes the parallel path
        let grad = |t: usize, i: usize| ((i * 7 + t * 13) % 101) as f32 / 50.0 - 1.0;
        let (mut p, mut m, mut v) = (vec![0.5f32; n], vec![0.0; n], vec![0.0; n]);
        let (mut p2, mut m2, mut v2) = (p.clone(), m.clone(), v.clone());
        for t in 1..=20 {
            let g: Vec<f32> = (0..n).map(|i| grad(t, i)).collect();
            adam_update(&mut p, &g, &mut m, &mut v, step(t as i32));
            reference(&mut p2, &g, &mut m2, &mut v2, step(t as i32));
        }
        let worst = p
            .iter()
            .zip(&p2)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-6, "largest difference {worst}");
    }

    #[test]
    fn decaying_moments_never_turn_subnormal() {
        // One gradient, then zeros: plain Adam's first moment sinks into subnormals after
        // about 840 steps (0.9^840 * 1e-2 < 1.2e-38); the flushed one goes straight to zero.
        let n = 64;
        let (mut p, mut m, mut v) = (vec![0.0f32; n], vec![0.0; n], vec![0.0; n]);
        let (mut p2, mut m2, mut v2) = (p.clone(), m.clone(), v.clone());
        let zeros = vec![0.0f32; n];
        let mut plain_subnormal = 0;
        for t in 1..=1200 {
            let g = if t == 1 {
                vec![1e-2f32; n]
            } else {
                zeros.clone()
            };
            adam_update(&mut p, &g, &mut m, &mut v, step(t));
            reference(&mut p2, &g, &mut m2, &mut v2, step(t));
            assert_eq!(count_subnormal(&m) + count_subnormal(&v), 0, "step {t}");
            plain_subnormal = plain_subnormal.max(count_subnormal(&m2));
        }
        assert_eq!(
            plain_subnormal, n,
            "the unflushed reference should show the problem"
        );
        assert!(m.iter().all(|&x| x == 0.0));
        let worst = p
            .iter()
            .zip(&p2)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-6, "flushing changed the parameters by {worst}");
    }
}
