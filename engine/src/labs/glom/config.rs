//! Configuration of the GLOM lab.

use serde::{Deserialize, Serialize};

use crate::error::LabError;

/// The lab's configuration; every field has a default so presets list only what they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlomConfig {
    /// Seed for weight init, training images and the held-out test images (separate streams).
    pub seed: u64,
    /// Locations per side of the square grid.
    pub grid: usize,
    /// How ambiguous the training images' parts are, in [0, 1] (0: every part has its prototype
    /// shape; 1: every part has the same merged shape, only the arrangement tells classes apart).
    pub ambiguity: f64,
    /// Probability that an image holds a second object.
    pub two_objects: f64,
    /// Up to this many distractor parts (belonging to no object) per image.
    pub distractors: usize,
    /// Global rotations of training objects are drawn from ±this many degrees.
    pub max_rotation_deg: f64,
    /// Levels of embeddings per column (2: part, object; 3: part, sub-object, object).
    pub levels: usize,
    /// Width of every level's embedding.
    pub dim: usize,
    /// Hidden width of the bottom-up and top-down MLPs.
    pub hidden: usize,
    /// Iterations T unrolled after the initial bottom-up pass.
    pub iterations: usize,
    /// Sharpness β of the within-level attention (over cosine similarities).
    pub beta: f64,
    /// Weight of the previous embedding in the update's weighted mean.
    pub w_prev: f64,
    /// Weight of the bottom-up prediction.
    pub w_bu: f64,
    /// Weight of the top-down prediction.
    pub w_td: f64,
    /// Weight of the attention (consensus) term.
    pub w_att: f64,
    /// Put the classification loss on every iteration 1..T, not only the last.
    pub loss_all_iters: bool,
    /// Weight of the object-identity term (same-object locations alike, others apart; 0 = off).
    pub identity_weight: f64,
    /// Adam learning rate (both models).
    pub lr: f64,
    /// Decay the learning rate linearly to zero over the second half of the run.
    pub lr_decay: bool,
    /// Images per training batch (freshly generated every step).
    pub batch_size: usize,
    /// Length of a full run in steps.
    pub steps: u64,
    /// Held-out test images at ambiguity 0.5 (for `acc_attn`, `acc_t0`, `island_score`).
    pub test_images: usize,
    /// Held-out images per point of the robustness curves.
    pub curve_images: usize,
    /// Evaluate on the held-out images every N steps (0 = only at the end).
    pub eval_every: u64,
    /// Also compute the robustness curves at every evaluation (they are always computed at the end).
    pub curves_every_eval: bool,
    /// Evaluation-only Gaussian noise on the part features of the sample shown and of `acc_noise`.
    pub noise: f64,
    /// Train the T = 0 baseline (no iterations, no attention) on the same batches.
    pub baseline: bool,
}

impl Default for GlomConfig {
    fn default() -> Self {
        GlomConfig {
            seed: 0,
            grid: 8,
            ambiguity: 0.5,
            two_objects: 0.5,
            distractors: 2,
            max_rotation_deg: 30.0,
            levels: 2,
            dim: 32,
            hidden: 64,
            iterations: 3,
            beta: 5.0,
            w_prev: 1.0,
            w_bu: 1.0,
            w_td: 1.0,
            w_att: 1.0,
            loss_all_iters: true,
            identity_weight: 0.5,
            lr: 0.003,
            lr_decay: true,
            batch_size: 32,
            steps: 1500,
            test_images: 200,
            curve_images: 100,
            eval_every: 100,
            curves_every_eval: false,
            noise: 0.0,
            baseline: true,
        }
    }
}

impl GlomConfig {
    /// Checks ranges before anything is built.
    pub fn validate(&self) -> Result<(), LabError> {
        if !(6..=16).contains(&self.grid) {
            return Err(LabError::config("grid", "must be in 6..=16"));
        }
        for (key, v) in [
            ("ambiguity", self.ambiguity),
            ("two_objects", self.two_objects),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(LabError::config(key, format!("{v} is outside [0, 1]")));
            }
        }
        if self.distractors > 8 {
            return Err(LabError::config("distractors", "must be at most 8"));
        }
        if !(0.0..=90.0).contains(&self.max_rotation_deg) {
            return Err(LabError::config("max_rotation_deg", "must be in [0, 90]"));
        }
        if !(2..=3).contains(&self.levels) {
            return Err(LabError::config("levels", "must be 2 or 3"));
        }
        if !(2..=256).contains(&self.dim) {
            return Err(LabError::config("dim", "must be in 2..=256"));
        }
        if !(1..=1024).contains(&self.hidden) {
            return Err(LabError::config("hidden", "must be in 1..=1024"));
        }
        if self.iterations > 12 {
            return Err(LabError::config("iterations", "must be at most 12"));
        }
        if !(0.0..=100.0).contains(&self.beta) {
            return Err(LabError::config("beta", "must be in [0, 100]"));
        }
        for (key, w) in [
            ("w_prev", self.w_prev),
            ("w_bu", self.w_bu),
            ("w_td", self.w_td),
            ("w_att", self.w_att),
        ] {
            if !(0.0..=10.0).contains(&w) {
                return Err(LabError::config(key, format!("{w} is outside [0, 10]")));
            }
        }
        if self.w_prev + self.w_bu + self.w_td + self.w_att <= 0.0 {
            return Err(LabError::config(
                "w_prev",
                "the four weights cannot all be zero",
            ));
        }
        if !(0.0..=10.0).contains(&self.identity_weight) {
            return Err(LabError::config("identity_weight", "must be in [0, 10]"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 1.0) {
            return Err(LabError::config(
                "lr",
                format!("{} is outside (0, 1]", self.lr),
            ));
        }
        if !(1..=1024).contains(&self.batch_size) {
            return Err(LabError::config("batch_size", "must be in 1..=1024"));
        }
        if self.steps == 0 {
            return Err(LabError::config("steps", "must be positive"));
        }
        if !(1..=10_000).contains(&self.test_images) {
            return Err(LabError::config("test_images", "must be in 1..=10000"));
        }
        if !(1..=10_000).contains(&self.curve_images) {
            return Err(LabError::config("curve_images", "must be in 1..=10000"));
        }
        if !(0.0..=5.0).contains(&self.noise) {
            return Err(LabError::config("noise", "must be in [0, 5]"));
        }
        Ok(())
    }
}
