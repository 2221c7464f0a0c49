//! A simplified GLOM: one column per location with shared weights, a few levels of embeddings
//! per column, and T synchronous iterations in which every level's new embedding is a weighted
//! mean of its previous value, a bottom-up prediction from the level below, a top-down
//! prediction from the level above (which also sees the location's position) and attention to
//! the other locations' embeddings of the same level.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::{log_softmax, relu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::LabError;
use crate::nn::{Mlp, init_linear};
use crate::rng::Rng;

use super::world::{CLASSES, FEATURES, POS};

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
    /// `[B, L, FEATURES]` location features.
    pub x: Tensor<3>,
    /// `[B, L, POS]` position codes.
    pub pos: Tensor<3>,
    /// `[B, L, L]`: a large negative number on the diagonal, so nobody attends to itself.
    pub mask: Tensor<3>,
}

impl Batch {
    /// Moves host data to `device`: `features` is `B·L·FEATURES` row-major, `pos` is `L·POS`.
    pub fn new(features: Vec<f32>, pos: &[f32], b: usize, l: usize, device: &Device) -> Self {
        let x = Tensor::from_data(TensorData::new(features, [b, l, FEATURES]), device);
        let pos_all: Vec<f32> = (0..b).flat_map(|_| pos.iter().copied()).collect();
        let pos = Tensor::from_data(TensorData::new(pos_all, [b, l, POS]), device);
        let mut m = vec![0f32; b * l * l];
        for i in 0..b {
            for j in 0..l {
                m[i * l * l + j * l + j] = -1.0e4;
            }
        }
        let mask = Tensor::from_data(TensorData::new(m, [b, l, l]), device);
        Batch { x, pos, mask }
    }
}

/// Attention within one level: every location takes the mean of the *other* locations'
/// embeddings weighted by softmax(β · cosine similarity).
fn consensus(e: Tensor<3>, beta: f64, mask: Tensor<3>) -> Tensor<3> {
    let norm = e.clone().square().sum_dim(2).sqrt().add_scalar(1e-6);
    let n = e.clone() / norm;
    let sim = n.clone().matmul(n.swap_dims(1, 2)).mul_scalar(beta) + mask;
    softmax(sim, 2).matmul(e)
}

impl GlomNet {
    /// A net with `levels` levels of width `dim`, MLPs of width `hidden`.
    pub fn new(levels: usize, dim: usize, hidden: usize, rng: &mut Rng, device: &Device) -> Self {
        let bu = (0..levels)
            .map(|l| {
                let d_in = if l == 0 { FEATURES } else { dim };
                mlp(d_in, hidden, dim, rng, device)
            })
            .collect();
        let td = (0..levels.saturating_sub(1))
            .map(|_| mlp(dim + POS, hidden, dim, rng, device))
            .collect();
        GlomNet {
            bu,
            td,
            head: init_linear(dim, CLASSES + 1, rng, device),
        }
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
                    let att = consensus(cur[l].clone(), u.beta, batch.mask.clone());
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
