//! Configuration of the Forward-Forward lab.

use serde::{Deserialize, Serialize};

use crate::error::LabError;

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
    /// Train the backprop baseline on the same batches.
    pub bp: bool,
    /// Adam learning rate for the backprop baseline.
    pub bp_lr: f64,
}

impl Default for FfConfig {
    fn default() -> Self {
        FfConfig {
            seed: 0,
            data_dir: String::new(),
            train_limit: 0,
            test_limit: 0,
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
            bp: true,
            bp_lr: 0.001,
        }
    }
}

impl FfConfig {
    /// The threshold θ of layer `l` in the units of its goodness.
    pub fn layer_threshold(&self, l: usize) -> f64 {
        match self.goodness {
            Goodness::Mean => self.threshold,
            Goodness::Sum => self.threshold * self.layers.get(l).copied().unwrap_or(1) as f64,
        }
    }

    /// Checks ranges before any data is loaded.
    pub fn validate(&self) -> Result<(), LabError> {
        if self.layers.is_empty() {
            return Err(LabError::config("layers", "need at least one hidden layer"));
        }
        if let Some(w) = self.layers.iter().find(|&&w| w == 0 || w > 16_384) {
            return Err(LabError::config(
                "layers",
                format!("width {w} is outside 1..=16384"),
            ));
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(LabError::config("threshold", "must be a positive number"));
        }
        for (key, lr) in [("lr", self.lr), ("bp_lr", self.bp_lr)] {
            if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
                return Err(LabError::config(key, format!("{lr} is outside (0, 1]")));
            }
        }
        if self.batch_size == 0 || self.batch_size > 10_000 {
            return Err(LabError::config("batch_size", "must be in 1..=10000"));
        }
        if !(self.epochs.is_finite() && self.epochs > 0.0 && self.epochs <= 10_000.0) {
            return Err(LabError::config("epochs", "must be in (0, 10000]"));
        }
        Ok(())
    }
}
