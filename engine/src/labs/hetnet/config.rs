//! Configuration of the HetNet power-control lab.

use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{LabConfig, Range};

/// What each agent is paid after a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RewardForm {
    /// The network sum rate (every agent gets the same, cooperative reward).
    #[default]
    SumRate,
    /// Own rate minus the rate its interference costs the other links (Nasir & Guo's form).
    OwnMinusCost,
}

impl RewardForm {
    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            RewardForm::SumRate => "sum_rate",
            RewardForm::OwnMinusCost => "own_minus_cost",
        }
    }
}

/// Which reading of the PQL penalty the PQL learner adds to its TD loss (see
/// [`crate::labs::hetnet::agent`]; candidates (a) and (b) of the research notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PqlForm {
    /// (a) Large margin: λ·[max_a(Q(o,a) + m·1[a≠a*]) − Q(o,a*)].
    #[default]
    Margin,
    /// (b) Proximal: λ·(Q(o,a*;θ) − Q(o,a*;θ̄))², θ̄ a slowly updated copy of the network.
    Proximal,
    /// (b) with (a)'s margin term added: both pulls at once.
    ProximalMargin,
}

impl PqlForm {
    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            PqlForm::Margin => "margin",
            PqlForm::Proximal => "proximal",
            PqlForm::ProximalMargin => "proximal_margin",
        }
    }

    /// Whether the form has the margin term.
    pub fn margin(self) -> bool {
        matches!(self, PqlForm::Margin | PqlForm::ProximalMargin)
    }

    /// Whether the form has the proximal term (and so needs the slow copy θ̄).
    pub fn proximal(self) -> bool {
        matches!(self, PqlForm::Proximal | PqlForm::ProximalMargin)
    }
}

/// The lab's configuration; every field has a default so presets list only what they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HetnetConfig {
    /// Seed for the layout, user drops, fading, network init and exploration.
    pub seed: u64,
    /// Number of small-cell APs besides the macro BS (fixed for a run: it sizes the layout).
    pub n_small: usize,
    /// Macro cell radius, metres.
    pub cell_radius_m: f64,
    /// Radius within which a small cell's user is dropped, metres.
    pub small_cell_radius_m: f64,
    /// Macro BS maximum power, dBm.
    pub macro_power_dbm: f64,
    /// Small AP maximum power, dBm.
    pub small_power_dbm: f64,
    /// Noise power at every user, dBm.
    pub noise_dbm: f64,
    /// Log-normal shadowing standard deviation, dB (redrawn with every user drop).
    pub shadowing_db: f64,
    /// Maximum Doppler frequency, Hz.
    pub doppler_hz: f64,
    /// Slot length, seconds.
    pub slot_s: f64,
    /// Discrete power levels per AP: 0 W, then `power_levels − 1` dB-spaced levels up to Pmax.
    pub power_levels: usize,
    /// Span of the non-zero levels below Pmax, dB.
    pub power_range_db: f64,
    /// Training episodes (users re-drop at the start of each).
    pub episodes: usize,
    /// Slots per episode (fading evolves every slot).
    pub slots_per_episode: usize,
    /// Reward each agent receives.
    pub reward: RewardForm,
    /// Rewards (bit/s/Hz) are multiplied by this before learning, to keep Q-values near 1.
    pub reward_scale: f64,
    /// Hidden layer widths of every agent's Q-network.
    pub hidden: Vec<usize>,
    /// Adam learning rate.
    pub lr: f64,
    /// Discount factor.
    pub gamma: f64,
    /// Minibatch size.
    pub batch_size: usize,
    /// Replay capacity per agent (transitions).
    pub replay: usize,
    /// Train every N slots.
    pub train_every: usize,
    /// Copy the online network to the target network every N slots.
    pub target_every: usize,
    /// Exploration rate at the start.
    pub eps_start: f64,
    /// Exploration rate after the decay.
    pub eps_end: f64,
    /// Fraction of all slots over which ε decays linearly.
    pub eps_decay_frac: f64,
    /// PQL penalty weight λ (0 makes PQL identical to IDQN).
    pub lambda: f64,
    /// Form of the PQL penalty.
    pub pql_form: PqlForm,
    /// Polyak rate τ of the slow copy θ̄ used by the proximal forms (θ̄ ← (1−τ)θ̄ + τθ after
    /// every update).
    pub pql_tau: f64,
    /// Margin m of the PQL penalty (in scaled-reward units).
    pub pql_margin: f64,
    /// Bin width used to quantise observations into revisitable states for PQL.
    pub pql_bin: f64,
    /// Observations per agent in the fixed probe set for the policy-change rate.
    pub probe_size: usize,
    /// Window W (episodes) of the visited-state policy-change rate: the share of the states an
    /// agent visited in an episode on which its greedy action differs from W episodes before.
    pub drift_window: usize,
}

impl Default for HetnetConfig {
    fn default() -> Self {
        HetnetConfig {
            seed: 0,
            n_small: 4,
            cell_radius_m: 500.0,
            small_cell_radius_m: 60.0,
            macro_power_dbm: 46.0,
            small_power_dbm: 30.0,
            noise_dbm: -114.0,
            shadowing_db: 8.0,
            doppler_hz: 10.0,
            slot_s: 0.02,
            power_levels: 10,
            power_range_db: 30.0,
            episodes: 400,
            slots_per_episode: 100,
            reward: RewardForm::SumRate,
            reward_scale: 0.05,
            hidden: vec![32, 32],
            lr: 1e-3,
            gamma: 0.25,
            batch_size: 32,
            replay: 2000,
            train_every: 1,
            target_every: 100,
            eps_start: 1.0,
            eps_end: 0.02,
            eps_decay_frac: 0.4,
            lambda: 1.0,
            pql_form: PqlForm::Margin,
            pql_tau: 0.01,
            pql_margin: 0.05,
            pql_bin: 0.2,
            probe_size: 64,
            drift_window: 10,
        }
    }
}

impl LabConfig for HetnetConfig {
    const RANGES: &'static [Range] = &[
        Range::int("n_small", 1, 12),
        Range::float("shadowing_db", 0.0, 20.0, false),
        Range::int("power_levels", 2, 32),
        Range::float("lr", 1e-5, 0.1, true),
        Range::int("batch_size", 1, 4096),
        Range::float("eps_start", 0.0, 1.0, false),
        Range::float("eps_end", 0.0, 1.0, false),
        Range::float("eps_decay_frac", 0.0, 1.0, false),
        Range::float("lambda", 0.0, 10.0, false),
        Range::choice("reward", &["sum_rate", "own_minus_cost"]),
        Range::int("probe_size", 1, 10_000),
        Range::choice("pql_form", &["margin", "proximal", "proximal_margin"]),
        Range::float("pql_tau", 1e-4, 1.0, true),
        Range::int("drift_window", 1, 1000),
    ];

    fn check(&self) -> Result<(), LabError> {
        let pos = |key: &str, x: f64| {
            if x.is_finite() && x > 0.0 {
                Ok(())
            } else {
                Err(LabError::config(
                    key,
                    format!("{x} must be a positive number"),
                ))
            }
        };
        pos("cell_radius_m", self.cell_radius_m)?;
        pos("small_cell_radius_m", self.small_cell_radius_m)?;
        if self.small_cell_radius_m * 4.0 > self.cell_radius_m {
            return Err(LabError::config(
                "small_cell_radius_m",
                "must be at most a quarter of cell_radius_m",
            ));
        }
        for (k, x) in [
            ("macro_power_dbm", self.macro_power_dbm),
            ("small_power_dbm", self.small_power_dbm),
            ("noise_dbm", self.noise_dbm),
        ] {
            if !(x.is_finite() && (-200.0..=80.0).contains(&x)) {
                return Err(LabError::config(k, "must be in [-200, 80] dBm"));
            }
        }
        pos("doppler_hz", self.doppler_hz)?;
        pos("slot_s", self.slot_s)?;
        pos("power_range_db", self.power_range_db)?;
        if self.episodes == 0 || self.slots_per_episode == 0 {
            return Err(LabError::config(
                "episodes",
                "episodes and slots_per_episode must be positive",
            ));
        }
        pos("reward_scale", self.reward_scale)?;
        if self.hidden.is_empty() || self.hidden.iter().any(|&w| w == 0 || w > 1024) {
            return Err(LabError::config(
                "hidden",
                "need 1+ layers of width 1..=1024",
            ));
        }
        if !(self.gamma.is_finite() && (0.0..1.0).contains(&self.gamma)) {
            return Err(LabError::config("gamma", "must be in [0, 1)"));
        }
        if self.replay < self.batch_size {
            return Err(LabError::config("replay", "must be at least batch_size"));
        }
        if self.train_every == 0 || self.target_every == 0 {
            return Err(LabError::config(
                "train_every",
                "train_every and target_every must be positive",
            ));
        }
        if !(self.pql_margin.is_finite() && self.pql_margin >= 0.0) {
            return Err(LabError::config("pql_margin", "must be non-negative"));
        }
        pos("pql_bin", self.pql_bin)?;
        Ok(())
    }
}
