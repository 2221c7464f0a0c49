//! What the Forward-Forward panel draws: a snapshot owned by the view, cheap to clone.

use crate::data::mnist::CLASSES;

use super::config::{Goodness, Mode};

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
    /// FF's pick: the label with the highest score.
    pub ff_pred: u8,
    /// FF's score for each candidate label: accumulated goodness (supervised, recurrent) or the
    /// linear readout's probability (unsupervised).
    pub goodness: [f32; CLASSES],
    /// The backprop baseline's pick, when it is trained.
    pub bp_pred: Option<u8>,
}

/// Recurrent mode: mean goodness per layer and iteration on test digits, with the true label
/// clamped on top versus the wrong label the net liked best.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IterationGoodness {
    /// `[layer][iteration]` with the true label; iteration 0 is the bottom-up initial pass.
    pub true_label: Vec<Vec<f32>>,
    /// `[layer][iteration]` with the best-scoring wrong label.
    pub best_wrong: Vec<Vec<f32>>,
    /// How many test digits were averaged.
    pub digits: usize,
}

/// What the FF panel draws.
#[derive(Debug, Clone, PartialEq)]
pub struct FfView {
    /// Which experiment runs.
    pub mode: Mode,
    /// Steps (batches) done.
    pub step: u64,
    /// Epochs done (fractional).
    pub epoch: f64,
    /// Whether FF training is over and only the readout learns (FF frozen).
    pub readout_phase: bool,
    /// Current threshold θ of each layer, in the units of its goodness.
    pub thresholds: Vec<f64>,
    /// Goodness function in use.
    pub goodness: Goodness,
    /// Whether activities are length-normalised between layers.
    pub normalize_layers: bool,
    /// Per hidden layer, recent goodness of positive and negative examples.
    pub layers: Vec<LayerGoodness>,
    /// Test digits from the latest evaluation.
    pub samples: Vec<DigitSample>,
    /// Latest FF test error (fraction) of the main readout, if evaluated.
    pub test_error: Option<f64>,
    /// Latest test error of the one-pass (neutral label) readout, if trained and evaluated.
    pub one_pass_test_error: Option<f64>,
    /// Latest backprop test error (fraction), if evaluated.
    pub bp_test_error: Option<f64>,
    /// Training and test set sizes in use.
    pub sizes: (usize, usize),
    /// A few positive training inputs of the latest batch, 28×28 bytes.
    pub positives: Vec<Vec<u8>>,
    /// The matching negative inputs (wrong label, or hybrid images).
    pub negatives: Vec<Vec<u8>>,
    /// Incoming weights of the first layer's first units, 784 each (refreshed now and then).
    pub receptive_fields: Vec<Vec<f32>>,
    /// Recurrent mode: goodness per layer per iteration, from the latest evaluation.
    pub iterations: Option<IterationGoodness>,
    /// Wall time in milliseconds of the latest evaluation of the all-labels sweep and of the
    /// one-pass readout, over the same test images (only when the one-pass readout is trained).
    pub eval_ms: Option<(f64, f64)>,
    /// How many test digits the running estimate (`test_error_est`) scores (0: no estimate).
    pub estimate_digits: usize,
}
