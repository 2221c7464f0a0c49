//! Forward-Forward (Hinton 2022) on MNIST: the paper's three MNIST experiments in one lab.
//!
//! - `supervised` (§3.3): the label one-hot in the first ten pixels, layer-local goodness
//!   objectives, the all-labels readout and, optionally, the one-pass readout;
//! - `unsupervised` (§3.2): hybrid-image negatives and a linear softmax on the frozen net;
//! - `recurrent` (§4): top-down connections, damped synchronous updates, the label on top.
//!
//! A backprop net of the same widths trains on the same batches for comparison.

pub mod config;
mod eval;
pub mod host;
pub mod model;
pub mod negatives;
pub mod recurrent;
mod train;
pub mod view;

use std::collections::VecDeque;
use std::sync::Arc;

use burn::tensor::Device;

use crate::checkpoint::{Reader, Writer};
use crate::data::mnist::{self, CLASSES, Mnist, PIXELS, Source};
use crate::error::LabError;
use crate::lab::{Knob, Lab, LabConfig, NoAction, StepReport};
use crate::nn::{Adam, to_vec};
use crate::rng::Rng;

pub use config::{FfConfig, Goodness, Mode, Negatives, RECURRENT_VOTE, Readout, Schedule};
use model::{BpNet, FfNet, PassOpts, SoftmaxReadout};
use recurrent::RecurrentNet;
pub use view::{DigitSample, FfView, IterationGoodness, LayerGoodness};

/// How many recent batches feed the goodness histograms.
const HIST_BATCHES: usize = 4;
/// How many test digits the panel shows with their per-label scores.
const SAMPLE_DIGITS: usize = 12;
/// Images per forward pass during evaluation (bounds memory).
const EVAL_CHUNK: usize = 1000;
/// How many first-layer units the receptive-field grid shows.
pub const FIELDS: usize = 64;
/// Steps between refreshes of the receptive fields (reading weights back is not free).
const FIELDS_EVERY: u64 = 100;
/// How many positive/negative training inputs the panel shows.
const EXAMPLES: usize = 4;

/// Goodness of one layer over the last few batches, for the histograms.
#[derive(Debug, Clone, Default)]
struct LayerHistory {
    pos: VecDeque<Vec<f32>>,
    neg: VecDeque<Vec<f32>>,
}

/// The network being trained: feed-forward (supervised, unsupervised) or recurrent.
enum Net {
    Feed(FfNet),
    Rec(RecurrentNet),
}

/// The Forward-Forward lab.
pub struct FfLab {
    cfg: FfConfig,
    device: Device,
    data: Arc<Mnist>,
    n_train: usize,
    n_test: usize,
    order: Vec<usize>,
    cursor: usize,
    rng_order: Rng,
    rng_neg: Rng,
    rng_aug: Rng,
    net: Net,
    ff_opt: Adam,
    /// The softmax readout (unsupervised classifier or one-pass readout) and its optimiser.
    readout: Option<(SoftmaxReadout, Adam)>,
    bp: Option<(BpNet, Adam)>,
    step: u64,
    hist: Vec<LayerHistory>,
    samples: Vec<DigitSample>,
    test_error: Option<f64>,
    one_pass_test_error: Option<f64>,
    bp_test_error: Option<f64>,
    positives: Vec<Vec<u8>>,
    negatives: Vec<Vec<u8>>,
    fields: Vec<Vec<f32>>,
    iterations: Option<IterationGoodness>,
    eval_ms: Option<(f64, f64)>,
}

impl FfLab {
    fn opts(&self) -> PassOpts {
        PassOpts {
            kind: self.cfg.goodness,
            straight_through: self.cfg.straight_through,
            normalize_input: self.cfg.normalize_input,
            normalize_layers: self.cfg.normalize_layers,
        }
    }

    /// Steps of FF training (the run may add readout-only steps after them).
    fn ff_steps(&self) -> u64 {
        (self.cfg.epochs * self.n_train as f64 / self.cfg.batch_size as f64).ceil() as u64
    }

    fn readout_steps(&self) -> u64 {
        if self.readout.is_none() {
            return 0;
        }
        (self.cfg.readout_epochs * self.n_train as f64 / self.cfg.batch_size as f64).ceil() as u64
    }

    fn planned(&self) -> u64 {
        self.ff_steps() + self.readout_steps()
    }

    fn lr_scale(&self) -> f64 {
        let total = self.ff_steps() as f64;
        if !self.cfg.lr_decay || total <= 0.0 {
            return 1.0;
        }
        let t = self.step as f64 / total;
        if t <= 0.5 {
            1.0
        } else {
            (2.0 * (1.0 - t)).max(0.01)
        }
    }

    /// The layers that learn at this step.
    fn active_layers(&self) -> std::ops::Range<usize> {
        let n = self.cfg.layers.len();
        match self.cfg.schedule {
            Schedule::Simultaneous => 0..n,
            Schedule::Layerwise => {
                let span = self.ff_steps().max(1);
                let l = ((self.step * n as u64) / span).min(n as u64 - 1) as usize;
                l..l + 1
            }
        }
    }

    /// The layers whose goodness or activities the readouts use: all, or all but the first.
    fn voters(&self, skip_first: bool) -> Vec<usize> {
        let n = self.cfg.layers.len();
        if skip_first && n > 1 {
            (1..n).collect()
        } else {
            (0..n).collect()
        }
    }

    /// Layers feeding the softmax readout: all but the first (one-pass, as the paper), or, for
    /// the unsupervised classifier, as `readout` says.
    fn readout_layers(&self) -> Vec<usize> {
        match self.cfg.mode {
            Mode::Unsupervised => self.voters(self.cfg.readout == Readout::SkipFirst),
            _ => self.voters(true),
        }
    }

    fn next_batch(&mut self) -> Vec<usize> {
        let mut batch = Vec::with_capacity(self.cfg.batch_size);
        while batch.len() < self.cfg.batch_size {
            if self.cursor >= self.order.len() {
                self.rng_order.shuffle(&mut self.order);
                self.cursor = 0;
            }
            batch.push(self.order[self.cursor]);
            self.cursor += 1;
        }
        batch
    }

    fn refresh_fields(&mut self) -> Result<(), LabError> {
        let w = match &self.net {
            Net::Feed(n) => n.layers[0].weight.val(),
            Net::Rec(n) => n.first_weights(),
        };
        let [d_in, width] = w.dims();
        let flat = to_vec(w)?;
        let units = width.min(FIELDS);
        self.fields = (0..units)
            .map(|u| (0..d_in).map(|p| flat[p * width + u]).collect())
            .collect();
        Ok(())
    }

    /// A checkpoint (see [`Lab::save_state`]): the config in force, the step, the data order
    /// and cursor, the three RNG streams, every net with its Adam moments, and the latest
    /// evaluation's figures. The panel's recent histograms, example inputs and digit strip are
    /// left out (they refill within a few steps or at the next evaluation).
    fn checkpoint(&self) -> Result<Vec<u8>, LabError> {
        let mut w = Writer::new();
        w.str(&serde_json::to_string(&self.cfg).map_err(|e| LabError::compute(e.to_string()))?);
        w.u64(self.step);
        w.u64(self.cursor as u64);
        w.usizes(&self.order);
        for r in [&self.rng_order, &self.rng_neg, &self.rng_aug] {
            w.rng(r);
        }
        match &self.net {
            Net::Feed(n) => w.module(n, &self.ff_opt)?,
            Net::Rec(n) => w.module(n, &self.ff_opt)?,
        }
        w.u64(u64::from(self.readout.is_some()));
        if let Some((m, a)) = &self.readout {
            w.module(m, a)?;
        }
        w.u64(u64::from(self.bp.is_some()));
        if let Some((m, a)) = &self.bp {
            w.module(m, a)?;
        }
        w.opt_f64(self.test_error);
        w.opt_f64(self.one_pass_test_error);
        w.opt_f64(self.bp_test_error);
        w.opt_f64(self.eval_ms.map(|e| e.0));
        w.opt_f64(self.eval_ms.map(|e| e.1));
        Ok(w.finish())
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), LabError> {
        let mut r = Reader::new(bytes);
        let cfg: FfConfig = serde_json::from_str(&r.str()?)
            .map_err(|e| LabError::compute(format!("checkpoint config: {e}")))?;
        let (step, cursor, order) = (r.u64()?, r.u64()? as usize, r.usizes()?);
        if order.len() != self.order.len() || cfg.layers != self.cfg.layers {
            return Err(LabError::compute("the checkpoint is of another FF run"));
        }
        let rngs = [r.rng()?, r.rng()?, r.rng()?];
        let net = match std::mem::replace(&mut self.net, Net::Feed(FfNet { layers: Vec::new() })) {
            Net::Feed(n) => Net::Feed(r.module(n, &mut self.ff_opt)?),
            Net::Rec(n) => Net::Rec(r.module(n, &mut self.ff_opt)?),
        };
        self.net = net;
        if (r.u64()? != 0) != self.readout.is_some() {
            return Err(LabError::compute("the checkpoint's readout differs"));
        }
        if let Some((m, mut a)) = self.readout.take() {
            let m = r.module(m, &mut a)?;
            self.readout = Some((m, a));
        }
        if (r.u64()? != 0) != self.bp.is_some() {
            return Err(LabError::compute("the checkpoint's backprop net differs"));
        }
        if let Some((m, mut a)) = self.bp.take() {
            let m = r.module(m, &mut a)?;
            self.bp = Some((m, a));
        }
        self.test_error = r.opt_f64()?;
        self.one_pass_test_error = r.opt_f64()?;
        self.bp_test_error = r.opt_f64()?;
        self.eval_ms = r.opt_f64()?.zip(r.opt_f64()?);
        r.done()?;
        let [o, n, a] = rngs;
        (self.rng_order, self.rng_neg, self.rng_aug) = (o, n, a);
        (self.cfg, self.step, self.cursor, self.order) = (cfg, step, cursor, order);
        self.refresh_fields()
    }

    fn record_examples(&mut self, pos: &[Vec<f32>], neg: &[Vec<f32>]) {
        let bytes = |v: &Vec<f32>| {
            v.iter()
                .map(|&p| (p.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect()
        };
        self.positives = pos.iter().take(EXAMPLES).map(bytes).collect();
        self.negatives = neg.iter().take(EXAMPLES).map(bytes).collect();
    }
}

impl Lab for FfLab {
    const ID: &'static str = "ff";
    const NAME: &'static str = "Forward-Forward";
    const PAPER: &'static str =
        "Hinton 2022, The Forward-Forward Algorithm: Some Preliminary Investigations";
    const SUMMARY: &'static str = "Each layer learns on its own to give high goodness (summed \
        squared activity) to real images carrying their true label and low goodness to the same \
        images with a wrong label. No gradient crosses layers. A backprop net of the same widths \
        trains on the same batches.";
    const TINY: &'static [&'static str] = &[
        "train_limit=300",
        "test_limit=100",
        "layers=[32, 32]",
        "batch_size=20",
        "eval_every=2",
        "quick_eval_every=1",
        "quick_eval_n=30",
    ];

    type Config = FfConfig;
    type View = FfView;
    type Action = NoAction;

    fn new(cfg: FfConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let mut data = mnist::load(&Source::from_config(&cfg.data_dir))?;
        if cfg.validation > 0 {
            data = Arc::new(data.validation_split(cfg.validation)?);
        }
        let pick = |limit: usize, have: usize, key: &str| {
            if limit > have {
                Err(LabError::config(
                    key,
                    format!("{limit} exceeds the {have} images available"),
                ))
            } else if limit == 0 {
                Ok(have)
            } else {
                Ok(limit)
            }
        };
        let n_train = pick(cfg.train_limit, data.train.len(), "train_limit")?;
        let n_test = pick(cfg.test_limit, data.test.len(), "test_limit")?;
        let root = Rng::new(cfg.seed);
        let mut init = root.fork(1);
        let device = crate::nn::autodiff_device(device);
        let net = match cfg.mode {
            Mode::Recurrent => Net::Rec(RecurrentNet::new(PIXELS, &cfg.layers, &mut init, &device)),
            _ => Net::Feed(FfNet::new(PIXELS, &cfg.layers, &mut init, &device)),
        };
        let bp = cfg.bp.then(|| {
            (
                BpNet::new(PIXELS, &cfg.layers, CLASSES, &mut init, &device),
                Adam::for_device(&device),
            )
        });
        let mut rng_order = root.fork(2);
        let mut order: Vec<usize> = (0..n_train).collect();
        rng_order.shuffle(&mut order);
        let mut lab = FfLab {
            hist: vec![Default::default(); cfg.layers.len()],
            ff_opt: Adam::for_device(&device),
            rng_neg: root.fork(3),
            rng_aug: root.fork(4),
            readout: None,
            cfg,
            device,
            data,
            n_train,
            n_test,
            order,
            cursor: 0,
            rng_order,
            net,
            bp,
            step: 0,
            samples: Vec::new(),
            test_error: None,
            one_pass_test_error: None,
            bp_test_error: None,
            positives: Vec::new(),
            negatives: Vec::new(),
            fields: Vec::new(),
            iterations: None,
            eval_ms: None,
        };
        let wants_readout = match lab.cfg.mode {
            Mode::Unsupervised => true,
            Mode::Supervised => lab.cfg.one_pass,
            Mode::Recurrent => false,
        };
        if wants_readout {
            let d_in: usize = lab
                .readout_layers()
                .iter()
                .map(|&l| lab.cfg.layers[l])
                .sum();
            let mut rng = root.fork(5);
            lab.readout = Some((
                SoftmaxReadout::new(d_in, CLASSES, &mut rng, &lab.device),
                Adam::for_device(&lab.device),
            ));
        }
        lab.refresh_fields()?;
        Ok(lab)
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let batch = self.next_batch();
        let scale = self.lr_scale();
        let readout_phase = self.step >= self.ff_steps();
        let images = self.batch_images(&batch);
        if readout_phase {
            // FF and the baseline are done; only the softmax readout still learns.
            self.train_readout_only(&batch, &images, &mut report)?;
        } else {
            match self.cfg.mode {
                Mode::Recurrent => self.train_recurrent(&batch, &images, scale, &mut report)?,
                _ => self.train_feedforward(&batch, &images, scale, &mut report)?,
            }
            self.train_bp(&batch, &images, self.cfg.bp_lr * scale, &mut report)?;
            report.push("lr", self.cfg.lr * scale);
        }
        self.step += 1;
        if self.step.is_multiple_of(FIELDS_EVERY) {
            self.refresh_fields()?;
        }
        if self.cfg.quick_eval_every > 0 && self.step.is_multiple_of(self.cfg.quick_eval_every) {
            report.metrics.extend(self.quick_estimate()?.metrics);
        }
        if self.cfg.eval_every > 0 && self.step.is_multiple_of(self.cfg.eval_every) {
            report.metrics.extend(self.evaluate()?.metrics);
        }
        Ok(report)
    }

    fn view(&self) -> FfView {
        let flat = |q: &VecDeque<Vec<f32>>| q.iter().flatten().copied().collect::<Vec<f32>>();
        FfView {
            mode: self.cfg.mode,
            step: self.step,
            epoch: self.step as f64 * self.cfg.batch_size as f64 / self.n_train as f64,
            readout_phase: self.step >= self.ff_steps(),
            thresholds: (0..self.cfg.layers.len())
                .map(|l| self.cfg.layer_threshold(l))
                .collect(),
            goodness: self.cfg.goodness,
            normalize_layers: self.cfg.normalize_layers,
            layers: self
                .hist
                .iter()
                .map(|h| LayerGoodness {
                    pos: flat(&h.pos),
                    neg: flat(&h.neg),
                })
                .collect(),
            samples: self.samples.clone(),
            test_error: self.test_error,
            one_pass_test_error: self.one_pass_test_error,
            bp_test_error: self.bp_test_error,
            sizes: (self.n_train, self.n_test),
            positives: self.positives.clone(),
            negatives: self.negatives.clone(),
            receptive_fields: self.fields.clone(),
            iterations: self.iterations.clone(),
            eval_ms: self.eval_ms,
            estimate_digits: if self.cfg.quick_eval_every > 0 {
                self.cfg.quick_eval_n.min(self.n_test)
            } else {
                0
            },
        }
    }

    fn config(&self) -> &FfConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut FfConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new(
                "lr",
                "FF learning rate",
                "Adam step size of the Forward-Forward layers.",
            ),
            Knob::new(
                "threshold",
                "threshold θ",
                "Goodness above θ means 'positive' (per unit for sum goodness).",
            ),
            Knob::new(
                "goodness",
                "goodness",
                "mean or sum of squared activities, or minus the sum (positives quiet).",
            ),
            Knob::new(
                "negatives",
                "negative labels",
                "Wrong labels drawn uniformly, or in proportion to the net's own predictions.",
            ),
            Knob::new(
                "normalize_layers",
                "normalise between layers",
                "Off: a layer can read the goodness of the one below from its input length.",
            ),
            Knob::new(
                "schedule",
                "training schedule",
                "All layers at once, or one layer after another.",
            ),
            Knob::new(
                "jitter",
                "jitter (pixels)",
                "Shift training images by up to this many pixels.",
            ),
            Knob::new(
                "readout_lr",
                "readout learning rate",
                "Adam step size of the softmax readout.",
            ),
            Knob::new(
                "bp_lr",
                "BP learning rate",
                "Adam step size of the backprop baseline.",
            ),
            Knob::new(
                "eval_every",
                "evaluate every",
                "Steps between evaluations on the test images (0 = only at the end).",
            ),
        ];
        KNOBS
    }

    fn headline(cfg: &FfConfig) -> Vec<&'static str> {
        let mut h = vec!["test_error"];
        if cfg.bp {
            h.push("bp_test_error");
        }
        if cfg.one_pass {
            h.push("one_pass_test_error");
        }
        h
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.planned())
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        self.refresh_fields()?;
        self.evaluate()
    }

    /// On the CPU backend: see [`FfLab::checkpoint`] (about 4 bytes per weight, times three
    /// with Adam's moments; 15 MB for `ff-mnist-quick`).
    fn save_state(&self) -> Option<Vec<u8>> {
        self.checkpoint().ok()
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), LabError> {
        self.restore(state)
    }

    /// With the one-pass readout: the wall time of the latest evaluation of each readout over
    /// the same test digits (`ff_inference_cost.json`). Timings vary from run to run, so they
    /// stay out of the metrics, which must be deterministic.
    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        match self.eval_ms {
            Some((all, one)) => vec![(
                "ff_inference_cost".into(),
                serde_json::json!({
                    "test_images": self.n_test,
                    "all_labels_ms": all,
                    "one_pass_ms": one,
                    "ratio": all / one.max(1e-9),
                }),
            )],
            None => Vec::new(),
        }
    }
}
