//! What the OTA-FL panel draws.

use crate::wireless::Point;

/// What a client did this round at one receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStatus {
    /// Not among this round's participants.
    Idle,
    /// Transmitted its update.
    Sent,
    /// Taking part but silent: its channel was too weak (the silence rule).
    Silent,
}

/// The lab's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct OtaflView {
    /// Rounds done.
    pub round: usize,
    /// Planned rounds.
    pub rounds: usize,
    /// Side of the square, metres.
    pub side_m: f64,
    /// Cell-free AP positions.
    pub aps: Vec<Point>,
    /// SNR each AP received this round under the cell-free central design (summed client
    /// powers times channel gains over noise, per antenna), dB.
    pub ap_snr_db: Vec<f64>,
    /// The cellular BS position.
    pub bs: Point,
    /// Client positions.
    pub clients: Vec<Point>,
    /// Per receiver (label), every client's status this round.
    pub status: Vec<(String, Vec<ClientStatus>)>,
    /// Per receiver (label), a sample of this round's per-entry aggregation errors (estimate
    /// minus the true average of the normalised updates).
    pub errors: Vec<(String, Vec<f32>)>,
    /// Per receiver (label), this round's aggregation MSE.
    pub mse_round: Vec<(String, f64)>,
    /// Client powers of the sweep, dBm.
    pub sweep_dbm: Vec<f64>,
    /// Per receiver (label), the sweep's MSE at each power (None = not computed yet).
    pub sweep: Vec<(String, Vec<Option<f64>>)>,
    /// Per scheme: series stem and label (error-free first).
    pub schemes: Vec<(String, String)>,
    /// Per scheme, the latest test accuracy.
    pub acc: Vec<Option<f64>>,
    /// Client power now, dBm.
    pub client_power_dbm: f64,
    /// Pilots now.
    pub pilots: usize,
    /// Clients taking part per round now.
    pub participants: usize,
    /// Clients in all.
    pub clients_total: usize,
    /// "iid" or "non_iid".
    pub split: String,
    /// Model and its parameter count, e.g. "mlp (25450 parameters)".
    pub model: String,
    /// Learning rate now.
    pub lr: f64,
    /// Local steps now.
    pub local_steps: usize,
}
