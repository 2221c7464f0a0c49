//! Configuration of the GNN power-control lab.

use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{LabConfig, Range};

/// Which channel model the networks come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Shen's D2D layouts: links in a square field, dual-slope path loss, shadowing, fading.
    #[default]
    D2d,
    /// The K-user Gaussian interference channel (|h|², h ~ CN(0, 1), Pmax = 1).
    Gaussian,
}

/// The lab's configuration; every field has a default so presets list only what they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GnnConfig {
    /// Seed for weight init, training layouts, validation and held-out layouts (separate streams).
    pub seed: u64,
    /// Channel model.
    pub channel: Channel,
    /// Links per training network.
    pub k_train: usize,
    /// D2D field area per link, m² (the field grows with K to keep this density).
    pub area_per_link_m2: f64,
    /// D2D: a link hears link j's messages when j's transmitter is within this distance of its
    /// receiver or its transmitter within this distance of j's receiver, metres.
    pub edge_radius_m: f64,
    /// D2D log-normal shadowing standard deviation, dB.
    pub shadowing_db: f64,
    /// Gaussian IC noise power (Pmax = 1).
    pub gaussian_noise: f64,
    /// Width of the message and update MLPs.
    pub hidden: usize,
    /// Times the shared GNN layer is applied (training and evaluation).
    pub layers: usize,
    /// Adam learning rate (every model).
    pub lr: f64,
    /// Fresh layouts per training step.
    pub batch_size: usize,
    /// Length of a full run in steps.
    pub steps: u64,
    /// Validation layouts at `k_train` (for the training curve and for choosing settings; never
    /// the held-out sets).
    pub val_layouts: usize,
    /// Evaluate on the validation and held-out layouts every N steps (0 = only at the end).
    pub eval_every: u64,
    /// Network sizes of the scaling test (weights trained at `k_train`, no retraining).
    pub eval_ks: Vec<usize>,
    /// Held-out layouts per K for K ≤ 50.
    pub test_layouts: usize,
    /// Held-out layouts per K for K > 50 (multi-start WMMSE costs K + 1 runs per layout).
    pub test_layouts_large: usize,
    /// WMMSE iteration cap (per start).
    pub wmmse_iters: usize,
    /// WMMSE stops when Σ log w (the sum rate in nats) moves by at most this.
    pub wmmse_tol: f64,
    /// Train the plain-MLP baseline on the flattened channel matrix (same batches, same loss).
    pub mlp: bool,
    /// Hidden width of the MLP baseline (two hidden layers).
    pub mlp_hidden: usize,
    /// Train the Com4GNN twins (mean aggregation, clean and with over-the-air message noise).
    pub air: bool,
    /// SNR of the over-the-air messages, dB: the noise-trained twin trains at it, and the
    /// shown network's over-the-air powers use it.
    pub message_snr_db: f64,
    /// Message SNRs of the over-the-air curve, dB.
    pub air_snrs_db: Vec<f64>,
    /// Time GNN inference against WMMSE at the end (wall-clock, so off in determinism tests).
    pub timing: bool,
    /// Links in the network shown in the panel (a fresh held-out draw whenever it changes).
    pub k_view: usize,
}

impl Default for GnnConfig {
    fn default() -> Self {
        GnnConfig {
            seed: 0,
            channel: Channel::D2d,
            k_train: 20,
            area_per_link_m2: 20_000.0,
            edge_radius_m: 300.0,
            shadowing_db: 8.0,
            gaussian_noise: 0.1,
            hidden: 32,
            layers: 3,
            lr: 0.002,
            batch_size: 64,
            steps: 1000,
            val_layouts: 100,
            eval_every: 100,
            eval_ks: vec![10, 20, 50, 100, 200],
            test_layouts: 100,
            test_layouts_large: 20,
            wmmse_iters: 100,
            wmmse_tol: 1e-4,
            mlp: true,
            mlp_hidden: 256,
            air: true,
            message_snr_db: 10.0,
            air_snrs_db: vec![-5.0, 0.0, 5.0, 10.0, 20.0, 30.0],
            timing: true,
            k_view: 20,
        }
    }
}

impl GnnConfig {
    /// Held-out layouts at `k`.
    pub fn layouts_at(&self, k: usize) -> usize {
        if k > 50 {
            self.test_layouts_large
        } else {
            self.test_layouts
        }
    }
}

impl LabConfig for GnnConfig {
    const RANGES: &'static [Range] = &[
        Range::choice("channel", &["d2d", "gaussian"]),
        Range::int("k_train", 2, 200),
        Range::float("area_per_link_m2", 100.0, 1e7, true),
        Range::float("edge_radius_m", 1.0, 1e5, true),
        Range::float("shadowing_db", 0.0, 20.0, false),
        Range::float("gaussian_noise", 1e-4, 10.0, true),
        Range::int("hidden", 1, 512),
        Range::int("layers", 1, 10),
        Range::float("lr", 1e-5, 0.1, true),
        Range::int("batch_size", 1, 1024),
        Range::int("steps", 1, 10_000_000),
        Range::int("val_layouts", 1, 10_000),
        Range::int("test_layouts", 1, 10_000),
        Range::int("test_layouts_large", 1, 10_000),
        Range::int("wmmse_iters", 1, 100_000),
        Range::float("wmmse_tol", 0.0, 1.0, false),
        Range::int("mlp_hidden", 1, 4096),
        Range::float("message_snr_db", -20.0, 60.0, false),
        Range::int("k_view", 2, 300),
    ];

    fn check(&self) -> Result<(), LabError> {
        if self.eval_ks.is_empty() || self.eval_ks.iter().any(|&k| !(2..=1000).contains(&k)) {
            return Err(LabError::config(
                "eval_ks",
                "needs at least one network size, each in 2..=1000",
            ));
        }
        if self.air_snrs_db.iter().any(|s| !s.is_finite()) {
            return Err(LabError::config("air_snrs_db", "SNRs must be finite"));
        }
        Ok(())
    }
}
