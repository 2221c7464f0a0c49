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
pub mod model;
pub mod negatives;
pub mod recurrent;
mod train;
pub mod view;

use std::collections::VecDeque;
use std::sync::Arc;

use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::Device;

use crate::data::mnist::{self, CLASSES, Mnist, PIXELS, Source};
use crate::error::LabError;
use crate::lab::{KnobKind, KnobSpec, KnobValue, Lab, StepReport};
use crate::nn::to_vec;
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
    ff_opt: ModuleOptimizer,
    /// The softmax readout (unsupervised classifier or one-pass readout) and its optimiser.
    readout: Option<(SoftmaxReadout, ModuleOptimizer)>,
    bp: Option<(BpNet, ModuleOptimizer)>,
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
    type Config = FfConfig;
    type View = FfView;

    fn new(cfg: FfConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let data = mnist::load(&Source::from_config(&cfg.data_dir))?;
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
                AdamConfig::new().init(),
            )
        });
        let mut rng_order = root.fork(2);
        let mut order: Vec<usize> = (0..n_train).collect();
        rng_order.shuffle(&mut order);
        let mut lab = FfLab {
            hist: vec![Default::default(); cfg.layers.len()],
            ff_opt: AdamConfig::new().init(),
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
                AdamConfig::new().init(),
            ));
        }
        lab.refresh_fields()?;
        Ok(lab)
    }

    fn validate(config: &FfConfig) -> Result<(), LabError> {
        config.validate()
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
        }
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        let float = KnobSpec::float;
        let choice =
            |name: &str, label: &str, help: &str, options: &[&str], value: &str| KnobSpec {
                name: name.into(),
                label: label.into(),
                help: help.into(),
                kind: KnobKind::Choice(options.iter().map(|s| s.to_string()).collect()),
                value: KnobValue::Choice(value.into()),
            };
        vec![
            float(
                "lr",
                "FF learning rate",
                "Adam step size of the Forward-Forward layers.",
                1e-5,
                1.0,
                true,
                self.cfg.lr,
            ),
            float(
                "threshold",
                "threshold θ",
                "Goodness above θ means 'positive' (per unit for sum goodness).",
                1e-3,
                1e5,
                true,
                self.cfg.threshold,
            ),
            choice(
                "goodness",
                "goodness",
                "mean or sum of squared activities, or minus the sum (positives quiet).",
                &["mean", "sum", "neg_sum"],
                match self.cfg.goodness {
                    Goodness::Mean => "mean",
                    Goodness::Sum => "sum",
                    Goodness::NegSum => "neg_sum",
                },
            ),
            choice(
                "negatives",
                "negative labels",
                "Wrong labels drawn uniformly, or in proportion to the net's own predictions.",
                &["uniform", "hard"],
                match self.cfg.negatives {
                    Negatives::Uniform => "uniform",
                    Negatives::Hard => "hard",
                },
            ),
            KnobSpec {
                name: "normalize_layers".into(),
                label: "normalise between layers".into(),
                help: "Off: a layer can read the goodness of the one below from its input length."
                    .into(),
                kind: KnobKind::Bool,
                value: KnobValue::Bool(self.cfg.normalize_layers),
            },
            choice(
                "schedule",
                "training schedule",
                "All layers at once, or one layer after another.",
                &["simultaneous", "layerwise"],
                match self.cfg.schedule {
                    Schedule::Simultaneous => "simultaneous",
                    Schedule::Layerwise => "layerwise",
                },
            ),
            KnobSpec {
                name: "jitter".into(),
                label: "jitter (pixels)".into(),
                help: "Shift training images by up to this many pixels.".into(),
                kind: KnobKind::Int { min: 0, max: 8 },
                value: KnobValue::Int(self.cfg.jitter as i64),
            },
            float(
                "readout_lr",
                "readout learning rate",
                "Adam step size of the softmax readout.",
                1e-5,
                1.0,
                true,
                self.cfg.readout_lr,
            ),
            float(
                "bp_lr",
                "BP learning rate",
                "Adam step size of the backprop baseline.",
                1e-5,
                1.0,
                true,
                self.cfg.bp_lr,
            ),
            KnobSpec {
                name: "eval_every".into(),
                label: "evaluate every".into(),
                help: "Steps between evaluations on the test images (0 = only at the end).".into(),
                kind: KnobKind::Int {
                    min: 0,
                    max: 1_000_000,
                },
                value: KnobValue::Int(self.cfg.eval_every as i64),
            },
        ]
    }

    fn set_knob(&mut self, knob: &str, value: KnobValue) -> Result<(), LabError> {
        let bad = |msg: &str| LabError::Knob(knob.into(), msg.into());
        match (knob, &value) {
            ("goodness", KnobValue::Choice(c)) => {
                self.cfg.goodness = match c.as_str() {
                    "mean" => Goodness::Mean,
                    "sum" => Goodness::Sum,
                    "neg_sum" => Goodness::NegSum,
                    _ => return Err(bad("expected mean, sum or neg_sum")),
                }
            }
            ("negatives", KnobValue::Choice(c)) => {
                self.cfg.negatives = match c.as_str() {
                    "uniform" => Negatives::Uniform,
                    "hard" => Negatives::Hard,
                    _ => return Err(bad("expected uniform or hard")),
                }
            }
            ("schedule", KnobValue::Choice(c)) => {
                self.cfg.schedule = match c.as_str() {
                    "simultaneous" => Schedule::Simultaneous,
                    "layerwise" => Schedule::Layerwise,
                    _ => return Err(bad("expected simultaneous or layerwise")),
                }
            }
            ("normalize_layers", KnobValue::Bool(b)) => self.cfg.normalize_layers = *b,
            _ => {
                let num = value.as_f64().ok_or_else(|| bad("expected a number"))?;
                match knob {
                    "lr" => self.cfg.lr = num,
                    "threshold" => self.cfg.threshold = num,
                    "bp_lr" => self.cfg.bp_lr = num,
                    "readout_lr" => self.cfg.readout_lr = num,
                    "jitter" => self.cfg.jitter = num.clamp(0.0, 8.0) as usize,
                    "eval_every" => self.cfg.eval_every = num as u64,
                    _ => return Err(bad("this lab has no such knob")),
                }
            }
        }
        Ok(())
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.planned())
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        self.refresh_fields()?;
        self.evaluate()
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
