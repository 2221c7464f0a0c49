//! Configuration of the Forward-Forward lab.

use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{LabConfig, Range};

/// How a layer's goodness is computed from its ReLU activities `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Goodness {
    /// mean(y²): use a threshold of the order of 1–2.
    Mean,
    /// sum(y²): the threshold is per unit, so each layer's θ is `threshold × width`
    /// (`threshold = 1` gives the paper's θ = width).
    #[default]
    Sum,
    /// −sum(y²), the paper's other choice: positive data should make the layer *quiet*. The
    /// layer's θ is `−threshold × width`, so negatives must push sum(y²) above `threshold × width`.
    NegSum,
}

/// Which of the paper's MNIST experiments the lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// §3.3: the label one-hot in the first ten pixels; negatives carry a wrong label.
    #[default]
    Supervised,
    /// §3.2: no labels during FF; negatives are hybrids of two digits under a blobby mask; a
    /// linear softmax on the frozen net's normalised activities reads the class out.
    Unsupervised,
    /// §4: a recurrent net with top-down input from the layer above; the top layer is the label.
    Recurrent,
}

/// How the wrong label of a supervised (or recurrent) negative example is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Negatives {
    /// Uniform over the nine wrong labels.
    #[default]
    Uniform,
    /// In proportion to the net's own predicted probabilities over the wrong labels (softmax of
    /// the summed log-odds G − θ), so the labels it confuses are rehearsed most.
    Hard,
}

/// Whether all layers learn at once or one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Every layer updates on every batch (each on its own local objective).
    #[default]
    Simultaneous,
    /// Greedy: the FF part of the run is split into equal spans, layer 1 learns in the first,
    /// layer 2 in the second, and so on; the other layers are left as they are.
    Layerwise,
}

/// Which layers' goodness is added up when the all-labels readout scores a candidate label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// Every hidden layer votes.
    #[default]
    AllLayers,
    /// Every hidden layer but the first (the paper's choice for deep nets).
    SkipFirst,
}

/// The lab's configuration; every field has a default so presets list only what they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FfConfig {
    /// Seed for weight init, data order and negative labels.
    pub seed: u64,
    /// `""` for the embedded MNIST, or a folder with the four IDX files (e.g. Fashion-MNIST).
    pub data_dir: String,
    /// Use only the first N training images (0 = all).
    pub train_limit: usize,
    /// Evaluate on the first N test images (0 = all 10,000).
    pub test_limit: usize,
    /// Hold out the last N training images (0 = off): train on the rest and evaluate on these
    /// instead of the test digits, so hyperparameters are chosen without the test set. The
    /// metrics keep their names (`test_error` is then the error on the held-out images, also
    /// reported as `val_error`).
    pub validation: usize,
    /// Hidden layer widths.
    pub layers: Vec<usize>,
    /// Goodness function.
    pub goodness: Goodness,
    /// The threshold θ in softplus(θ − G⁺) + softplus(G⁻ − θ); per unit for `sum` goodness.
    pub threshold: f64,
    /// Adam learning rate for Forward-Forward.
    pub lr: f64,
    /// Images per batch (each gives one positive and one negative example).
    pub batch_size: usize,
    /// Length of a full run in epochs over the training images.
    pub epochs: f64,
    /// Decay both learning rates linearly to zero over the second half of the run.
    pub lr_decay: bool,
    /// Let gradient through the ReLU as if it were the identity (see `FfNet::goodness`).
    pub straight_through: bool,
    /// Also length-normalise the image before the first layer (the paper normalises between
    /// layers; the raw image keeps its overall ink as a cue).
    pub normalize_input: bool,
    /// Which layers vote in the all-labels readout.
    pub readout: Readout,
    /// Evaluate on the test images every N steps (0 = only at the end).
    pub eval_every: u64,
    /// Every N steps, a cheap running estimate of the test error on the first `quick_eval_n`
    /// test images (reported as `test_error_est`, `bp_test_error_est`; 0 = off). The full
    /// evaluation at `eval_every` is unchanged.
    pub quick_eval_every: u64,
    /// How many test images (the first ones, a fixed subset) the running estimate uses.
    pub quick_eval_n: usize,
    /// Train the backprop baseline on the same batches.
    pub bp: bool,
    /// Adam learning rate for the backprop baseline.
    pub bp_lr: f64,
    /// Which experiment: `supervised`, `unsupervised` or `recurrent`.
    pub mode: Mode,
    /// How wrong labels of negatives are drawn (supervised and recurrent modes).
    pub negatives: Negatives,
    /// Whether layers learn simultaneously or one after another.
    pub schedule: Schedule,
    /// Length-normalise activities between layers (the paper does). Without it a layer can
    /// read the goodness of the one below off its input's length.
    pub normalize_layers: bool,
    /// Shift training images by up to this many pixels in x and y (0 = off; the paper used 2).
    pub jitter: usize,
    /// Supervised mode: also train the one-pass readout (neutral label, softmax on the
    /// normalised activities of every hidden layer but the first) and report its test error.
    pub one_pass: bool,
    /// Unsupervised mode: epochs of training only the linear readout, FF frozen, after FF ends.
    pub readout_epochs: f64,
    /// Adam learning rate of the softmax readouts (one-pass and unsupervised).
    pub readout_lr: f64,
    /// Unsupervised mode: how many times the random mask is blurred before thresholding.
    pub mask_blurs: usize,
    /// Recurrent mode: iterations per example (the paper: 8).
    pub iterations: usize,
    /// Recurrent mode: weight of a layer's old state in each update (the paper: 0.3).
    pub damping: f64,
    /// On the CPU, compute the FF step's and the backprop twin's gradients by hand, in fused
    /// host passes between burn's matrix products, instead of through burn's autodiff: the
    /// same gradients up to float rounding, in less time. `false` keeps autodiff (to compare;
    /// GPUs and the recurrent mode always use it).
    pub host_step: bool,
}

impl Default for FfConfig {
    fn default() -> Self {
        FfConfig {
            seed: 0,
            data_dir: String::new(),
            train_limit: 0,
            test_limit: 0,
            validation: 0,
            layers: vec![500, 500],
            goodness: Goodness::Sum,
            threshold: 1.0,
            lr: 0.003,
            batch_size: 100,
            epochs: 18.0,
            lr_decay: true,
            straight_through: false,
            normalize_input: true,
            readout: Readout::AllLayers,
            eval_every: 3000,
            quick_eval_every: 0,
            quick_eval_n: 500,
            bp: true,
            bp_lr: 0.001,
            mode: Mode::Supervised,
            negatives: Negatives::Uniform,
            schedule: Schedule::Simultaneous,
            normalize_layers: true,
            jitter: 0,
            one_pass: false,
            readout_epochs: 0.0,
            readout_lr: 0.001,
            mask_blurs: 6,
            iterations: 8,
            damping: 0.3,
            host_step: true,
        }
    }
}

impl FfConfig {
    /// The threshold θ of layer `l` in the units of its goodness.
    pub fn layer_threshold(&self, l: usize) -> f64 {
        match self.goodness {
            Goodness::Mean => self.threshold,
            Goodness::Sum => self.threshold * self.layers.get(l).copied().unwrap_or(1) as f64,
            Goodness::NegSum => -self.threshold * self.layers.get(l).copied().unwrap_or(1) as f64,
        }
    }
}

impl LabConfig for FfConfig {
    const RANGES: &'static [Range] = &[
        Range::float("lr", 1e-5, 1.0, true),
        Range::float("bp_lr", 1e-5, 1.0, true),
        Range::float("readout_lr", 1e-5, 1.0, true),
        Range::float("threshold", 1e-3, 1e5, true),
        Range::choice("goodness", &["mean", "sum", "neg_sum"]),
        Range::choice("negatives", &["uniform", "hard"]),
        Range::choice("schedule", &["simultaneous", "layerwise"]),
        Range::choice("mode", &["supervised", "unsupervised", "recurrent"]),
        Range::choice("readout", &["all_layers", "skip_first"]),
        Range::int("jitter", 0, 8),
        Range::int("validation", 0, 59_999),
        Range::int("eval_every", 0, 1_000_000),
        Range::int("quick_eval_every", 0, 1_000_000),
        Range::int("quick_eval_n", 1, 10_000),
        Range::int("batch_size", 1, 10_000),
        Range::float("epochs", 1e-3, 10_000.0, true),
        Range::float("readout_epochs", 0.0, 1000.0, false),
        Range::int("mask_blurs", 0, 50),
        Range::int("iterations", 1, 32),
        Range::float("damping", 0.0, 0.99, false),
    ];

    fn check(&self) -> Result<(), LabError> {
        if self.layers.is_empty() {
            return Err(LabError::config("layers", "need at least one hidden layer"));
        }
        if let Some(w) = self.layers.iter().find(|&&w| w == 0 || w > 16_384) {
            return Err(LabError::config(
                "layers",
                format!("width {w} is outside 1..=16384"),
            ));
        }
        if self.one_pass && self.mode != Mode::Supervised {
            return Err(LabError::config(
                "one_pass",
                "the one-pass readout needs the label pixels of supervised mode",
            ));
        }
        if self.mode == Mode::Recurrent && self.iterations < RECURRENT_VOTE.1 {
            return Err(LabError::config(
                "iterations",
                format!("the recurrent readout needs at least {}", RECURRENT_VOTE.1),
            ));
        }
        Ok(())
    }
}

/// The recurrent readout sums goodness over these iterations (1-based, inclusive), as the paper.
pub const RECURRENT_VOTE: (usize, usize) = (3, 5);
