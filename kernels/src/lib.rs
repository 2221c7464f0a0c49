//! Hot loops that run on the host and must be fast even in a debug build: a fused Adam, and the
//! element-wise passes of the Forward-Forward step and of its backprop twin, written out by hand.
//! The workspace's dev profile compiles its own crates at `opt-level = 1`, where LLVM does not
//! vectorise loops, so this small crate gets `opt-level = 3` of its own (see the workspace
//! `Cargo.toml`).
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

/// One Forward-Forward layer's shape and loss, for [`ff_layer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FfLayerSpec {
    /// Rows of the batch: the positives first, then as many negatives.
    pub rows: usize,
    /// Units of the layer.
    pub cols: usize,
    /// How many of the rows are positives (the loss averages each half over this count).
    pub positives: usize,
    /// The threshold θ, in the units of the goodness.
    pub threshold: f32,
    /// The goodness of a row is `scale · Σ y²`: 1 for the sum, 1/cols for the mean, −1 for the
    /// negated sum.
    pub scale: f32,
    /// Softplus arguments below this count as zero and pass no gradient (the FF loss's floor).
    pub floor: f32,
}

/// What [`ff_layer`] measured: each row's goodness and the layer's loss.
#[derive(Debug, Clone, PartialEq)]
pub struct FfLayerOut {
    /// Goodness of every row.
    pub goodness: Vec<f32>,
    /// softplus(θ − G⁺) averaged over the positives plus softplus(G⁻ − θ) averaged over the
    /// negatives.
    pub loss: f64,
}

/// burn's softplus with its default threshold of 20 (above it, the identity), and its slope.
fn softplus_and_slope(t: f64) -> (f64, f64) {
    if t > 20.0 {
        (t, 1.0)
    } else {
        let e = t.exp();
        (e.ln_1p(), e / (1.0 + e))
    }
}

/// All of a Forward-Forward layer's element-wise work in one pass per row, given its
/// pre-activations `a = x·W` (without the bias, `[rows, cols]`, row-major):
/// y = max(a + bias, 0), each row's goodness `scale · Σ y²`, the loss
/// softplus(max(θ − G⁺, floor)) + softplus(max(G⁻ − θ, floor)) (each half averaged), and then
///
/// - `next`, when given, receives y with every row divided by its root-mean-square (+1e-8),
///   the input of the layer above;
/// - `a` is overwritten by the loss's gradient with respect to the pre-activation when `grad`
///   is set (`∂L/∂G · 2 · scale · y`, zero where the ReLU is off or the floor clamps), and by
///   y itself otherwise.
///
/// Gradients below [`FLUSH`] are written as zero so the backward products never meet a
/// subnormal float. Rows are independent, so the result does not depend on the thread count.
pub fn ff_layer(
    a: &mut [f32],
    bias: &[f32],
    spec: &FfLayerSpec,
    next: Option<&mut [f32]>,
    grad: bool,
) -> FfLayerOut {
    let FfLayerSpec { rows, cols, .. } = *spec;
    assert!(
        a.len() == rows * cols && bias.len() == cols && spec.positives <= rows,
        "ff_layer: shapes do not match"
    );
    let per = 1.0 / spec.positives.max(1) as f64;
    // One row: returns (goodness, loss share).
    let row = |r: usize, a: &mut [f32], next: Option<&mut [f32]>| -> (f32, f64) {
        let mut s = 0f32;
        for (v, b) in a.iter_mut().zip(bias) {
            let y = (*v + b).max(0.0);
            *v = y;
            s += y * y;
        }
        let g = spec.scale * s;
        if let Some(next) = next {
            let inv = 1.0 / ((s / cols as f32).sqrt() + 1e-8);
            for (n, &y) in next.iter_mut().zip(a.iter()) {
                *n = y * inv;
            }
        }
        let positive = r < spec.positives;
        let t = if positive {
            spec.threshold as f64 - g as f64
        } else {
            g as f64 - spec.threshold as f64
        };
        let (value, slope) = if t < spec.floor as f64 {
            (softplus_and_slope(spec.floor as f64).0, 0.0)
        } else {
            softplus_and_slope(t)
        };
        if grad {
            // dL/dG: −slope/B for a positive (t = θ − G), +slope/B for a negative.
            let dg = if positive { -slope * per } else { slope * per };
            let k = (dg * 2.0 * spec.scale as f64) as f32;
            for v in a.iter_mut() {
                let d = k * *v;
                *v = if d.abs() < FLUSH { 0.0 } else { d };
            }
        }
        (g, value * per)
    };
    let out: Vec<(f32, f64)> = match next {
        Some(next) => {
            assert!(
                next.len() == a.len(),
                "ff_layer: `next` has the wrong length"
            );
            if a.len() < 2 * CHUNK {
                a.chunks_mut(cols)
                    .zip(next.chunks_mut(cols))
                    .enumerate()
                    .map(|(r, (a, n))| row(r, a, Some(n)))
                    .collect()
            } else {
                a.par_chunks_mut(cols)
                    .zip(next.par_chunks_mut(cols))
                    .enumerate()
                    .map(|(r, (a, n))| row(r, a, Some(n)))
                    .collect()
            }
        }
        None => {
            if a.len() < 2 * CHUNK {
                a.chunks_mut(cols)
                    .enumerate()
                    .map(|(r, a)| row(r, a, None))
                    .collect()
            } else {
                a.par_chunks_mut(cols)
                    .enumerate()
                    .map(|(r, a)| row(r, a, None))
                    .collect()
            }
        }
    };
    FfLayerOut {
        goodness: out.iter().map(|o| o.0).collect(),
        loss: out.iter().map(|o| o.1).sum(),
    }
}

/// Divides every row of `x` (`cols` wide) by its root-mean-square plus 1e-8, in place: the
/// Forward-Forward length normalisation.
pub fn rms_normalize_rows(x: &mut [f32], cols: usize) {
    let norm = |row: &mut [f32]| {
        let s: f32 = row.iter().map(|v| v * v).sum();
        let inv = 1.0 / ((s / cols as f32).sqrt() + 1e-8);
        row.iter_mut().for_each(|v| *v *= inv);
    };
    if x.len() < 2 * CHUNK {
        x.chunks_mut(cols).for_each(norm);
    } else {
        x.par_chunks_mut(cols).for_each(norm);
    }
}

/// The column sums of a row-major `[rows, cols]` matrix (a bias gradient), rows added in order.
pub fn col_sums(x: &[f32], cols: usize) -> Vec<f32> {
    let mut sums = vec![0f32; cols];
    for row in x.chunks_exact(cols) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
    sums
}

/// Adds `bias` to every row of `x` (`[rows, bias.len()]`) and, with `relu`, clamps at zero.
pub fn bias_act(x: &mut [f32], bias: &[f32], relu: bool) {
    let cols = bias.len();
    let f = |row: &mut [f32]| {
        for (v, b) in row.iter_mut().zip(bias) {
            let y = *v + b;
            *v = if relu { y.max(0.0) } else { y };
        }
    };
    if x.len() < 2 * CHUNK {
        x.chunks_mut(cols).for_each(f);
    } else {
        x.par_chunks_mut(cols).for_each(f);
    }
}

/// Zeroes `d` wherever the ReLU output `h` is not positive (its backward pass), and flushes
/// values below [`FLUSH`] to zero.
pub fn relu_backward(d: &mut [f32], h: &[f32]) {
    assert!(d.len() == h.len(), "relu_backward: lengths differ");
    for (d, &h) in d.iter_mut().zip(h) {
        if h <= 0.0 || d.abs() < FLUSH {
            *d = 0.0;
        }
    }
}

/// Mean cross-entropy of the logits `z` (`[rows, cols]`) against the class indices `labels`,
/// and `z` overwritten by its gradient (softmax − one-hot) / rows. Computed as log-softmax
/// with the row maximum subtracted. Returns `None` when a label is out of range.
pub fn softmax_xent(z: &mut [f32], labels: &[usize], cols: usize) -> Option<f64> {
    let rows = labels.len();
    if z.len() != rows * cols || labels.iter().any(|&l| l >= cols) {
        return None;
    }
    let inv_n = 1.0 / rows.max(1) as f32;
    let mut loss = 0f64;
    for (row, &label) in z.chunks_exact_mut(cols).zip(labels) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let shifted_label = row[label] - max;
        let mut sum = 0f32;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        let log_sum = sum.ln();
        // log p(label) = (z_label − max) − log Σ exp(z − max).
        loss -= (shifted_label - log_sum) as f64;
        let inv = 1.0 / sum;
        for (j, v) in row.iter_mut().enumerate() {
            let p = *v * inv;
            let d = (p - if j == label { 1.0 } else { 0.0 }) * inv_n;
            *v = if d.abs() < FLUSH { 0.0 } else { d };
        }
    }
    Some(loss / rows.max(1) as f64)
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
