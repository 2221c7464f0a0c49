//! The HetNet environment: a fixed layout of APs, users re-dropped every episode, fading that
//! evolves every slot, and the local observations and rewards of the agents.

use crate::labs::hetnet::config::{HetnetConfig, RewardForm};
use crate::rng::Rng;
use crate::wireless::{
    Ap, Fading, Gains, LayoutConfig, Point, dbm_to_watt, drop_users, jakes_rho, lin_to_db,
    place_aps,
};

/// Length of an agent's local observation.
pub const OBS: usize = 8;

/// The shared radio environment both learners act in.
#[derive(Debug, Clone)]
pub struct Env {
    /// Layout parameters.
    pub layout: LayoutConfig,
    /// Macro BS (index 0) and small APs.
    pub aps: Vec<Ap>,
    /// The user of each AP.
    pub users: Vec<Point>,
    /// Path loss and shadowing of the current drop.
    pub large: Gains,
    /// Current small-scale fading.
    pub fading: Fading,
    /// Gains in the current slot.
    pub gains: Gains,
    /// Gains in the previous slot (equal to `gains` in an episode's first slot).
    pub prev_gains: Gains,
    /// Noise power, watts.
    pub noise_w: f64,
    /// Each AP's maximum power, watts.
    pub pmax: Vec<f64>,
    /// Each AP's discrete power levels, watts (level 0 is off).
    pub levels: Vec<Vec<f64>>,
    shadowing_db: f64,
    rng_drop: Rng,
    rng_fade: Rng,
}

impl Env {
    /// Places the APs with `rng_layout` and drops the first users; `rng` seeds drops and fading.
    pub fn new(cfg: &HetnetConfig, rng_layout: &mut Rng, rng: &Rng) -> Env {
        let layout = LayoutConfig {
            cell_radius_m: cfg.cell_radius_m,
            n_small: cfg.n_small,
            small_cell_radius_m: cfg.small_cell_radius_m,
            macro_power_dbm: cfg.macro_power_dbm,
            small_power_dbm: cfg.small_power_dbm,
            ..LayoutConfig::default()
        };
        let aps = place_aps(&layout, rng_layout);
        let pmax: Vec<f64> = aps.iter().map(|a| a.max_power_w).collect();
        let levels = pmax
            .iter()
            .map(|&m| power_levels(m, cfg.power_levels, cfg.power_range_db))
            .collect();
        let n = aps.len();
        let rho = jakes_rho(cfg.doppler_hz, cfg.slot_s);
        let mut rng_fade = rng.fork(2);
        let fading = Fading::new(n, rho, &mut rng_fade);
        let empty = Gains {
            n,
            g: vec![0.0; n * n],
        };
        let mut env = Env {
            layout,
            aps,
            users: Vec::new(),
            large: empty.clone(),
            fading,
            gains: empty.clone(),
            prev_gains: empty,
            noise_w: dbm_to_watt(cfg.noise_dbm),
            pmax,
            levels,
            shadowing_db: cfg.shadowing_db,
            rng_drop: rng.fork(1),
            rng_fade,
        };
        env.redrop();
        env
    }

    /// Number of links (= agents).
    pub fn n(&self) -> usize {
        self.aps.len()
    }

    /// New user positions, new shadowing, fresh fading.
    pub fn redrop(&mut self) {
        self.users = drop_users(&self.layout, &self.aps, &mut self.rng_drop);
        self.large = Gains::large_scale(
            &self.aps,
            &self.users,
            self.shadowing_db,
            &mut self.rng_drop,
        );
        self.fading = Fading::new(self.n(), self.fading.rho, &mut self.rng_fade);
        self.gains = self.large.with_fading(&self.fading);
        self.prev_gains = self.gains.clone();
    }

    /// Advances the fading one slot.
    pub fn advance(&mut self) {
        self.fading.evolve(&mut self.rng_fade);
        self.prev_gains = std::mem::replace(&mut self.gains, self.large.with_fading(&self.fading));
    }
}

/// Level 0 is 0 W; levels 1..L−1 are dB-spaced from Pmax − `range_db` up to Pmax.
pub fn power_levels(pmax: f64, count: usize, range_db: f64) -> Vec<f64> {
    let mut v = vec![0.0];
    let steps = count.saturating_sub(2).max(1) as f64;
    for k in 1..count {
        let below = range_db * (count - 1 - k) as f64 / steps;
        v.push(pmax * 10f64.powf(-below / 10.0));
    }
    v
}

/// Interference (watts) at link `k`'s user from every other transmitter.
fn interference(g: &Gains, p: &[f64], k: usize) -> f64 {
    (0..g.n)
        .filter(|&j| j != k)
        .map(|j| g.get(k, j) * p[j])
        .sum()
}

/// Rate lost by the other links because `i` transmits: Σ_k≠i [C_k without i − C_k].
pub fn externality(g: &Gains, p: &[f64], noise: f64, i: usize) -> f64 {
    (0..g.n)
        .filter(|&k| k != i)
        .map(|k| {
            let int = interference(g, p, k);
            let s = g.get(k, k) * p[k];
            let with = (1.0 + s / (int + noise)).log2();
            let without = (1.0 + s / ((int - g.get(k, i) * p[i]).max(0.0) + noise)).log2();
            without - with
        })
        .sum()
}

/// Agent `i`'s local observation at slot t, from what it can measure locally or is fed back by
/// its own user and the users it interferes with:
/// 0. own direct-link SNR at full power now (dB / 50);
/// 1. the same in the previous slot (dB / 50): its trend tracks fading;
/// 2. own previous power level (index / (L − 1));
/// 3. own previous SINR (dB / 30, clamped to ±60 dB);
/// 4. own previous rate (bit/s/Hz / 10);
/// 5. previous interference-plus-noise at own user over noise (dB / 30);
/// 6. previous interference it caused, relative to the victims' interference-plus-noise
///    (10 log10(1 + Σ_k g_ki p_i / (I_k + σ²)) / 10);
/// 7. previous rate its interference cost the others (bit/s/Hz / 10).
// Each argument is one measured quantity the observation is built from; bundling them in a
// struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn observe(
    now: &Gains,
    prev: &Gains,
    prev_p: &[f64],
    prev_level: usize,
    n_levels: usize,
    pmax: f64,
    noise: f64,
    i: usize,
) -> Vec<f32> {
    let snr_now = lin_to_db(now.get(i, i) * pmax / noise).max(-60.0);
    let snr_prev = lin_to_db(prev.get(i, i) * pmax / noise).max(-60.0);
    let int = interference(prev, prev_p, i);
    let sinr = prev.get(i, i) * prev_p[i] / (int + noise);
    let rate = (1.0 + sinr).log2();
    let caused: f64 = (0..prev.n)
        .filter(|&k| k != i)
        .map(|k| prev.get(k, i) * prev_p[i] / (interference(prev, prev_p, k) + noise))
        .sum();
    vec![
        (snr_now / 50.0) as f32,
        (snr_prev / 50.0) as f32,
        (prev_level as f64 / (n_levels.max(2) - 1) as f64) as f32,
        (lin_to_db(sinr).clamp(-60.0, 60.0) / 30.0) as f32,
        (rate / 10.0) as f32,
        (lin_to_db((int + noise) / noise) / 30.0) as f32,
        (lin_to_db(1.0 + caused) / 10.0) as f32,
        (externality(prev, prev_p, noise, i) / 10.0) as f32,
    ]
}

/// The quantised state key PQL uses to recognise a revisit: own SNR now, own previous power
/// level and previous interference, each binned by `bin`.
pub fn state_key(obs: &[f32], bin: f64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &f in [obs[0], obs[2], obs[5]].iter() {
        let q = (f as f64 / bin).floor() as i64;
        for byte in q.to_le_bytes() {
            h ^= byte as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Agent `i`'s reward (bit/s/Hz) for powers `p` with `rates` the resulting per-link rates.
pub fn reward(form: RewardForm, g: &Gains, p: &[f64], rates: &[f64], noise: f64, i: usize) -> f64 {
    match form {
        RewardForm::SumRate => rates.iter().sum(),
        RewardForm::OwnMinusCost => rates[i] - externality(g, p, noise, i),
    }
}
