//! Evaluation on the held-out test digits: the all-labels sweep, the one-pass and unsupervised
//! softmax readouts, the recurrent readout, and the backprop baseline.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use burn::tensor::activation::softmax;

use crate::data::mnist::{CLASSES, PIXELS};
use crate::error::LabError;
use crate::lab::StepReport;
use crate::nn::{argmax, matrix, rms_normalize, to_vec};

use super::config::{Mode, RECURRENT_VOTE};
use super::model::{FfNet, PassOpts, SoftmaxReadout};
use super::negatives::{put_label, shifted_image};
use super::recurrent::{RecurrentNet, one_hot};
use super::view::{DigitSample, IterationGoodness};
use super::{EVAL_CHUNK, FfLab, Net, SAMPLE_DIGITS};

/// Test digits averaged in the recurrent net's per-iteration goodness table.
const ITER_DIGITS: usize = 100;

/// For each of `n` unlabelled images (flat), the goodness summed over `voters` with each
/// candidate label in the first ten pixels: `[n × CLASSES]`. All ten labels go through the net
/// in one batched pass ([`FfNet::label_sweep`]) and are read back once.
pub(super) fn all_label_scores(
    net: &FfNet,
    flat: &[f32],
    n: usize,
    voters: &[usize],
    opts: &PassOpts,
    device: &Device,
) -> Result<Vec<f32>, LabError> {
    let mut x = flat.to_vec();
    for r in 0..n {
        x[r * PIXELS..r * PIXELS + CLASSES].fill(0.0);
    }
    let gs = net.label_sweep(matrix(x, n, PIXELS, device), CLASSES, opts);
    let Some(total) = voters
        .iter()
        .filter_map(|&l| gs.get(l).cloned())
        .reduce(|a, b| a + b)
    else {
        return Ok(vec![0f32; n * CLASSES]);
    };
    // Label-major on the device: row c·n + r is image r with label c.
    let summed = to_vec(total)?;
    let mut scores = vec![0f32; n * CLASSES];
    for c in 0..CLASSES {
        for r in 0..n {
            scores[r * CLASSES + c] = summed[c * n + r];
        }
    }
    Ok(scores)
}

/// [`all_label_scores`] the slow way: one full pass per candidate label (the reference the
/// batched sweep is tested against).
#[cfg(test)]
fn all_label_scores_per_label(
    net: &FfNet,
    flat: &[f32],
    n: usize,
    voters: &[usize],
    opts: &PassOpts,
    device: &Device,
) -> Result<Vec<f32>, LabError> {
    let mut scores = vec![0f32; n * CLASSES];
    for c in 0..CLASSES {
        let mut x = flat.to_vec();
        for r in 0..n {
            put_label(&mut x[r * PIXELS..(r + 1) * PIXELS], Some(c));
        }
        let (gs, _) = net.pass(matrix(x, n, PIXELS, device), opts);
        for &l in voters {
            for (r, g) in to_vec(gs[l].clone())?.into_iter().enumerate() {
                scores[r * CLASSES + c] += g;
            }
        }
    }
    Ok(scores)
}

/// Runs the recurrent net on `n` images with `labels` on top; returns each row's goodness
/// summed over layers and the vote iterations, and the per-iteration per-layer goodness sums
/// over rows (`[layer][iteration]`).
fn recurrent_run(
    net: &RecurrentNet,
    flat: &[f32],
    labels: &[usize],
    iters: usize,
    damping: f64,
    opts: &PassOpts,
    device: &Device,
) -> Result<(Vec<f32>, Vec<Vec<f32>>), LabError> {
    let n = labels.len();
    let mut x = matrix(flat.to_vec(), n, PIXELS, device);
    if opts.normalize_input {
        x = rms_normalize(x);
    }
    let top = matrix(one_hot(labels), n, CLASSES, device);
    let out = net.run(x, top, iters, damping, opts);
    let mut vote = vec![0f32; n];
    let mut table = vec![vec![0f32; out.len()]; out.first().map_or(0, |g| g.len())];
    for (t, gs) in out.iter().enumerate() {
        let in_vote = (RECURRENT_VOTE.0..=RECURRENT_VOTE.1).contains(&t);
        for (l, g) in gs.iter().enumerate() {
            let g = to_vec(g.clone())?;
            table[l][t] = g.iter().sum();
            if in_vote {
                for (v, x) in vote.iter_mut().zip(&g) {
                    *v += x;
                }
            }
        }
    }
    Ok((vote, table))
}

/// The recurrent readout: for each candidate label, goodness summed over all layers and
/// iterations 3–5: `[n × CLASSES]` scores.
pub(super) fn recurrent_scores(
    net: &RecurrentNet,
    flat: &[f32],
    n: usize,
    damping: f64,
    opts: &PassOpts,
    device: &Device,
) -> Result<Vec<f32>, LabError> {
    let mut scores = vec![0f32; n * CLASSES];
    for c in 0..CLASSES {
        let labels = vec![c; n];
        let (vote, _) = recurrent_run(net, flat, &labels, RECURRENT_VOTE.1, damping, opts, device)?;
        for (r, v) in vote.into_iter().enumerate() {
            scores[r * CLASSES + c] = v;
        }
    }
    Ok(scores)
}

/// Accumulates correct/incorrect predictions and the elapsed time of one readout.
#[derive(Default)]
struct Tally {
    wrong: usize,
    ms: f64,
}

impl FfLab {
    fn test_images(&self, start: usize, n: usize) -> Vec<f32> {
        let mut flat = Vec::with_capacity(n * PIXELS);
        for i in start..start + n {
            flat.extend(shifted_image(&self.data.test, i, 0, 0));
        }
        flat
    }

    /// Softmax readout probabilities `[n × CLASSES]` for plain images.
    fn readout_probs(&self, flat: &[f32], n: usize) -> Result<Vec<f32>, LabError> {
        let Some((head, _)) = &self.readout else {
            return Err(LabError::compute(
                "no softmax readout in this configuration",
            ));
        };
        let Net::Feed(net) = &self.net else {
            return Err(LabError::compute("the network does not match the mode"));
        };
        let device = self.device.clone().without_autodiff();
        let mut x = flat.to_vec();
        if self.cfg.mode == Mode::Supervised {
            for r in 0..n {
                put_label(&mut x[r * PIXELS..(r + 1) * PIXELS], None);
            }
        }
        let (_, acts) = net
            .valid()
            .pass(matrix(x, n, PIXELS, &device), &self.opts());
        let features = SoftmaxReadout::features(&acts, &self.readout_layers());
        to_vec(softmax(head.valid().forward(features), 1))
    }

    /// The running estimate: the main readout's and the baseline's error on the first
    /// `quick_eval_n` test images (a fixed held-out subset), as `test_error_est` and
    /// `bp_test_error_est`. It reads the nets only (no RNG, no state), so runs stay identical.
    pub(super) fn quick_estimate(&self) -> Result<StepReport, LabError> {
        let total = self.cfg.quick_eval_n.min(self.n_test);
        let device = self.device.clone().without_autodiff();
        let bp = self.bp.as_ref().map(|(n, _)| n.valid());
        let (mut wrong, mut bp_wrong) = (0usize, 0usize);
        let mut start = 0;
        while start < total {
            let n = EVAL_CHUNK.min(total - start);
            let flat = self.test_images(start, n);
            let scores = match self.cfg.mode {
                Mode::Unsupervised => self.readout_probs(&flat, n)?,
                _ => self.label_scores(&flat, n)?,
            };
            let bp_logits = match &bp {
                Some(net) => Some(to_vec(net.forward(matrix(flat, n, PIXELS, &device)))?),
                None => None,
            };
            for r in 0..n {
                let truth = self.data.test.labels[start + r];
                wrong +=
                    usize::from(argmax(&scores[r * CLASSES..(r + 1) * CLASSES]) as u8 != truth);
                if let Some(l) = &bp_logits {
                    bp_wrong +=
                        usize::from(argmax(&l[r * CLASSES..(r + 1) * CLASSES]) as u8 != truth);
                }
            }
            start += n;
        }
        let mut report = StepReport::default();
        if total > 0 {
            report.push("test_error_est", wrong as f64 / total as f64);
            if bp.is_some() {
                report.push("bp_test_error_est", bp_wrong as f64 / total as f64);
            }
        }
        Ok(report)
    }

    /// Test error of every readout on the first `n_test` test images.
    pub(super) fn evaluate(&mut self) -> Result<StepReport, LabError> {
        let device = self.device.clone().without_autodiff();
        let bp = self.bp.as_ref().map(|(n, _)| n.valid());
        let mut main = Tally::default();
        let mut one_pass = Tally::default();
        let mut bp_wrong = 0usize;
        let mut samples = Vec::new();
        let mut start = 0;
        while start < self.n_test {
            let n = EVAL_CHUNK.min(self.n_test - start);
            let flat = self.test_images(start, n);
            let t0 = Instant::now();
            let scores = match (&self.net, self.cfg.mode) {
                (_, Mode::Unsupervised) => self.readout_probs(&flat, n)?,
                (Net::Rec(_), _) => self.label_scores(&flat, n)?,
                (Net::Feed(_), _) => self.label_scores(&flat, n)?,
            };
            main.ms += t0.elapsed().as_secs_f64() * 1e3;
            let one_pass_pred = if self.cfg.mode == Mode::Supervised && self.readout.is_some() {
                let t0 = Instant::now();
                let p = self.readout_probs(&flat, n)?;
                one_pass.ms += t0.elapsed().as_secs_f64() * 1e3;
                Some(p)
            } else {
                None
            };
            let bp_logits = match &bp {
                Some(net) => Some(to_vec(net.forward(matrix(
                    flat.clone(),
                    n,
                    PIXELS,
                    &device,
                )))?),
                None => None,
            };
            for r in 0..n {
                let truth = self.data.test.labels[start + r];
                let row = &scores[r * CLASSES..(r + 1) * CLASSES];
                // Classes fit in a byte (CLASSES = 10), as the labels do.
                let pred = argmax(row) as u8;
                main.wrong += usize::from(pred != truth);
                if let Some(p) = &one_pass_pred {
                    one_pass.wrong +=
                        usize::from(argmax(&p[r * CLASSES..(r + 1) * CLASSES]) as u8 != truth);
                }
                let bpp = bp_logits
                    .as_ref()
                    .map(|l| argmax(&l[r * CLASSES..(r + 1) * CLASSES]) as u8);
                bp_wrong += usize::from(bpp.is_some_and(|p| p != truth));
                if start + r < SAMPLE_DIGITS {
                    let mut goodness = [0f32; CLASSES];
                    goodness.copy_from_slice(row);
                    samples.push(DigitSample {
                        pixels: self.data.test.image(start + r).to_vec(),
                        label: truth,
                        ff_pred: pred,
                        goodness,
                        bp_pred: bpp,
                    });
                }
            }
            start += n;
        }
        let mut report = StepReport::default();
        let frac = |w: usize| w as f64 / self.n_test as f64;
        report.push("test_error", frac(main.wrong));
        if self.cfg.validation > 0 {
            // The same number under its honest name: these are held-out training images.
            report.push("val_error", frac(main.wrong));
        }
        self.test_error = Some(frac(main.wrong));
        if self.cfg.mode == Mode::Supervised && self.readout.is_some() {
            report.push("one_pass_test_error", frac(one_pass.wrong));
            self.one_pass_test_error = Some(frac(one_pass.wrong));
            self.eval_ms = Some((main.ms, one_pass.ms));
        }
        if bp.is_some() {
            report.push("bp_test_error", frac(bp_wrong));
            self.bp_test_error = Some(frac(bp_wrong));
        }
        if self.cfg.mode == Mode::Recurrent {
            self.iterations = Some(self.iteration_table(&device)?);
        }
        self.samples = samples;
        Ok(report)
    }

    /// Mean goodness per layer and iteration over the first test digits, with the true label on
    /// top versus the wrong label that scored best.
    fn iteration_table(&self, device: &Device) -> Result<IterationGoodness, LabError> {
        let Net::Rec(net) = &self.net else {
            return Err(LabError::compute("the network does not match the mode"));
        };
        let net = net.valid();
        let n = ITER_DIGITS.min(self.n_test);
        let flat = self.test_images(0, n);
        let opts = self.opts();
        let scores = recurrent_scores(&net, &flat, n, self.cfg.damping, &opts, device)?;
        let truths: Vec<usize> = (0..n).map(|r| self.data.test.labels[r] as usize).collect();
        let best_wrong: Vec<usize> = truths
            .iter()
            .enumerate()
            .map(|(r, &t)| {
                let row = &scores[r * CLASSES..(r + 1) * CLASSES];
                (0..CLASSES)
                    .filter(|&c| c != t)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap_or((t + 1) % CLASSES)
            })
            .collect();
        let iters = self.cfg.iterations;
        let damping = self.cfg.damping;
        let mean = |table: Vec<Vec<f32>>| -> Vec<Vec<f32>> {
            table
                .into_iter()
                .map(|row| row.into_iter().map(|v| v / n.max(1) as f32).collect())
                .collect()
        };
        let (_, t_true) = recurrent_run(&net, &flat, &truths, iters, damping, &opts, device)?;
        let (_, t_wrong) = recurrent_run(&net, &flat, &best_wrong, iters, damping, &opts, device)?;
        Ok(IterationGoodness {
            true_label: mean(t_true),
            best_wrong: mean(t_wrong),
            digits: n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::labs::ff::config::Goodness;
    use crate::nn::init_linear;
    use crate::rng::Rng;

    /// The batched sweep scores every image and label as ten separate passes do, for each
    /// goodness form, with and without input normalisation, whatever the label pixels held.
    #[test]
    fn batched_label_sweep_matches_one_pass_per_label() {
        let device = Backend::cpu().device;
        let mut rng = Rng::new(7);
        // Uniform init, so the biases are not zero and their path is checked too.
        let net = FfNet {
            layers: vec![
                init_linear(PIXELS, 48, &mut rng, &device),
                init_linear(48, 32, &mut rng, &device),
                init_linear(32, 16, &mut rng, &device),
            ],
        };
        let n = 13;
        // Images with ink everywhere, including the label pixels, which the sweep overwrites.
        let flat: Vec<f32> = (0..n * PIXELS).map(|_| rng.range_f32(0.0, 1.0)).collect();
        for kind in [Goodness::Sum, Goodness::Mean, Goodness::NegSum] {
            for normalize_input in [true, false] {
                for normalize_layers in [true, false] {
                    let opts = PassOpts {
                        kind,
                        straight_through: false,
                        normalize_input,
                        normalize_layers,
                    };
                    for voters in [vec![0, 1, 2], vec![1, 2]] {
                        let fast = all_label_scores(&net, &flat, n, &voters, &opts, &device)
                            .expect("batched");
                        let slow =
                            all_label_scores_per_label(&net, &flat, n, &voters, &opts, &device)
                                .expect("per label");
                        assert_eq!(fast.len(), n * CLASSES);
                        let scale = slow.iter().fold(0f32, |m, v| m.max(v.abs()));
                        assert!(scale > 0.0, "{opts:?}: all scores zero");
                        for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                            assert!(
                                (a - b).abs() <= 1e-4 * scale,
                                "{opts:?} voters {voters:?} row {} label {}: {a} vs {b}",
                                i / CLASSES,
                                i % CLASSES
                            );
                        }
                        // The labels must matter, or the comparison would be empty.
                        assert!(
                            (0..n).any(|r| slow[r * CLASSES] != slow[r * CLASSES + 1]),
                            "{opts:?}: scores do not depend on the label"
                        );
                    }
                }
            }
        }
    }
}
