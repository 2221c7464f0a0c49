//! The Forward-Forward step's gradients written out by hand, for the CPU (see
//! [`crate::nn::host_grad`] for the backprop twin's).
//!
//! FF needs no backward pass through the net: every layer learns from its own goodness, on
//! the detached, normalised activities of the layer below. So a layer's step is one forward
//! product `x·W`, one fused host pass ([`trainscope_kernels::ff_layer`]: bias, ReLU, goodness,
//! the softplus loss, its gradient at the pre-activation, the normalised input of the next
//! layer) and one weight-gradient product `xᵀ·dA`. Through autodiff the same step is about
//! two dozen tensor passes per layer, each allocating, plus the graph's bookkeeping.

use std::ops::Range;

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use trainscope_kernels::{FfLayerSpec, col_sums, ff_layer, rms_normalize_rows};

use super::config::Goodness;
use super::model::{FfNet, PassOpts, SOFTPLUS_FLOOR};
use crate::error::LabError;
use crate::nn::host_grad::{LayerRefs, vector};
use crate::nn::{matrix, to_vec};

/// What one hand-written FF step measured and the gradients it produced.
pub struct HostFfStep {
    /// Gradients of the active layers' parameters.
    pub grads: GradientsParams,
    /// Every layer's goodness of every row (positives first).
    pub goodness: Vec<Vec<f32>>,
    /// The summed loss of the active layers.
    pub loss: f64,
    /// Every layer's length-normalised activities `[rows, width]`, when asked for (empty
    /// otherwise).
    pub normalized: Vec<Tensor<2>>,
}

/// The problem of one step: the rows (positives, then as many negatives) and what the loss is.
pub struct HostFfBatch<'a> {
    /// Row-major `[rows, d_in]` input images (not yet normalised).
    pub x: Vec<f32>,
    /// Rows of `x`.
    pub rows: usize,
    /// How many rows are positives.
    pub positives: usize,
    /// θ of every layer, in the goodness's units.
    pub thresholds: &'a [f64],
    /// The layers that learn in this step.
    pub active: Range<usize>,
    /// Also return every layer's normalised activities (the unsupervised readout's input).
    pub keep_normalized: bool,
    /// Supervised FF: `x` holds each image once and positive row r and negative row
    /// `positives + r` are that image under two labels (see [`LabelPairs`]).
    pub pairs: Option<LabelPairs<'a>>,
}

/// Supervised FF's positives and negatives: the same images, the label one-hot (value 1) in the
/// first `classes` columns, true for the positive and wrong for the negative.
///
/// Both rows of a pair have the same squared length (the image's plus 1), so the same RMS ρ,
/// and the first layer's pre-activations are `(x·W)/ρ + W[label]/ρ` with `x` the image
/// without its label columns: one product over the images instead of one over both copies.
/// Its weight gradient is `(x/ρ)ᵀ·(dA⁺ + dA⁻)` plus `dA/ρ` added to the two labels' rows.
/// The result equals the product over both copies up to float rounding.
#[derive(Debug, Clone, Copy)]
pub struct LabelPairs<'a> {
    /// The positive row's label of each image.
    pub positive: &'a [usize],
    /// The negative row's label of each image.
    pub negative: &'a [usize],
    /// How many leading columns hold the one-hot.
    pub classes: usize,
}

/// The first layer's input for [`LabelPairs`]: the images without their label columns, each
/// row divided by the pair's RMS, and those `1/ρ`.
fn paired_input(
    mut x: Vec<f32>,
    d_in: usize,
    pairs: &LabelPairs<'_>,
    normalize: bool,
) -> Result<(Vec<f32>, Vec<f32>), LabError> {
    let n = pairs.positive.len();
    if pairs.negative.len() != n
        || x.len() != n * d_in
        || pairs.classes > d_in
        || pairs
            .positive
            .iter()
            .chain(pairs.negative)
            .any(|&l| l >= pairs.classes)
    {
        return Err(LabError::compute(
            "the label pairs do not match the images or the label columns",
        ));
    }
    let mut inv = vec![1f32; n];
    for (row, inv) in x.chunks_exact_mut(d_in).zip(inv.iter_mut()) {
        row[..pairs.classes].fill(0.0);
        if normalize {
            // As `rms_normalize` of the labelled row: its one-hot adds 1 to the squares.
            let s: f32 = row.iter().map(|v| v * v).sum::<f32>() + 1.0;
            *inv = 1.0 / ((s / d_in as f32).sqrt() + 1e-8);
            row.iter_mut().for_each(|v| *v *= *inv);
        }
    }
    Ok((x, inv))
}

/// Whether [`ff_step_grads`] covers this net and these options: activities normalised between
/// layers, and every layer with a bias. Otherwise the caller uses autodiff.
///
/// `straight_through` needs nothing of its own: the goodness's gradient at the ReLU output is
/// `2·scale·y`, which is zero wherever the ReLU is off, so passing it through as if the ReLU
/// were the identity gives the same gradient as the ReLU's own mask.
pub fn host_covers(net: &FfNet, opts: &PassOpts) -> bool {
    opts.normalize_layers && net.layers.iter().all(|l| l.bias.is_some())
}

/// One FF step's gradients for `net` on `batch`, computed on the host (see [`host_covers`]).
/// `device` must be without autodiff.
pub fn ff_step_grads(
    net: &FfNet,
    batch: HostFfBatch<'_>,
    opts: &PassOpts,
    device: &Device,
) -> Result<HostFfStep, LabError> {
    if !host_covers(net, opts) || batch.thresholds.len() != net.layers.len() {
        return Err(LabError::compute(
            "the hand-written FF step needs normalised layers with biases and one threshold \
             per layer",
        ));
    }
    let mut refs = Vec::with_capacity(net.layers.len());
    for layer in &net.layers {
        if let Some(r) = LayerRefs::of(layer)? {
            refs.push(r);
        }
    }
    let rows = batch.rows;
    let b = batch.positives;
    let stored_rows = if batch.pairs.is_some() { b } else { rows };
    let d_in = batch.x.len().checked_div(stored_rows).unwrap_or(0);
    if batch.pairs.is_some() && rows != 2 * b {
        return Err(LabError::compute(
            "label pairs need as many negatives as positives",
        ));
    }
    // The first layer's input, and with label pairs each pair's 1/ρ.
    let (x, inv_rho) = match &batch.pairs {
        Some(pairs) => {
            let (x, inv) = paired_input(batch.x, d_in, pairs, opts.normalize_input)?;
            (x, Some(inv))
        }
        None => {
            let mut x = batch.x;
            if opts.normalize_input {
                rms_normalize_rows(&mut x, d_in);
            }
            (x, None)
        }
    };
    let mut input = matrix(x, stored_rows, d_in, device);
    let mut out = HostFfStep {
        grads: GradientsParams::new(),
        goodness: Vec::with_capacity(refs.len()),
        loss: 0.0,
        normalized: Vec::new(),
    };
    let last = refs.len().saturating_sub(1);
    for (l, r) in refs.iter().enumerate() {
        let cols = r.bias.len();
        let scale = match opts.kind {
            Goodness::Mean => 1.0 / cols as f32,
            Goodness::Sum => 1.0,
            Goodness::NegSum => -1.0,
        };
        let spec = FfLayerSpec {
            rows,
            cols,
            positives: b,
            threshold: batch.thresholds[l] as f32,
            scale,
            floor: SOFTPLUS_FLOOR as f32,
        };
        let learns = batch.active.contains(&l);
        let z = to_vec(input.clone().matmul(r.weight.clone()))?;
        // With label pairs (first layer only), both copies' pre-activations from one product.
        let paired = match (l, &batch.pairs, &inv_rho) {
            (0, Some(pairs), Some(inv)) => Some((pairs, inv)),
            _ => None,
        };
        let mut a = match paired {
            Some((pairs, inv)) => {
                let w_labels = to_vec(r.weight.clone().narrow(0, 0, pairs.classes))?;
                let mut a = vec![0f32; rows * cols];
                let (a_pos, a_neg) = a.split_at_mut(b * cols);
                for (i, z) in z.chunks_exact(cols).enumerate() {
                    for (half, label) in [
                        (&mut *a_pos, pairs.positive[i]),
                        (&mut *a_neg, pairs.negative[i]),
                    ] {
                        let w = &w_labels[label * cols..(label + 1) * cols];
                        let dst = &mut half[i * cols..(i + 1) * cols];
                        for ((d, &z), &w) in dst.iter_mut().zip(z).zip(w) {
                            *d = z + inv[i] * w;
                        }
                    }
                }
                a
            }
            None => z,
        };
        let mut next = (l < last || batch.keep_normalized).then(|| vec![0f32; rows * cols]);
        let measured = ff_layer(&mut a, &r.bias, &spec, next.as_deref_mut(), learns);
        if learns {
            out.loss += measured.loss;
            out.grads
                .register(r.bias_id, vector(col_sums(&a, cols), device));
            let dw = match paired {
                Some((pairs, inv)) => {
                    let (d_pos, d_neg) = a.split_at(b * cols);
                    let sum: Vec<f32> = d_pos.iter().zip(d_neg).map(|(p, q)| p + q).collect();
                    let mut dw = to_vec(
                        input
                            .clone()
                            .transpose()
                            .matmul(matrix(sum, b, cols, device)),
                    )?;
                    for i in 0..b {
                        for (half, label) in
                            [(d_pos, pairs.positive[i]), (d_neg, pairs.negative[i])]
                        {
                            let src = &half[i * cols..(i + 1) * cols];
                            let dst = &mut dw[label * cols..(label + 1) * cols];
                            for (d, &g) in dst.iter_mut().zip(src) {
                                *d += inv[i] * g;
                            }
                        }
                    }
                    matrix(dw, d_in, cols, device)
                }
                None => {
                    let da = matrix(a, rows, cols, device);
                    input.clone().transpose().matmul(da)
                }
            };
            out.grads.register(r.weight_id, dw);
        }
        out.goodness.push(measured.goodness);
        if let Some(next) = next {
            input = matrix(next, rows, cols, device);
            if batch.keep_normalized {
                out.normalized.push(input.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::labs::ff::model::ff_layer_loss;
    use crate::nn::autodiff_device;
    use crate::rng::Rng;

    /// For each goodness form, with and without input normalisation and with one layer
    /// frozen: the hand-written step's loss, goodness and gradients equal autodiff's.
    #[test]
    fn host_ff_gradients_match_autodiff() {
        let device = autodiff_device(&Backend::cpu().device);
        let inner = device.clone().without_autodiff();
        let (b, d_in, widths) = (5, 12, [9usize, 7, 6]);
        // θ = 40 per unit puts every positive above softplus's identity threshold (t > 20)
        // and every negative below the floor (t < −20, no gradient).
        for (kind, theta) in [
            (Goodness::Sum, 1.5f64),
            (Goodness::Sum, 40.0),
            (Goodness::Mean, 0.4),
            (Goodness::NegSum, -1.5),
        ] {
            for (normalize_input, active) in [(true, 0..3), (false, 1..2)] {
                let net = FfNet::new(d_in, &widths, &mut Rng::new(7), &device);
                let x: Vec<f32> = (0..2 * b * d_in)
                    .map(|i| ((i * 37 % 23) as f32 / 11.0 - 0.8).max(0.0))
                    .collect();
                let opts = PassOpts {
                    kind,
                    straight_through: false,
                    normalize_input,
                    normalize_layers: true,
                };
                let thresholds: Vec<f64> = widths
                    .iter()
                    .map(|&w| {
                        if kind == Goodness::Mean {
                            theta
                        } else {
                            theta * w as f64
                        }
                    })
                    .collect();
                let (gs, _) = net.pass(matrix(x.clone(), 2 * b, d_in, &device), &opts);
                let auto_loss = active
                    .clone()
                    .map(|l| ff_layer_loss(gs[l].clone(), b, thresholds[l]))
                    .reduce(|p, q| p + q)
                    .expect("layers");
                let auto_value = to_vec(auto_loss.clone()).expect("loss")[0] as f64;
                let auto_good: Vec<Vec<f32>> =
                    gs.iter().map(|g| to_vec(g.clone()).expect("g")).collect();
                let mut auto = GradientsParams::from_grads(auto_loss.backward(), &net);
                let batch = HostFfBatch {
                    x,
                    rows: 2 * b,
                    positives: b,
                    thresholds: &thresholds,
                    active: active.clone(),
                    keep_normalized: true,
                    pairs: None,
                };
                let mut host = ff_step_grads(&net, batch, &opts, &inner).expect("host step");
                let what = format!("{kind:?}, θ {theta}, normalize_input {normalize_input}");
                assert!(
                    (host.loss - auto_value).abs() < 1e-4 * auto_value.abs().max(1.0),
                    "{what}: loss {} vs {auto_value}",
                    host.loss
                );
                for (h, a) in host.goodness.iter().zip(&auto_good) {
                    for (p, q) in h.iter().zip(a) {
                        assert!(
                            (p - q).abs() < 1e-4 * q.abs().max(1.0),
                            "{what}: G {p} vs {q}"
                        );
                    }
                }
                assert_eq!(host.normalized.len(), widths.len());
                for (l, layer) in net.layers.iter().enumerate() {
                    let bias = layer.bias.as_ref().expect("bias");
                    let w = host.grads.remove::<2>(layer.weight.id);
                    let bg = host.grads.remove::<1>(bias.id);
                    if !active.contains(&l) {
                        assert!(w.is_none() && bg.is_none(), "{what}: frozen layer {l}");
                        continue;
                    }
                    let pairs = [
                        (
                            to_vec(w.expect("w")).expect("w"),
                            to_vec(auto.remove::<2>(layer.weight.id).expect("w")).expect("w"),
                        ),
                        (
                            to_vec(bg.expect("b")).expect("b"),
                            to_vec(auto.remove::<1>(bias.id).expect("b")).expect("b"),
                        ),
                    ];
                    for (h, a) in pairs {
                        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
                        assert!(scale > 1e-6, "{what}: layer {l} has no gradient to compare");
                        for (p, q) in h.iter().zip(&a) {
                            assert!(
                                (p - q).abs() <= 1e-4 * scale,
                                "{what}: layer {l}: {p} vs {q}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Supervised pairs (each image once, the labels added from W's rows) give the same
    /// goodness, loss and gradients as both labelled copies through the plain path.
    #[test]
    fn label_pairs_match_both_copies() {
        let device = Backend::cpu().device;
        let (b, d_in, classes, widths) = (4, 14, 3, [8usize, 5]);
        let net = FfNet::new(d_in, &widths, &mut Rng::new(11), &device);
        let images: Vec<f32> = (0..b * d_in)
            .map(|i| ((i * 29 % 17) as f32 / 8.0 - 0.5).max(0.0))
            .collect();
        let (truth, wrong) = ([0usize, 2, 1, 2], [1usize, 0, 2, 1]);
        let mut both = Vec::new();
        for labels in [truth, wrong] {
            for (r, &l) in labels.iter().enumerate() {
                let mut row = images[r * d_in..(r + 1) * d_in].to_vec();
                for (c, p) in row.iter_mut().take(classes).enumerate() {
                    *p = if c == l { 1.0 } else { 0.0 };
                }
                both.extend(row);
            }
        }
        let thresholds = [4.0, 2.5];
        for normalize_input in [true, false] {
            let opts = PassOpts {
                kind: Goodness::Sum,
                straight_through: false,
                normalize_input,
                normalize_layers: true,
            };
            let run = |x: Vec<f32>, pairs: Option<LabelPairs<'_>>| {
                let batch = HostFfBatch {
                    x,
                    rows: 2 * b,
                    positives: b,
                    thresholds: &thresholds,
                    active: 0..2,
                    keep_normalized: false,
                    pairs,
                };
                ff_step_grads(&net, batch, &opts, &device).expect("host step")
            };
            let mut plain = run(both.clone(), None);
            let pairs = LabelPairs {
                positive: &truth,
                negative: &wrong,
                classes,
            };
            let mut paired = run(images.clone(), Some(pairs));
            assert!((plain.loss - paired.loss).abs() < 1e-5 * plain.loss.abs().max(1.0));
            for (p, q) in plain
                .goodness
                .iter()
                .flatten()
                .zip(paired.goodness.iter().flatten())
            {
                assert!((p - q).abs() < 1e-4 * p.abs().max(1.0), "G {p} vs {q}");
            }
            for layer in &net.layers {
                let id = layer.weight.id;
                let p = to_vec(plain.grads.remove::<2>(id).expect("w")).expect("w");
                let q = to_vec(paired.grads.remove::<2>(id).expect("w")).expect("w");
                let scale = p.iter().fold(0f32, |m, v| m.max(v.abs()));
                assert!(scale > 1e-6, "no gradient to compare");
                for (p, q) in p.iter().zip(&q) {
                    assert!((p - q).abs() <= 1e-4 * scale, "dW {p} vs {q}");
                }
            }
        }
        let bad = LabelPairs {
            positive: &[0, 1, 2, 3],
            negative: &wrong,
            classes,
        };
        let batch = HostFfBatch {
            x: images,
            rows: 2 * b,
            positives: b,
            thresholds: &thresholds,
            active: 0..2,
            keep_normalized: false,
            pairs: Some(bad),
        };
        let opts = PassOpts {
            kind: Goodness::Sum,
            straight_through: false,
            normalize_input: true,
            normalize_layers: true,
        };
        assert!(
            ff_step_grads(&net, batch, &opts, &device).is_err(),
            "label 3 of 3 classes"
        );
    }
}
