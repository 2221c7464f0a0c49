//! What the GLOM panel draws: the view and the robustness curves it carries.

use super::SampleView;

/// One robustness curve: x values and the accuracy of both models at each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curve {
    /// The swept setting's values.
    pub x: Vec<f64>,
    /// Held-out accuracy of the GLOM model (T iterations with attention).
    pub attn: Vec<f64>,
    /// Held-out accuracy of the T = 0 baseline (empty when it is not trained).
    pub t0: Vec<f64>,
}

/// The three evaluation curves, from one evaluation of the current models.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    /// Step at which they were computed.
    pub step: u64,
    /// Accuracy vs ambiguity (no noise, training pose range).
    pub ambiguity: Curve,
    /// Accuracy vs input noise σ at ambiguity 0.5.
    pub noise: Curve,
    /// Accuracy vs out-of-distribution pose strength at ambiguity 0.5.
    pub ood: Curve,
}

/// What the GLOM panel draws.
#[derive(Debug, Clone, PartialEq)]
pub struct GlomView {
    /// Steps done.
    pub step: u64,
    /// Planned steps.
    pub planned: u64,
    /// Current iteration settings.
    pub iterations: usize,
    /// Levels per column.
    pub levels: usize,
    /// Current β.
    pub beta: f64,
    /// Current training ambiguity.
    pub ambiguity: f64,
    /// Current evaluation noise (applied to the sample shown).
    pub noise: f64,
    /// The held-out sample with both models' outputs, from the latest evaluation.
    pub sample: Option<SampleView>,
    /// Latest held-out accuracy at ambiguity 0.5 with attention.
    pub acc_attn: Option<f64>,
    /// Latest held-out accuracy of the T = 0 baseline.
    pub acc_t0: Option<f64>,
    /// Latest held-out island score per iteration (0 = bottom-up pass only).
    pub island_by_iter: Vec<f64>,
    /// Latest robustness curves.
    pub curves: Option<Curves>,
    /// Held-out images behind `acc_attn`.
    pub test_images: usize,
}
