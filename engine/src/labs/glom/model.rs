//! A simplified GLOM: one column per location with shared weights, a few levels of embeddings
//! per column, and T synchronous iterations in which every level's new embedding is a weighted
//! mean of its previous value, a bottom-up prediction from the level below, a top-down
//! prediction from the level above (which also sees the location's position) and attention to
//! the other locations' embeddings of the same level.
//!
//! In the relative-pose mode (the default) a location's own input is only what does not change
//! with the object's pose (occupancy and the part's aspect ratio), and everything that does —
//! position, orientation, size — enters only as the *relative* pose of each pair of locations:
//! the distance between them in units of their sizes, the direction of one seen from the other's
//! axis, their relative orientation and size ratio. Learned linear maps of that relation give a
//! bias of the attention weights (which locations listen to which) and a message (what the
//! listener learns about where the others it listens to sit relative to it). A global rotation, scale or shift
//! of an object leaves every one of these quantities unchanged.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::{log_softmax, relu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::LabError;
use crate::nn::{Mlp, init_linear};
use crate::rng::Rng;

use super::world::{CLASSES, FEATURES, POS};

/// Relation features per ordered pair of locations (see [`relations`]).
pub const REL: usize = 13;
/// Feature columns a location keeps as its own input in the relative-pose mode: occupancy and
/// log aspect ratio, the only per-part features that a rotation, scaling or shift leaves alone.
const INVARIANT_COLUMNS: [usize; 2] = [0, 4];

/// Relative pose of every ordered pair (x, y) of locations of `b` images of `l` locations,
/// computed from the observed features (noise included), `b·l·l·REL` row-major. For two
/// occupied locations, with u = distance / (3 · geometric-mean part size) (about the distance in
/// units of the object's scale) and near = exp(−u²/4): [1, u, near, cos and sin of the direction
/// x→y doubled minus x's doubled orientation, cos and sin of the doubled orientation difference,
/// log size ratio, y's log aspect, y's log aspect times the two orientation-difference terms,
/// near times the two direction terms]; all zero when either location is empty or x = y. Angles
/// are doubled because an ellipse's axis has no sign. Every entry is unchanged by a global
/// rotation, scaling or translation of the parts (the products let a linear read-out tie what a
/// neighbour is to where it sits).
pub fn relations(features: &[f32], b: usize, l: usize) -> Vec<f32> {
    let g = (l as f64).sqrt().round() as usize;
    let mut out = vec![0f32; b * l * l * REL];
    for i in 0..b {
        let f = &features[i * l * FEATURES..(i + 1) * l * FEATURES];
        let row = |c: usize| &f[c * FEATURES..(c + 1) * FEATURES];
        let occ: Vec<bool> = (0..l).map(|c| row(c)[0] > 0.5).collect();
        let pose: Vec<(f64, f64, f64, f64, f64)> = (0..l)
            .map(|c| {
                let r = row(c);
                let px = (c % g.max(1)) as f64 + 0.5 + r[7] as f64;
                let py = (c / g.max(1)) as f64 + 0.5 + r[8] as f64;
                let phi = (r[5] as f64).atan2(r[6] as f64);
                (px, py, phi, r[3] as f64, r[4] as f64)
            })
            .collect();
        for x in 0..l {
            if !occ[x] {
                continue;
            }
            let (xx, xy, xphi, xl, _) = pose[x];
            for y in 0..l {
                if y == x || !occ[y] {
                    continue;
                }
                let (yx, yy, yphi, yl, ya) = pose[y];
                let (dx, dy) = (yx - xx, yy - xy);
                let unit = 3.0 * (0.5 * (xl + yl)).exp();
                let dir = 2.0 * dy.atan2(dx) - xphi;
                let rel = yphi - xphi;
                let u = (dx * dx + dy * dy).sqrt() / unit.max(1e-3);
                let near = (-0.25 * u * u).exp();
                let o = ((i * l + x) * l + y) * REL;
                let v = [
                    1.0,
                    u,
                    near,
                    dir.cos(),
                    dir.sin(),
                    rel.cos(),
                    rel.sin(),
                    yl - xl,
                    ya,
                    ya * rel.cos(),
                    ya * rel.sin(),
                    near * dir.cos(),
                    near * dir.sin(),
                ];
                for (slot, value) in out[o..o + REL].iter_mut().zip(v) {
                    *slot = value as f32;
                }
            }
        }
    }
    out
}

/// A two-layer ReLU perceptron (input, hidden, output) applied to every location independently:
/// weights and biases uniform ±1/√fan_in from our RNG, layer by layer.
fn mlp(d_in: usize, hidden: usize, d_out: usize, rng: &mut Rng, device: &Device) -> Mlp {
    Mlp::uniform(&[d_in, hidden, d_out], rng, device)
}

/// The weights of the GLOM columns (shared by every location) and the class read-out.
#[derive(Module, Debug)]
pub struct GlomNet {
    /// Bottom-up net into each level (level 0 reads the location's input features).
    pub bu: Vec<Mlp>,
    /// Top-down net into each level but the top, from the level above plus the position code.
    pub td: Vec<Mlp>,
    /// Linear read-out of the top level: the object classes plus "distractor".
    pub head: Linear,
    /// Relative-pose mode, per level: pair relation → attention bias (empty in the absolute
    /// mode).
    pub rel_bias: Vec<Linear>,
    /// Relative-pose mode, per level: attention-weighted mean relation → message added to the
    /// attention term.
    pub rel_msg: Vec<Linear>,
}

/// The non-learned settings of the iterations: all of them are live knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Update {
    /// Iterations after the initial bottom-up pass.
    pub iterations: usize,
    /// Attention sharpness over cosine similarities.
    pub beta: f64,
    /// Weights of {previous, bottom-up, top-down, attention}.
    pub weights: [f64; 4],
}

/// One batch of images on a device: inputs, position codes and the attention mask.
pub struct Batch {
    /// `[B, L, FEATURES]` location features (relative mode: only the pose-invariant columns are
    /// non-zero).
    pub x: Tensor<3>,
    /// `[B, L, L, REL]` relative pose of every pair (relative mode only).
    pub rel: Option<Tensor<4>>,
    /// `[B, L, POS]` position codes.
    pub pos: Tensor<3>,
    /// `[B, L, L]`: a large negative number on the diagonal, so nobody attends to itself.
    pub mask: Tensor<3>,
}

impl Batch {
    /// Moves host data to `device`: `features` is `B·L·FEATURES` row-major, `pos` is `L·POS`.
    /// With `relative`, a location keeps only its pose-invariant features, the pair relations
    /// carry the rest, and the position code is zero (a location's absolute place says nothing
    /// about what the object is).
    pub fn new(
        features: Vec<f32>,
        pos: &[f32],
        b: usize,
        l: usize,
        relative: bool,
        device: &Device,
    ) -> Self {
        let (features, rel) = if relative {
            let rel = relations(&features, b, l);
            let own: Vec<f32> = features
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if INVARIANT_COLUMNS.contains(&(i % FEATURES)) {
                        v
                    } else {
                        0.0
                    }
                })
                .collect();
            let rel = Tensor::from_data(TensorData::new(rel, [b, l, l, REL]), device);
            (own, Some(rel))
        } else {
            (features, None)
        };
        let x = Tensor::from_data(TensorData::new(features, [b, l, FEATURES]), device);
        let keep = if relative { 0.0 } else { 1.0 };
        let pos_all: Vec<f32> = (0..b)
            .flat_map(|_| pos.iter().map(move |&p| p * keep))
            .collect();
        let pos = Tensor::from_data(TensorData::new(pos_all, [b, l, POS]), device);
        let mut m = vec![0f32; b * l * l];
        for i in 0..b {
            for j in 0..l {
                m[i * l * l + j * l + j] = -1.0e4;
            }
        }
        let mask = Tensor::from_data(TensorData::new(m, [b, l, l]), device);
        Batch { x, rel, pos, mask }
    }
}

/// What the relations add to one level's attention: the bias `[B, L, L]` of the weights, and
/// the relations `[B·L, L, REL]` whose attention-weighted mean becomes the message.
struct PairTerms {
    bias: Tensor<3>,
    rel: Tensor<3>,
}

/// Attention within one level: every location takes the mean of the *other* locations'
/// embeddings weighted by softmax(β · cosine similarity) — plus, in the relative mode, the
/// pair bias in the softmax and the message `msg` of the attention-weighted relations.
fn consensus(
    e: Tensor<3>,
    beta: f64,
    mask: Tensor<3>,
    pair: Option<(&PairTerms, &Linear)>,
) -> Tensor<3> {
    let norm = e.clone().square().sum_dim(2).sqrt().add_scalar(1e-6);
    let n = e.clone() / norm;
    let mut sim = n.clone().matmul(n.swap_dims(1, 2)).mul_scalar(beta) + mask;
    if let Some((p, _)) = pair {
        sim = sim + p.bias.clone();
    }
    let a = softmax(sim, 2);
    let out = a.clone().matmul(e);
    match pair {
        Some((p, msg)) => {
            let [b, l, _] = a.dims();
            let mean_rel = a
                .reshape([b * l, 1, l])
                .matmul(p.rel.clone())
                .reshape([b, l, REL]);
            out + msg.forward(mean_rel)
        }
        None => out,
    }
}

impl GlomNet {
    /// A net with `levels` levels of width `dim`, MLPs of width `hidden`; `relative` adds the
    /// relation read-outs (drawn after everything else, so the shared weights do not depend on
    /// it).
    pub fn new(
        levels: usize,
        dim: usize,
        hidden: usize,
        relative: bool,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        let bu = (0..levels)
            .map(|l| {
                let d_in = if l == 0 { FEATURES } else { dim };
                mlp(d_in, hidden, dim, rng, device)
            })
            .collect();
        let td = (0..levels.saturating_sub(1))
            .map(|_| mlp(dim + POS, hidden, dim, rng, device))
            .collect();
        let head = init_linear(dim, CLASSES + 1, rng, device);
        let (mut rel_bias, mut rel_msg) = (Vec::new(), Vec::new());
        if relative {
            for _ in 0..levels {
                rel_bias.push(init_linear(REL, 1, rng, device));
                rel_msg.push(init_linear(REL, dim, rng, device));
            }
        }
        GlomNet {
            bu,
            td,
            head,
            rel_bias,
            rel_msg,
        }
    }

    /// Whether this net reads relative poses (and so wants batches built with `relative`).
    pub fn relative(&self) -> bool {
        !self.rel_bias.is_empty()
    }

    /// Every level's embeddings `[B, L, dim]` after the bottom-up pass (index 0) and after each
    /// of the `u.iterations` iterations.
    pub fn states(&self, batch: &Batch, u: &Update) -> Vec<Vec<Tensor<3>>> {
        let levels = self.bu.len();
        // The input never changes, so level 0's bottom-up prediction is computed once.
        let bu0 = self.bu[0].forward(batch.x.clone());
        let mut cur = vec![bu0.clone()];
        for l in 1..levels {
            let below = cur[l - 1].clone();
            cur.push(self.bu[l].forward(below));
        }
        let mut out = vec![cur.clone()];
        let [w_prev, w_bu, w_td, w_att] = u.weights;
        // The relations never change either: their biases are computed once per forward pass.
        let pairs: Vec<PairTerms> = match &batch.rel {
            Some(r) if u.iterations > 0 && w_att > 0.0 => {
                let [b, l, _, _] = r.dims();
                let flat = r.clone().reshape([b * l, l, REL]);
                self.rel_bias
                    .iter()
                    .map(|head| PairTerms {
                        bias: head.forward(r.clone()).reshape([b, l, l]),
                        rel: flat.clone(),
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        for _ in 0..u.iterations {
            let mut next = Vec::with_capacity(levels);
            for l in 0..levels {
                let mut sum = cur[l].clone().mul_scalar(w_prev);
                let mut total = w_prev;
                let bu = if l == 0 {
                    bu0.clone()
                } else {
                    self.bu[l].forward(cur[l - 1].clone())
                };
                sum = sum + bu.mul_scalar(w_bu);
                total += w_bu;
                if l + 1 < levels {
                    let above = Tensor::cat(vec![cur[l + 1].clone(), batch.pos.clone()], 2);
                    sum = sum + self.td[l].forward(above).mul_scalar(w_td);
                    total += w_td;
                }
                if w_att > 0.0 {
                    let pair = pairs.get(l).zip(self.rel_msg.get(l));
                    let att = consensus(cur[l].clone(), u.beta, batch.mask.clone(), pair);
                    sum = sum + att.mul_scalar(w_att);
                    total += w_att;
                }
                // The top level has no top-down term; the mean is over the terms present.
                next.push(sum.div_scalar(total.max(1e-9)));
            }
            cur = next;
            out.push(cur.clone());
        }
        out
    }

    /// Class logits `[B, L, CLASSES + 1]` from a top-level embedding.
    pub fn logits(&self, top: Tensor<3>) -> Tensor<3> {
        self.head.forward(top)
    }

    /// Mean cross-entropy over the occupied locations of the logits of iterations `from..=T`
    /// (one-hot targets `[B, L, CLASSES + 1]`, all-zero rows for empty locations, which are
    /// not counted), and the final iteration's logits.
    pub fn loss(
        &self,
        batch: &Batch,
        u: &Update,
        one_hot: Tensor<3>,
        occupied: usize,
        all_iters: bool,
        identity: Option<&Identity>,
    ) -> Result<(Tensor<1>, Tensor<3>), LabError> {
        let states = self.states(batch, u);
        let last = states.len() - 1;
        let from = if all_iters && last > 0 { 1 } else { last };
        let mut total: Option<Tensor<1>> = None;
        let mut final_logits = None;
        for (t, s) in states.into_iter().enumerate().skip(from) {
            let top = s.into_iter().last();
            let Some(top) = top else { continue };
            let top_for_id = top.clone();
            let logits = self.logits(top);
            let mut ce = (log_softmax(logits.clone(), 2) * one_hot.clone())
                .sum()
                .neg()
                .div_scalar(occupied.max(1) as f64);
            if let Some(id) = identity {
                ce = ce + id.loss(top_for_id);
            }
            total = Some(match total {
                Some(x) => x + ce,
                None => ce,
            });
            if t == last {
                final_logits = Some(logits);
            }
        }
        let n = (last + 1 - from) as f64;
        let loss = total.map(|t| t.div_scalar(n));
        match (loss, final_logits) {
            (Some(l), Some(f)) => Ok((l, f)),
            _ => Err(LabError::compute("the GLOM net produced no iterations")),
        }
    }
}

/// The object-identity term: pulls together the top-level embeddings of locations of the same
/// object and pushes an object's locations away from the other occupied locations (the other
/// object's parts, distractors) and, separately averaged, from the empty ones, on cosine
/// similarity. Without the separate averages the many empty locations would swamp the few
/// pairs that matter for telling two objects apart. Masks are `[B, L, L]`, zero on the diagonal.
pub struct Identity {
    /// 1 where both locations belong to the same object.
    pub same: Tensor<3>,
    /// 1 where the first location belongs to an object and the second is occupied outside it.
    pub other: Tensor<3>,
    /// 1 where the first location belongs to an object and the second is empty.
    pub empty: Tensor<3>,
    /// Number of ones in `same`, `other`, `empty`.
    pub counts: [usize; 3],
    /// Weight of the term relative to the cross-entropy.
    pub weight: f64,
}

impl Identity {
    /// Builds the masks on `device` from per-location object ids (-1: no object) and labels
    /// (-1: empty), `b` images of `l` locations.
    pub fn new(
        object: &[i32],
        label: &[i32],
        b: usize,
        l: usize,
        weight: f64,
        device: &Device,
    ) -> Self {
        let mut masks = [
            vec![0f32; b * l * l],
            vec![0f32; b * l * l],
            vec![0f32; b * l * l],
        ];
        let mut counts = [0usize; 3];
        for i in 0..b {
            let o = &object[i * l..(i + 1) * l];
            let lab = &label[i * l..(i + 1) * l];
            for x in 0..l {
                if o[x] < 0 {
                    continue;
                }
                for y in 0..l {
                    if x == y {
                        continue;
                    }
                    let k = if o[y] == o[x] {
                        0
                    } else if lab[y] >= 0 {
                        1
                    } else {
                        2
                    };
                    masks[k][i * l * l + x * l + y] = 1.0;
                    counts[k] += 1;
                }
            }
        }
        let [same, other, empty] =
            masks.map(|m| Tensor::from_data(TensorData::new(m, [b, l, l]), device));
        Identity {
            same,
            other,
            empty,
            counts,
            weight,
        }
    }

    /// mean over same-object pairs of (1 − cos) + mean over other-occupied pairs of max(cos, 0)
    /// + mean over object-empty pairs of max(cos, 0).
    fn loss(&self, e: Tensor<3>) -> Tensor<1> {
        let norm = e.clone().square().sum_dim(2).sqrt().add_scalar(1e-6);
        let n = e / norm;
        let sim = n.clone().matmul(n.swap_dims(1, 2));
        let mean = |x: Tensor<3>, count: usize| x.sum().div_scalar(count.max(1) as f64);
        let pull = mean(
            sim.clone().neg().add_scalar(1.0) * self.same.clone(),
            self.counts[0],
        );
        let push_other = mean(relu(sim.clone()) * self.other.clone(), self.counts[1]);
        let push_empty = mean(relu(sim) * self.empty.clone(), self.counts[2]);
        (pull + push_other + push_empty).mul_scalar(self.weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Features of a `grid × grid` image holding `parts` (x, y, size, aspect, angle), as the
    /// world writes them, and each part's cell.
    fn image(parts: &[(f64, f64, f64, f64, f64)], grid: usize) -> (Vec<f32>, Vec<usize>) {
        let mut f = vec![0f32; grid * grid * FEATURES];
        let mut cells = Vec::new();
        for &(x, y, size, aspect, angle) in parts {
            let cell = y.floor() as usize * grid + x.floor() as usize;
            let r = &mut f[cell * FEATURES..(cell + 1) * FEATURES];
            r[0] = 1.0;
            r[3] = size.ln() as f32;
            r[4] = aspect.ln() as f32;
            r[5] = (2.0 * angle).sin() as f32;
            r[6] = (2.0 * angle).cos() as f32;
            r[7] = (x - x.floor() - 0.5) as f32;
            r[8] = (y - y.floor() - 0.5) as f32;
            cells.push(cell);
        }
        (f, cells)
    }

    #[test]
    fn relations_ignore_a_global_rotation_scaling_and_shift() {
        let grid = 12;
        let parts = [
            (5.3, 5.6, 0.3, 1.5, 0.2),
            (6.4, 5.2, 0.45, 3.0, -0.4),
            (5.1, 6.9, 0.38, 1.8, 1.1),
            (4.2, 4.4, 0.24, 2.2, 2.9),
        ];
        let (rot, scale, (tx, ty)) = (1.9f64, 1.6, (0.7, -0.4));
        let (cx, cy) = (5.5, 5.5);
        let moved: Vec<_> = parts
            .iter()
            .map(|&(x, y, s, a, t)| {
                let (dx, dy) = ((x - cx) * scale, (y - cy) * scale);
                let (sin, cos) = rot.sin_cos();
                (
                    cx + tx + cos * dx - sin * dy,
                    cy + ty + sin * dx + cos * dy,
                    s * scale,
                    a,
                    t + rot,
                )
            })
            .collect();
        let l = grid * grid;
        let (f0, c0) = image(&parts, grid);
        let (f1, c1) = image(&moved, grid);
        assert_ne!(c0, c1, "the move changes which cells the parts sit in");
        let (r0, r1) = (relations(&f0, 1, l), relations(&f1, 1, l));
        for i in 0..parts.len() {
            for j in 0..parts.len() {
                let a = &r0[(c0[i] * l + c0[j]) * REL..][..REL];
                let b = &r1[(c1[i] * l + c1[j]) * REL..][..REL];
                for (k, (p, q)) in a.iter().zip(b).enumerate() {
                    assert!((p - q).abs() < 1e-4, "pair {i}->{j}, entry {k}: {p} vs {q}");
                }
                assert_eq!(a[0], if i == j { 0.0 } else { 1.0 });
            }
        }
        // Pairs with an empty location carry nothing.
        let empty = (0..l).find(|c| !c0.contains(c)).unwrap_or(0);
        assert!(
            r0[(c0[0] * l + empty) * REL..][..REL]
                .iter()
                .all(|&v| v == 0.0)
        );
    }

    #[test]
    fn relative_batches_keep_only_the_pose_free_features() {
        let grid = 8;
        let (f, cells) = image(&[(2.5, 3.5, 0.3, 2.0, 0.7)], grid);
        let device = crate::Backend::cpu().device;
        let pos = super::super::world::position_code(grid);
        let b = Batch::new(f.clone(), &pos, 1, grid * grid, true, &device);
        let x = crate::nn::to_vec(b.x).unwrap_or_default();
        let row = &x[cells[0] * FEATURES..(cells[0] + 1) * FEATURES];
        let kept: Vec<f32> = (0..FEATURES)
            .map(|k| {
                if INVARIANT_COLUMNS.contains(&k) {
                    row[k]
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(row, &kept[..]);
        assert_eq!(row[4], f[cells[0] * FEATURES + 4]);
        assert!(b.rel.is_some());
        let plain = Batch::new(f, &pos, 1, grid * grid, false, &device);
        assert!(plain.rel.is_none());
    }
}
