//! One training step of each mode, the backprop twin and the softmax readout.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::data::mnist::{CLASSES, PIXELS};
use crate::error::LabError;
use crate::lab::StepReport;
use crate::nn::host_grad::{relu_mlp_covers, relu_mlp_xent_grads};
use crate::nn::{Adam, Mlp, matrix, rms_normalize, scalar, to_vec};

use super::config::{Mode, Negatives};
use super::eval::{all_label_scores, recurrent_scores};
use super::host::{HostFfBatch, HostFfStep, LabelPairs, ff_step_grads, host_covers};
use super::model::{BpNet, FfNet, SoftmaxReadout, ff_layer_loss};
use super::negatives::{
    hard_wrong, hybrid, hybrid_mask, put_label, random_shift, shifted_image, uniform_wrong,
};
use super::recurrent::one_hot;
use super::{FfLab, HIST_BATCHES, Net};

fn net_mismatch() -> LabError {
    LabError::compute("the network does not match the mode")
}

impl FfLab {
    /// The true labels of the training examples `batch`.
    fn batch_labels(&self, batch: &[usize]) -> Vec<usize> {
        batch
            .iter()
            .map(|&i| self.data.train.labels[i] as usize)
            .collect()
    }

    /// The batch's training images, each shifted at random by up to `jitter` pixels.
    pub(super) fn batch_images(&mut self, batch: &[usize]) -> Vec<Vec<f32>> {
        batch
            .iter()
            .map(|&i| {
                let (dx, dy) = random_shift(self.cfg.jitter, &mut self.rng_aug);
                shifted_image(&self.data.train, i, dx, dy)
            })
            .collect()
    }

    /// The net's score for every candidate label of each image (flat, unlabelled): summed
    /// goodness, the log-odds of "positive" up to a constant.
    pub(super) fn label_scores(&self, flat: &[f32], n: usize) -> Result<Vec<f32>, LabError> {
        let device = self.device.clone().without_autodiff();
        let opts = self.opts();
        match &self.net {
            Net::Feed(net) => {
                let voters = self.voters(self.cfg.readout == super::Readout::SkipFirst);
                all_label_scores(&net.valid(), flat, n, &voters, &opts, &device)
            }
            Net::Rec(net) => {
                recurrent_scores(&net.valid(), flat, n, self.cfg.damping, &opts, &device)
            }
        }
    }

    /// A wrong label for each image of the batch, uniform or "hard".
    fn wrong_labels(
        &mut self,
        batch: &[usize],
        images: &[Vec<f32>],
    ) -> Result<Vec<usize>, LabError> {
        let truths = self.batch_labels(batch);
        Ok(match self.cfg.negatives {
            Negatives::Uniform => truths
                .iter()
                .map(|&t| uniform_wrong(t, &mut self.rng_neg))
                .collect(),
            Negatives::Hard => {
                let flat: Vec<f32> = images.iter().flatten().copied().collect();
                let scores = self.label_scores(&flat, images.len())?;
                truths
                    .iter()
                    .enumerate()
                    .map(|(r, &t)| {
                        hard_wrong(
                            t,
                            &scores[r * CLASSES..(r + 1) * CLASSES],
                            &mut self.rng_neg,
                        )
                    })
                    .collect()
            }
        })
    }

    /// The FF loss of the layers that learn now; `gs` holds positives first, then negatives.
    fn ff_loss(&self, gs: &[Tensor<1>], b: usize) -> Option<Tensor<1>> {
        self.active_layers()
            .filter_map(|l| gs.get(l).map(|g| (l, g)))
            .map(|(l, g)| ff_layer_loss(g.clone(), b, self.cfg.layer_threshold(l)))
            .reduce(|a, c| a + c)
    }

    /// Mean goodness metrics and histogram history of every layer.
    fn record_goodness(
        &mut self,
        gs: &[Tensor<1>],
        b: usize,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let values = gs
            .iter()
            .map(|g| to_vec(g.clone().detach()))
            .collect::<Result<Vec<_>, _>>()?;
        self.record_goodness_values(&values, b, report);
        Ok(())
    }

    /// [`FfLab::record_goodness`] from values already on the host.
    fn record_goodness_values(&mut self, gs: &[Vec<f32>], b: usize, report: &mut StepReport) {
        for (l, values) in gs.iter().enumerate() {
            let (pos, neg) = values.split_at(b.min(values.len()));
            let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
            report.push(format!("goodness_pos_l{}", l + 1), mean(pos));
            report.push(format!("goodness_neg_l{}", l + 1), mean(neg));
            let h = &mut self.hist[l];
            h.pos.push_back(pos.to_vec());
            h.neg.push_back(neg.to_vec());
            if h.pos.len() > HIST_BATCHES {
                h.pos.pop_front();
                h.neg.pop_front();
            }
        }
    }

    /// Whether this step computes its gradients by hand on the host (see [`super::host`]):
    /// on the CPU (where the fused host Adam runs), unless `host_step` is off.
    fn host_step(&self) -> bool {
        self.cfg.host_step && matches!(self.ff_opt, Adam::Host(_))
    }

    /// The hand-written FF step (the caller checks [`host_covers`] first).
    fn host_ff(
        &self,
        net: &FfNet,
        x: Vec<f32>,
        b: usize,
        pairs: Option<LabelPairs<'_>>,
    ) -> Result<HostFfStep, LabError> {
        let thresholds: Vec<f64> = (0..self.cfg.layers.len())
            .map(|l| self.cfg.layer_threshold(l))
            .collect();
        let batch = HostFfBatch {
            x,
            rows: 2 * b,
            positives: b,
            thresholds: &thresholds,
            active: self.active_layers(),
            keep_normalized: self.readout.is_some() && self.cfg.mode == Mode::Unsupervised,
            pairs,
        };
        let device = self.device.clone().without_autodiff();
        ff_step_grads(net, batch, &self.opts(), &device)
    }

    /// Supervised or unsupervised FF on one batch, plus the softmax readout.
    pub(super) fn train_feedforward(
        &mut self,
        batch: &[usize],
        images: &[Vec<f32>],
        scale: f64,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let b = batch.len();
        // Supervised pairs: the same image under its true label and under a wrong one.
        let mut pairs: Option<(Vec<usize>, Vec<usize>)> = None;
        let (pos, neg): (Vec<Vec<f32>>, Vec<Vec<f32>>) = match self.cfg.mode {
            Mode::Unsupervised => {
                let mut neg = Vec::with_capacity(b);
                for (&i, a) in batch.iter().zip(images) {
                    // Any other training image: no labels are used in unsupervised FF.
                    let mut j = self.rng_neg.below(self.n_train);
                    if j == i {
                        j = (j + 1) % self.n_train;
                    }
                    let (dx, dy) = random_shift(self.cfg.jitter, &mut self.rng_aug);
                    let other = shifted_image(&self.data.train, j, dx, dy);
                    let mask = hybrid_mask(self.cfg.mask_blurs, &mut self.rng_neg);
                    neg.push(hybrid(a, &other, &mask));
                }
                (images.to_vec(), neg)
            }
            _ => {
                let wrong = self.wrong_labels(batch, images)?;
                let mut pos = images.to_vec();
                let mut neg = images.to_vec();
                for (r, &i) in batch.iter().enumerate() {
                    put_label(&mut pos[r], Some(self.data.train.labels[i] as usize));
                    put_label(&mut neg[r], Some(wrong[r]));
                }
                pairs = Some((self.batch_labels(batch), wrong));
                (pos, neg)
            }
        };
        self.record_examples(&pos, &neg);
        let lr = self.cfg.lr * scale;
        let Net::Feed(current) = &self.net else {
            return Err(net_mismatch());
        };
        if self.host_step() && host_covers(current, &self.opts()) {
            let step = match &pairs {
                // Each image once; the step adds the two labels' rows of W itself.
                Some((truth, wrong)) => {
                    let x: Vec<f32> = images.iter().flatten().copied().collect();
                    let pairs = LabelPairs {
                        positive: truth,
                        negative: wrong,
                        classes: CLASSES,
                    };
                    self.host_ff(current, x, b, Some(pairs))?
                }
                None => {
                    let x: Vec<f32> = pos.iter().chain(&neg).flatten().copied().collect();
                    self.host_ff(current, x, b, None)?
                }
            };
            self.record_goodness_values(&step.goodness, b, report);
            report.push("ff_loss", step.loss);
            // Moved out rather than cloned, so that Adam updates the weights' own buffers.
            let empty = Net::Feed(FfNet { layers: Vec::new() });
            if let Net::Feed(net) = std::mem::replace(&mut self.net, empty) {
                self.net = Net::Feed(self.ff_opt.step(lr, net, step.grads));
            }
            return self.readout_after_ff(step.normalized, images, batch, report);
        }
        let net = current.clone();
        let x: Vec<f32> = pos.iter().chain(&neg).flatten().copied().collect();
        let (gs, acts) = net.pass(matrix(x, 2 * b, PIXELS, &self.device), &self.opts());
        let total = self
            .ff_loss(&gs, b)
            .ok_or_else(|| LabError::compute("network has no layers"))?;
        // Every layer's goodness and the loss come back in one read: on a GPU each read waits
        // for the queue to drain, so one per step instead of one per layer plus the loss.
        let mut parts: Vec<Tensor<1>> = gs.iter().map(|g| g.clone().detach()).collect();
        parts.push(total.clone().detach().reshape([1]));
        let values = to_vec(Tensor::cat(parts, 0))?;
        let per_layer: Vec<Vec<f32>> = values
            .chunks(2 * b)
            .take(gs.len())
            .map(<[f32]>::to_vec)
            .collect();
        self.record_goodness_values(&per_layer, b, report);
        report.push("ff_loss", values.last().copied().unwrap_or(f32::NAN) as f64);
        self.net = Net::Feed(self.ff_opt.descend(net, total, lr));
        self.readout_after_ff(acts, images, batch, report)
    }

    /// The softmax readout's step after an FF step. `acts` are every layer's activities for
    /// the FF batch (positives first): in unsupervised mode the positives are the plain
    /// images, so their activities are reused; the one-pass readout runs its own pass with the
    /// neutral label.
    fn readout_after_ff(
        &mut self,
        acts: Vec<Tensor<2>>,
        images: &[Vec<f32>],
        batch: &[usize],
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        if self.readout.is_none() {
            return Ok(());
        }
        let features = match self.cfg.mode {
            Mode::Unsupervised => {
                let b = batch.len();
                let acts: Vec<Tensor<2>> = acts.into_iter().map(|a| a.narrow(0, 0, b)).collect();
                SoftmaxReadout::features(&acts, &self.readout_layers())
            }
            _ => self.readout_features(images)?,
        };
        self.readout_step(features, batch, report)
    }

    /// The softmax readout's input for plain images: the neutral label goes into the first
    /// ten pixels in supervised mode (one-pass readout).
    pub(super) fn readout_features(&self, images: &[Vec<f32>]) -> Result<Tensor<2>, LabError> {
        let Net::Feed(net) = &self.net else {
            return Err(net_mismatch());
        };
        let mut x = Vec::with_capacity(images.len() * PIXELS);
        for img in images {
            let start = x.len();
            x.extend_from_slice(img);
            if self.cfg.mode == Mode::Supervised {
                put_label(&mut x[start..], None);
            }
        }
        let (_, acts) = net.pass(matrix(x, images.len(), PIXELS, &self.device), &self.opts());
        Ok(SoftmaxReadout::features(&acts, &self.readout_layers()))
    }

    fn readout_step(
        &mut self,
        features: Tensor<2>,
        batch: &[usize],
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let labels = self.batch_labels(batch);
        let Some((head, opt)) = self.readout.as_mut() else {
            return Ok(());
        };
        let y = matrix(one_hot(&labels), batch.len(), CLASSES, &self.device);
        let loss = head.loss(features, y);
        report.push("readout_loss", scalar(loss.clone().detach())?);
        *head = opt.descend(head.clone(), loss, self.cfg.readout_lr);
        Ok(())
    }

    /// After FF ends: train only the softmax readout on the frozen net.
    pub(super) fn train_readout_only(
        &mut self,
        batch: &[usize],
        images: &[Vec<f32>],
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let features = self.readout_features(images)?;
        self.readout_step(features, batch, report)
    }

    /// Recurrent FF on one batch: positives carry the true label on top, negatives a wrong one;
    /// every layer's goodness at every iteration after the bottom-up pass is trained.
    pub(super) fn train_recurrent(
        &mut self,
        batch: &[usize],
        images: &[Vec<f32>],
        scale: f64,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let b = batch.len();
        let wrong = self.wrong_labels(batch, images)?;
        let mut labels = self.batch_labels(batch);
        labels.extend(&wrong);
        let with_label = |img: &Vec<f32>, l: usize| {
            let mut v = img.clone();
            put_label(&mut v, Some(l));
            v
        };
        let shown_pos: Vec<Vec<f32>> = images
            .iter()
            .zip(&labels)
            .map(|(i, &l)| with_label(i, l))
            .collect();
        let shown_neg: Vec<Vec<f32>> = images
            .iter()
            .zip(&wrong)
            .map(|(i, &l)| with_label(i, l))
            .collect();
        self.record_examples(&shown_pos, &shown_neg);
        let flat: Vec<f32> = images.iter().chain(images).flatten().copied().collect();
        let mut x = matrix(flat, 2 * b, PIXELS, &self.device);
        if self.cfg.normalize_input {
            x = rms_normalize(x);
        }
        let top = matrix(one_hot(&labels), 2 * b, CLASSES, &self.device);
        let net = match &self.net {
            Net::Rec(n) => n.clone(),
            Net::Feed(_) => return Err(net_mismatch()),
        };
        let out = net.run(x, top, self.cfg.iterations, self.cfg.damping, &self.opts());
        let total = out
            .iter()
            .skip(1)
            .filter_map(|gs| self.ff_loss(gs, b))
            .reduce(|a, c| a + c)
            .ok_or_else(|| LabError::compute("network has no layers"))?;
        if let Some(last) = out.last() {
            self.record_goodness(last, b, report)?;
        }
        report.push("ff_loss", scalar(total.clone().detach())?);
        let lr = self.cfg.lr * scale;
        self.net = Net::Rec(self.ff_opt.descend(net, total, lr));
        Ok(())
    }

    /// The backprop twin on the same (jittered) images.
    pub(super) fn train_bp(
        &mut self,
        batch: &[usize],
        images: &[Vec<f32>],
        lr: f64,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let labels = self.batch_labels(batch);
        let host = self.host_step();
        let inner = self.device.clone().without_autodiff();
        let Some((net, opt)) = self.bp.as_mut() else {
            return Ok(());
        };
        let b = batch.len();
        let x: Vec<f32> = images.iter().flatten().copied().collect();
        if host && relu_mlp_covers(&net.mlp) {
            let (grads, loss) =
                relu_mlp_xent_grads(&net.mlp, matrix(x, b, PIXELS, &inner), &labels)?;
            report.push("bp_loss", loss);
            // Moved out rather than cloned (see `train_feedforward`).
            let empty = BpNet {
                mlp: Mlp::from_layers(Vec::new(), net.mlp.activation),
            };
            *net = opt.step(lr, std::mem::replace(net, empty), grads);
            return Ok(());
        }
        let loss = net.loss(
            matrix(x, b, PIXELS, &self.device),
            matrix(one_hot(&labels), b, CLASSES, &self.device),
        );
        report.push("bp_loss", scalar(loss.clone().detach())?);
        *net = opt.descend(net.clone(), loss, lr);
        Ok(())
    }
}
