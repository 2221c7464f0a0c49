//! Configuration of the GLOM lab.

use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{LabConfig, Range};

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
    /// Training-time noise augmentation: every training image gets Gaussian noise on its part
    /// features (the same kind as `noise` at evaluation) with its own σ drawn uniformly from
    /// [0, `train_noise`], on a seeded stream of its own (0 = off, clean training images). Both
    /// models see the same noisy batches.
    pub train_noise: f64,
    /// Train the T = 0 baseline (no iterations, no attention) on the same batches.
    pub baseline: bool,
    /// Pose-invariant parts: a location's own input keeps only occupancy and aspect ratio, and
    /// position, orientation and size enter only as the relative pose of pairs of locations,
    /// through the attention (false: the absolute features of the first version).
    pub relative_pose: bool,
    /// Evaluate on validation images (their own seed streams, disjoint from the held-out test
    /// streams) instead of the held-out test images: for choosing designs without touching the
    /// images that report.
    pub validation: bool,
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
            train_noise: 0.0,
            baseline: true,
            relative_pose: true,
            validation: false,
        }
    }
}

impl LabConfig for GlomConfig {
    const RANGES: &'static [Range] = &[
        Range::int("grid", 6, 16),
        Range::float("ambiguity", 0.0, 1.0, false),
        Range::float("two_objects", 0.0, 1.0, false),
        Range::int("distractors", 0, 8),
        Range::float("max_rotation_deg", 0.0, 90.0, false),
        Range::int("levels", 2, 3),
        Range::int("dim", 2, 256),
        Range::int("hidden", 1, 1024),
        Range::int("iterations", 0, 12),
        Range::float("beta", 0.0, 100.0, false),
        Range::float("w_prev", 0.0, 10.0, false),
        Range::float("w_bu", 0.0, 10.0, false),
        Range::float("w_td", 0.0, 10.0, false),
        Range::float("w_att", 0.0, 10.0, false),
        Range::float("identity_weight", 0.0, 10.0, false),
        Range::float("lr", 1e-6, 1.0, true),
        Range::int("batch_size", 1, 1024),
        Range::int("steps", 1, 100_000_000),
        Range::int("test_images", 1, 10_000),
        Range::int("curve_images", 1, 10_000),
        Range::float("noise", 0.0, 5.0, false),
        Range::float("train_noise", 0.0, 5.0, false),
    ];

    fn check(&self) -> Result<(), LabError> {
        if self.w_prev + self.w_bu + self.w_td + self.w_att <= 0.0 {
            return Err(LabError::config(
                "w_prev",
                "the four weights cannot all be zero",
            ));
        }
        Ok(())
    }
}
