//! Forward-Forward (Hinton 2022, §3.3): supervised FF on MNIST with the label in the first ten
//! pixels, layer-local goodness objectives, the all-labels readout, and a backprop baseline of
//! the same widths trained on the same batches.

pub mod config;
pub mod model;

use std::collections::VecDeque;
use std::sync::Arc;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};

use crate::data::mnist::{self, CLASSES, Mnist, PIXELS, Source};
use crate::error::LabError;
use crate::lab::{KnobKind, KnobSpec, KnobValue, Lab, StepReport};
use crate::nn::{matrix, scalar, to_vec};
use crate::rng::Rng;

pub use config::{FfConfig, Goodness, Readout};
use model::{BpNet, FfNet, ff_layer_loss};

/// How many recent batches feed the goodness histograms.
const HIST_BATCHES: usize = 4;
/// How many test digits the panel shows with their per-label goodness.
const SAMPLE_DIGITS: usize = 12;
/// Images per forward pass during evaluation (bounds memory).
const EVAL_CHUNK: usize = 1000;

/// Goodness values of one layer on recent positive and negative examples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerGoodness {
    /// Goodness on positive data (image + true label).
    pub pos: Vec<f32>,
    /// Goodness on negative data (image + a wrong label).
    pub neg: Vec<f32>,
}

/// A test digit with what each model made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitSample {
    /// 28×28 pixel bytes.
    pub pixels: Vec<u8>,
    /// True label.
    pub label: u8,
    /// FF's pick: the label with the highest accumulated goodness.
    pub ff_pred: u8,
    /// Accumulated goodness for each candidate label.
    pub goodness: [f32; CLASSES],
    /// The backprop baseline's pick, when it is trained.
    pub bp_pred: Option<u8>,
}

/// What the FF panel draws.
#[derive(Debug, Clone, PartialEq)]
pub struct FfView {
    /// Steps (batches) done.
    pub step: u64,
    /// Epochs done (fractional).
    pub epoch: f64,
    /// Current threshold θ of each layer, in the units of its goodness.
    pub thresholds: Vec<f64>,
    /// Goodness function in use.
    pub goodness: Goodness,
    /// Per hidden layer, recent goodness of positive and negative examples.
    pub layers: Vec<LayerGoodness>,
    /// Test digits from the latest evaluation.
    pub samples: Vec<DigitSample>,
    /// Latest FF test error (fraction), if evaluated.
    pub test_error: Option<f64>,
    /// Latest backprop test error (fraction), if evaluated.
    pub bp_test_error: Option<f64>,
    /// Training and test set sizes in use.
    pub sizes: (usize, usize),
}

/// Goodness of one layer over the last few batches, for the histograms.
#[derive(Debug, Clone, Default)]
struct LayerHistory {
    pos: VecDeque<Vec<f32>>,
    neg: VecDeque<Vec<f32>>,
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
    ff: FfNet,
    ff_opt: ModuleOptimizer,
    bp: Option<(BpNet, ModuleOptimizer)>,
    step: u64,
    hist: Vec<LayerHistory>,
    samples: Vec<DigitSample>,
    test_error: Option<f64>,
    bp_test_error: Option<f64>,
}

/// Writes image `i` of `split` into `out` as floats in [0, 1], with `label` one-hot in the first
/// ten pixels when given (those pixels are in MNIST's black border).
fn write_image(split: &mnist::Split, i: usize, label: Option<u8>, out: &mut Vec<f32>) {
    let start = out.len();
    out.extend(split.image(i).iter().map(|&p| p as f32 / 255.0));
    if let Some(l) = label {
        for c in 0..CLASSES {
            out[start + c] = if c == l as usize { 1.0 } else { 0.0 };
        }
    }
}

impl FfLab {
    fn lr_scale(&self) -> f64 {
        let total = self.planned() as f64;
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

    fn planned(&self) -> u64 {
        (self.cfg.epochs * self.n_train as f64 / self.cfg.batch_size as f64).ceil() as u64
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

    fn train_ff(
        &mut self,
        batch: &[usize],
        lr: f64,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let b = batch.len();
        let mut x = Vec::with_capacity(2 * b * PIXELS);
        for &i in batch {
            write_image(&self.data.train, i, Some(self.data.train.labels[i]), &mut x);
        }
        for &i in batch {
            let truth = self.data.train.labels[i] as usize;
            // Uniform over the nine wrong labels: never the true one.
            let wrong = (truth + 1 + self.rng_neg.below(CLASSES - 1)) % CLASSES;
            write_image(&self.data.train, i, Some(wrong as u8), &mut x);
        }
        let x = matrix(x, 2 * b, PIXELS, &self.device);
        let gs = self.ff.goodness(
            x,
            self.cfg.goodness,
            self.cfg.straight_through,
            self.cfg.normalize_input,
        );
        let mut total: Option<Tensor<1>> = None;
        for (l, g) in gs.iter().enumerate() {
            let loss = ff_layer_loss(g.clone(), b, self.cfg.layer_threshold(l));
            let values = to_vec(g.clone().detach())?;
            let (pos, neg) = values.split_at(b);
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
            total = Some(match total {
                Some(t) => t + loss,
                None => loss,
            });
        }
        let total = total.ok_or_else(|| LabError::compute("network has no layers"))?;
        report.push("ff_loss", scalar(total.clone().detach())?);
        let grads = GradientsParams::from_grads(total.backward(), &self.ff);
        self.ff = self.ff_opt.step(lr, self.ff.clone(), grads);
        Ok(())
    }

    fn train_bp(
        &mut self,
        batch: &[usize],
        lr: f64,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let Some((net, opt)) = self.bp.as_mut() else {
            return Ok(());
        };
        let b = batch.len();
        let mut x = Vec::with_capacity(b * PIXELS);
        let mut y = vec![0f32; b * CLASSES];
        for (r, &i) in batch.iter().enumerate() {
            write_image(&self.data.train, i, None, &mut x);
            y[r * CLASSES + self.data.train.labels[i] as usize] = 1.0;
        }
        let loss = net.loss(
            matrix(x, b, PIXELS, &self.device),
            matrix(y, b, CLASSES, &self.device),
        );
        report.push("bp_loss", scalar(loss.clone().detach())?);
        let grads = GradientsParams::from_grads(loss.backward(), &*net);
        *net = opt.step(lr, net.clone(), grads);
        Ok(())
    }

    /// Test error of both models on the first `n_test` test images, FF by the all-labels sweep.
    fn evaluate(&mut self) -> Result<StepReport, LabError> {
        let ff = self.ff.valid();
        let bp = self.bp.as_ref().map(|(n, _)| n.valid());
        let device = self.device.clone().without_autodiff();
        let test = &self.data.test;
        let voters: Vec<usize> = match self.cfg.readout {
            Readout::AllLayers => (0..self.cfg.layers.len()).collect(),
            Readout::SkipFirst if self.cfg.layers.len() > 1 => (1..self.cfg.layers.len()).collect(),
            Readout::SkipFirst => vec![0],
        };
        let (mut ff_wrong, mut bp_wrong) = (0usize, 0usize);
        let mut samples = Vec::new();
        let mut start = 0;
        while start < self.n_test {
            let n = EVAL_CHUNK.min(self.n_test - start);
            let mut scores = vec![0f32; n * CLASSES];
            for c in 0..CLASSES {
                let mut x = Vec::with_capacity(n * PIXELS);
                for i in start..start + n {
                    write_image(test, i, Some(c as u8), &mut x);
                }
                let gs = ff.goodness(
                    matrix(x, n, PIXELS, &device),
                    self.cfg.goodness,
                    false,
                    self.cfg.normalize_input,
                );
                for &l in &voters {
                    for (r, g) in to_vec(gs[l].clone())?.into_iter().enumerate() {
                        scores[r * CLASSES + c] += g;
                    }
                }
            }
            let bp_pred = match &bp {
                Some(net) => {
                    let mut x = Vec::with_capacity(n * PIXELS);
                    for i in start..start + n {
                        write_image(test, i, None, &mut x);
                    }
                    let logits = to_vec(net.forward(matrix(x, n, PIXELS, &device)))?;
                    Some(
                        (0..n)
                            .map(|r| argmax(&logits[r * CLASSES..(r + 1) * CLASSES]))
                            .collect::<Vec<_>>(),
                    )
                }
                None => None,
            };
            for r in 0..n {
                let truth = test.labels[start + r];
                let row = &scores[r * CLASSES..(r + 1) * CLASSES];
                let pred = argmax(row);
                ff_wrong += usize::from(pred != truth);
                let bpp = bp_pred.as_ref().map(|p| p[r]);
                bp_wrong += usize::from(bpp.is_some_and(|p| p != truth));
                if start + r < SAMPLE_DIGITS {
                    let mut goodness = [0f32; CLASSES];
                    goodness.copy_from_slice(row);
                    samples.push(DigitSample {
                        pixels: test.image(start + r).to_vec(),
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
        let ff_err = ff_wrong as f64 / self.n_test as f64;
        report.push("test_error", ff_err);
        self.test_error = Some(ff_err);
        if bp.is_some() {
            let bp_err = bp_wrong as f64 / self.n_test as f64;
            report.push("bp_test_error", bp_err);
            self.bp_test_error = Some(bp_err);
        }
        self.samples = samples;
        Ok(report)
    }
}

fn argmax(row: &[f32]) -> u8 {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u8
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
        let device = if device.is_autodiff() {
            device.clone()
        } else {
            device.clone().autodiff()
        };
        let ff = FfNet::new(PIXELS, &cfg.layers, &mut init, &device);
        let bp = cfg.bp.then(|| {
            (
                BpNet::new(PIXELS, &cfg.layers, CLASSES, &mut init, &device),
                AdamConfig::new().init(),
            )
        });
        let mut rng_order = root.fork(2);
        let mut order: Vec<usize> = (0..n_train).collect();
        rng_order.shuffle(&mut order);
        Ok(FfLab {
            hist: vec![Default::default(); cfg.layers.len()],
            ff_opt: AdamConfig::new().init(),
            rng_neg: root.fork(3),
            cfg,
            device,
            data,
            n_train,
            n_test,
            order,
            cursor: 0,
            rng_order,
            ff,
            bp,
            step: 0,
            samples: Vec::new(),
            test_error: None,
            bp_test_error: None,
        })
    }

    fn validate(config: &FfConfig) -> Result<(), LabError> {
        config.validate()
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let batch = self.next_batch();
        let scale = self.lr_scale();
        self.train_ff(&batch, self.cfg.lr * scale, &mut report)?;
        self.train_bp(&batch, self.cfg.bp_lr * scale, &mut report)?;
        report.push("lr", self.cfg.lr * scale);
        self.step += 1;
        if self.cfg.eval_every > 0 && self.step.is_multiple_of(self.cfg.eval_every) {
            report.metrics.extend(self.evaluate()?.metrics);
        }
        Ok(report)
    }

    fn view(&self) -> FfView {
        let flat = |q: &VecDeque<Vec<f32>>| q.iter().flatten().copied().collect::<Vec<f32>>();
        FfView {
            step: self.step,
            epoch: self.step as f64 * self.cfg.batch_size as f64 / self.n_train as f64,
            thresholds: (0..self.cfg.layers.len())
                .map(|l| self.cfg.layer_threshold(l))
                .collect(),
            goodness: self.cfg.goodness,
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
            bp_test_error: self.bp_test_error,
            sizes: (self.n_train, self.n_test),
        }
    }

    fn knobs(&self) -> Vec<KnobSpec> {
        let float = KnobSpec::float;
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
                "Goodness above θ means 'positive'.",
                1e-3,
                1e5,
                true,
                self.cfg.threshold,
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
        let num = value
            .as_f64()
            .ok_or_else(|| LabError::Knob(knob.into(), "expected a number".into()))?;
        match knob {
            "lr" => self.cfg.lr = num,
            "threshold" => self.cfg.threshold = num,
            "bp_lr" => self.cfg.bp_lr = num,
            "eval_every" => self.cfg.eval_every = num as u64,
            other => {
                return Err(LabError::Knob(
                    other.into(),
                    "this lab has no such knob".into(),
                ));
            }
        }
        Ok(())
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.planned())
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        self.evaluate()
    }
}
