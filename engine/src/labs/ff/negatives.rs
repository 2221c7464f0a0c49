//! Building the inputs of Forward-Forward: label pixels, jitter, hybrid negative images and the
//! choice of wrong labels.

use crate::data::mnist::{CLASSES, PIXELS, Split};
use crate::rng::Rng;

/// Side of an MNIST image.
pub const SIDE: usize = 28;

/// Image `i` of `split` as floats in [0, 1], shifted by `(dx, dy)` pixels with zeros shifted in.
pub fn shifted_image(split: &Split, i: usize, dx: isize, dy: isize) -> Vec<f32> {
    let src = split.image(i);
    if dx == 0 && dy == 0 {
        return src.iter().map(|&p| p as f32 / 255.0).collect();
    }
    let mut out = vec![0f32; PIXELS];
    for y in 0..SIDE as isize {
        let sy = y - dy;
        if !(0..SIDE as isize).contains(&sy) {
            continue;
        }
        for x in 0..SIDE as isize {
            let sx = x - dx;
            if (0..SIDE as isize).contains(&sx) {
                out[(y as usize) * SIDE + x as usize] =
                    src[sy as usize * SIDE + sx as usize] as f32 / 255.0;
            }
        }
    }
    out
}

/// A random shift in `[-jitter, jitter]²` (the paper's ±2 pixels gives 25 shifts).
pub fn random_shift(jitter: usize, rng: &mut Rng) -> (isize, isize) {
    if jitter == 0 {
        return (0, 0);
    }
    let span = 2 * jitter + 1;
    let dx = rng.below(span) as isize - jitter as isize;
    let dy = rng.below(span) as isize - jitter as isize;
    (dx, dy)
}

/// Writes `label` one-hot into the first ten pixels (they lie in MNIST's black border);
/// `None` writes the neutral label, 0.1 in each.
pub fn put_label(img: &mut [f32], label: Option<usize>) {
    for (c, p) in img.iter_mut().take(CLASSES).enumerate() {
        *p = match label {
            Some(l) if l == c => 1.0,
            Some(_) => 0.0,
            None => 0.1,
        };
    }
}

/// A wrong label drawn uniformly from the nine that are not `truth`.
pub fn uniform_wrong(truth: usize, rng: &mut Rng) -> usize {
    (truth + 1 + rng.below(CLASSES - 1)) % CLASSES
}

/// A wrong label drawn in proportion to `softmax(scores)` over the labels other than `truth`.
/// `scores` are the net's log-odds for each candidate label.
pub fn hard_wrong(truth: usize, scores: &[f32], rng: &mut Rng) -> usize {
    let max = scores
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != truth)
        .map(|(_, &s)| s)
        .fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f64> = scores
        .iter()
        .enumerate()
        .map(|(c, &s)| {
            if c == truth || !s.is_finite() {
                0.0
            } else {
                ((s - max) as f64).exp()
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    if !(total.is_finite() && total > 0.0) {
        return uniform_wrong(truth, rng);
    }
    let mut u = rng.uniform() * total;
    for (c, w) in weights.iter().enumerate() {
        if *w > 0.0 {
            if u < *w {
                return c;
            }
            u -= w;
        }
    }
    // Rounding left `u` past the last weight: take the last wrong label with weight.
    weights
        .iter()
        .rposition(|&w| w > 0.0)
        .unwrap_or_else(|| uniform_wrong(truth, rng))
}

/// A 28×28 mask of large coherent regions of 0s and 1s: random bits, blurred `blurs` times with
/// the filter [1/4, 1/2, 1/4] along rows and then columns, thresholded at 0.5 (§3.2).
pub fn hybrid_mask(blurs: usize, rng: &mut Rng) -> Vec<f32> {
    let mut m: Vec<f32> = (0..PIXELS)
        .map(|_| if rng.uniform() < 0.5 { 0.0 } else { 1.0 })
        .collect();
    let mut tmp = vec![0f32; PIXELS];
    for _ in 0..blurs {
        blur_pass(&m, &mut tmp, 1, SIDE);
        blur_pass(&tmp, &mut m, SIDE, 1);
    }
    for v in &mut m {
        *v = if *v > 0.5 { 1.0 } else { 0.0 };
    }
    m
}

/// One pass of [1/4, 1/2, 1/4] along the axis whose neighbours are `step` apart; `lines` is the
/// stride between lines. Edges repeat the border value so the mask keeps its mean.
fn blur_pass(src: &[f32], dst: &mut [f32], step: usize, lines: usize) {
    for line in 0..SIDE {
        for k in 0..SIDE {
            let at = |j: usize| src[line * lines + j * step];
            let prev = at(k.saturating_sub(1));
            let next = at((k + 1).min(SIDE - 1));
            dst[line * lines + k * step] = 0.25 * prev + 0.5 * at(k) + 0.25 * next;
        }
    }
}

/// `m·a + (1−m)·b`: a negative image that keeps short-range structure but mixes two digits'
/// shapes.
pub fn hybrid(a: &[f32], b: &[f32], mask: &[f32]) -> Vec<f32> {
    a.iter()
        .zip(b)
        .zip(mask)
        .map(|((&a, &b), &m)| m * a + (1.0 - m) * b)
        .collect()
}

/// The fraction of horizontally and vertically adjacent pixel pairs of a 28×28 image that are
/// equal: about 0.5 for random bits, close to 1 for coherent blobs.
pub fn neighbour_agreement(mask: &[f32]) -> f64 {
    let (mut same, mut pairs) = (0usize, 0usize);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let v = mask[y * SIDE + x];
            if x + 1 < SIDE {
                same += usize::from(v == mask[y * SIDE + x + 1]);
                pairs += 1;
            }
            if y + 1 < SIDE {
                same += usize::from(v == mask[(y + 1) * SIDE + x]);
                pairs += 1;
            }
        }
    }
    same as f64 / pairs.max(1) as f64
}
