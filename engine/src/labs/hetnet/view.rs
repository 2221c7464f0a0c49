//! What the HetNet panel draws.

use crate::wireless::{Ap, Point};

/// One method's powers and SINRs in the newest slot.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodSlot {
    /// Display name ("PQL", "IDQN", "WMMSE", ...).
    pub name: String,
    /// Transmit power of each AP, watts.
    pub powers_w: Vec<f64>,
    /// SINR of each link, dB.
    pub sinr_db: Vec<f64>,
    /// Network sum rate, bit/s/Hz.
    pub sum_rate: f64,
}

/// A learning method's per-agent state for the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnerView {
    /// "PQL" or "IDQN".
    pub name: String,
    /// Per agent, how often each power level was chosen in the last finished episode (the
    /// current one before any has finished).
    pub action_counts: Vec<Vec<u32>>,
    /// Per agent, the latest policy-change rate on the probe set (None before the second check).
    pub policy_change: Vec<Option<f64>>,
    /// Per agent, the latest visited-state policy-change rate over the drift window.
    pub policy_change_visited: Vec<Option<f64>>,
}

/// The HetNet lab's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct HetnetView {
    /// Episodes finished.
    pub episode: usize,
    /// Planned episodes.
    pub episodes: usize,
    /// Slot within the current episode.
    pub slot: usize,
    /// Slots per episode.
    pub slots_per_episode: usize,
    /// Macro cell radius, metres.
    pub cell_radius_m: f64,
    /// Small-cell user radius, metres.
    pub small_cell_radius_m: f64,
    /// The APs (macro first).
    pub aps: Vec<Ap>,
    /// Each AP's user.
    pub users: Vec<Point>,
    /// Each AP's power levels, watts.
    pub levels: Vec<Vec<f64>>,
    /// The newest slot for PQL, IDQN, WMMSE, FP, max power and random power, in that order.
    pub slot_methods: Vec<MethodSlot>,
    /// PQL then IDQN.
    pub learners: Vec<LearnerView>,
    /// Exploration rate now.
    pub epsilon: f64,
    /// PQL's λ now.
    pub lambda: f64,
    /// PQL's penalty form ("margin", "proximal", "proximal_margin").
    pub pql_form: String,
    /// Window of the visited-state policy-change rate, episodes.
    pub drift_window: usize,
    /// Reward form in use.
    pub reward: String,
}
