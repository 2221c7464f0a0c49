//! What the GNN panel draws.

use crate::wireless::Point;

/// One method's powers on the shown network.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodPowers {
    /// Display name ("GNN", "WMMSE", "FP", ...).
    pub name: String,
    /// Power of each link as a fraction of Pmax.
    pub powers: Vec<f64>,
    /// Network sum rate, bit/s/Hz.
    pub sum_rate: f64,
}

/// The held-out network shown in the panel (redrawn when the K knob moves).
#[derive(Debug, Clone, PartialEq)]
pub struct ShownNetwork {
    /// Links.
    pub k: usize,
    /// Which draw at this K (a new one per "new network").
    pub draw: u64,
    /// Side of the square field, metres (D2D only).
    pub side_m: Option<f64>,
    /// Transmitter positions (empty for the Gaussian IC).
    pub tx: Vec<Point>,
    /// Receiver positions.
    pub rx: Vec<Point>,
    /// GNN first, then WMMSE, FP and the rest.
    pub methods: Vec<MethodPowers>,
    /// GNN inference time on this network, ms (wall clock, display only).
    pub gnn_ms: f64,
    /// Single-start WMMSE time on this network, ms (wall clock, display only).
    pub wmmse_ms: f64,
}

/// One network size of the scaling test.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingRow {
    /// Links.
    pub k: usize,
    /// Held-out networks at this K.
    pub layouts: usize,
    /// GNN sum rate as a fraction of multi-start WMMSE's.
    pub gnn: f64,
    /// The MLP baseline's, where it applies (its training K only).
    pub mlp: Option<f64>,
    /// The mean-aggregation twin's (clean messages).
    pub twin: Option<f64>,
    /// Each baseline's, in [`super::eval::BASELINES`] order.
    pub baselines: Vec<f64>,
    /// GNN inference time per network, ms (after a timed run).
    pub gnn_ms: Option<f64>,
    /// Single-start WMMSE time per network, ms (after a timed run).
    pub wmmse_ms: Option<f64>,
    /// The same for a fixed number of WMMSE iterations, ms (after a timed run).
    pub wmmse_fixed_ms: Option<f64>,
}

/// The over-the-air (Com4GNN) curve on the held-out networks at the training K.
#[derive(Debug, Clone, PartialEq)]
pub struct AirCurve {
    /// Message SNRs, dB.
    pub snr_db: Vec<f64>,
    /// Mean-aggregation GNN trained on clean messages, run over the air: fraction of WMMSE.
    pub clean_trained: Vec<f64>,
    /// The twin trained with the over-the-air noise injected.
    pub noise_trained: Vec<f64>,
    /// The clean-trained twin with clean messages.
    pub clean_reference: f64,
    /// The max-aggregation GNN with clean messages.
    pub max_reference: f64,
    /// SNR the noise-trained twin trains at, dB.
    pub train_snr_db: f64,
}

/// The GNN lab's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct GnnView {
    /// Steps done.
    pub step: u64,
    /// Planned steps.
    pub planned: u64,
    /// "d2d" or "gaussian".
    pub channel: String,
    /// Links per training network.
    pub k_train: usize,
    /// Layers applied.
    pub layers: usize,
    /// GNN weights.
    pub params: usize,
    /// MLP baseline weights, when it is trained.
    pub mlp_params: Option<usize>,
    /// Message SNR knob, dB.
    pub message_snr_db: f64,
    /// Latest validation sum rate of the GNN as a fraction of WMMSE's.
    pub val_ratio: Option<f64>,
    /// The MLP's.
    pub mlp_val_ratio: Option<f64>,
    /// The shown network.
    pub network: Option<ShownNetwork>,
    /// Names of the baselines in [`ScalingRow::baselines`].
    pub baseline_names: Vec<String>,
    /// The scaling test, one row per K (latest evaluation).
    pub scaling: Vec<ScalingRow>,
    /// The over-the-air curve (latest evaluation).
    pub air: Option<AirCurve>,
}
