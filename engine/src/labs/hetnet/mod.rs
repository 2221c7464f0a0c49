//! HetNet power control (Xu, Huynh & Li 2022): one agent per access point (a macro BS and
//! several small cells) picks its transmit power from local observations only, trained and
//! executed in a distributed way. PQL (independent DQN plus a penalty toward each agent's best
//! previously experienced action in a revisited state; see [`agent`] for our reading of it)
//! races plain independent DQN on the same seed and the same channel draws, with WMMSE, FP,
//! max power and random power computed on the same channels as references.
//!
//! One `step` is one environment slot for both learners. Users re-drop at each episode start;
//! fading evolves every slot.

pub mod agent;
pub mod config;
pub mod env;
pub mod learner;
pub mod mlp;
pub mod view;

use burn::tensor::Device;

use crate::error::LabError;
use crate::lab::{Knob, Lab, LabConfig, NoAction, StepReport};
use crate::rng::Rng;
use crate::wireless::{fp_from, max_power, multi_start, random_power, sinr, sum_rate, wmmse_from};

pub use config::{HetnetConfig, PqlForm, RewardForm};
pub use env::Env;
use learner::Learner;
pub use view::{HetnetView, LearnerView, MethodSlot};

/// Display names of the reference methods, in the order of [`SlotRecord::powers`] after the two
/// learners.
const BASELINES: [&str; 4] = ["WMMSE", "FP", "max power", "random"];
/// Series-name stems of all six methods, learners first.
const STEMS: [&str; 6] = ["pql", "idqn", "wmmse", "fp", "max", "random"];
/// WMMSE / FP iteration cap and stopping tolerance.
const SOLVER_ITERS: usize = 1000;
const WMMSE_TOL: f64 = 1e-9;
const FP_TOL: f64 = 1e-9;

/// One slot as written to the artifact: gains and every method's powers and sum rate.
#[derive(Debug, Clone)]
struct SlotRecord {
    gains: Vec<Vec<f64>>,
    powers: Vec<Vec<f64>>,
    sum_rates: Vec<f64>,
}

/// The HetNet power-control lab.
pub struct HetnetLab {
    cfg: HetnetConfig,
    env: Env,
    /// PQL first, IDQN second.
    learners: Vec<Learner>,
    /// Per agent, the fixed probe observations for the policy-change rate.
    probes: Vec<Vec<Vec<f32>>>,
    rng_random: Rng,
    slot: usize,
    episode: usize,
    global_slot: u64,
    /// Per-episode sums of the baselines' slot sum rates (WMMSE, FP, max, random).
    base_rate: [f64; 4],
    /// Newest slot of the baselines.
    base_slot: Vec<MethodSlot>,
    /// Per method (STEMS order), the per-episode ratio to WMMSE.
    ratios: Vec<Vec<f64>>,
    /// PQL and IDQN policy-change rates per episode (from the second check on).
    changes: Vec<Vec<f64>>,
    /// PQL and IDQN visited-state policy-change rates per episode (from the second on).
    changes_visited: Vec<Vec<f64>>,
    record: Vec<SlotRecord>,
    last_record: Vec<SlotRecord>,
}

fn probe_set(cfg: &HetnetConfig, layout_rng: &Rng, seeds: &Rng) -> Vec<Vec<Vec<f32>>> {
    let mut lr = layout_rng.clone();
    let mut env = Env::new(cfg, &mut lr, &seeds.fork(1));
    let mut pick = seeds.fork(2);
    let n = env.n();
    let mut probes = vec![Vec::with_capacity(cfg.probe_size); n];
    for _ in 0..cfg.probe_size {
        env.redrop();
        for _ in 0..1 + pick.below(3) {
            env.advance();
        }
        let level: Vec<usize> = (0..n).map(|_| pick.below(cfg.power_levels)).collect();
        let p: Vec<f64> = (0..n).map(|i| env.levels[i][level[i]]).collect();
        for (i, list) in probes.iter_mut().enumerate() {
            list.push(env::observe(
                &env.gains,
                &env.prev_gains,
                &p,
                level[i],
                cfg.power_levels,
                env.pmax[i],
                env.noise_w,
                i,
            ));
        }
    }
    probes
}

impl HetnetLab {
    fn epsilon(&self) -> f64 {
        let total = (self.cfg.episodes * self.cfg.slots_per_episode) as f64;
        let decay = (self.cfg.eps_decay_frac * total).max(1.0);
        let t = (self.global_slot as f64 / decay).min(1.0);
        self.cfg.eps_start + (self.cfg.eps_end - self.cfg.eps_start) * t
    }

    fn window(&self) -> usize {
        (self.cfg.episodes / 10).max(1)
    }

    fn tail_mean(v: &[f64], w: usize) -> Option<f64> {
        let tail = &v[v.len().saturating_sub(w)..];
        (!tail.is_empty()).then(|| tail.iter().sum::<f64>() / tail.len() as f64)
    }

    fn end_episode(&mut self, report: &mut StepReport) {
        let slots = self.cfg.slots_per_episode as f64;
        let wm = self.base_rate[0].max(1e-12);
        let sums = [
            self.learners[0].episode_rate,
            self.learners[1].episode_rate,
            self.base_rate[0],
            self.base_rate[1],
            self.base_rate[2],
            self.base_rate[3],
        ];
        report.push("episode", (self.episode + 1) as f64);
        report.push("wmmse_sum_rate", self.base_rate[0] / slots);
        let w = self.window();
        for (k, stem) in STEMS.iter().enumerate() {
            if k == 2 {
                continue;
            }
            self.ratios[k].push(sums[k] / wm);
            report.push(format!("{stem}_ratio_episode"), sums[k] / wm);
            if let Some(m) = Self::tail_mean(&self.ratios[k], w) {
                report.push(format!("{stem}_wmmse_ratio"), m);
            }
        }
        for (k, stem) in STEMS.iter().enumerate().take(2) {
            let (loss, pen) = self.learners[k].end_episode();
            report.push(format!("{stem}_td_loss"), loss);
            if k == 0 {
                report.push("pql_penalised_share", pen);
            }
            if let Some(c) = self.learners[k].check_policy(&self.probes) {
                self.changes[k].push(c);
                report.push(format!("{stem}_policy_change_episode"), c);
                if let Some(m) = Self::tail_mean(&self.changes[k], w) {
                    report.push(format!("{stem}_policy_change"), m);
                }
            }
            if let Some(c) = self.learners[k].check_visited(self.cfg.drift_window) {
                self.changes_visited[k].push(c);
                report.push(format!("{stem}_policy_change_visited_episode"), c);
                if let Some(m) = Self::tail_mean(&self.changes_visited[k], w) {
                    report.push(format!("{stem}_policy_change_visited"), m);
                }
            }
        }
        report.push("epsilon", self.epsilon());
        self.base_rate = [0.0; 4];
        self.last_record = std::mem::take(&mut self.record);
        self.episode += 1;
        self.slot = 0;
    }

    /// Episodes until the trailing mean (window 1/20 of the run) first reaches 90% of the
    /// final value (mean of the last tenth).
    fn episodes_to_90(&self, v: &[f64]) -> Option<f64> {
        let fin = Self::tail_mean(v, self.window())?;
        let w = (v.len() / 20).max(1);
        (1..=v.len())
            .find(|&e| Self::tail_mean(&v[..e], w).is_some_and(|m| m >= 0.9 * fin))
            .map(|e| e as f64)
    }
}

impl Lab for HetnetLab {
    const ID: &'static str = "hetnet";
    const NAME: &'static str = "HetNet power control (PQL vs IDQN)";
    const PAPER: &'static str = "Xu, Huynh & Li 2022, Distributed-Training-and-Execution \
        Multi-Agent Reinforcement Learning for Power Control in HetNet";
    const SUMMARY: &'static str = "One DQN agent per access point (a macro BS and small cells) \
        picks its transmit power from local measurements only; nothing is shared between agents. \
        PQL adds a penalty pulling each agent toward its best previously experienced action in a \
        revisited state (our reading of the abstract; the full text was unavailable). PQL and \
        independent DQN race on the same channels, scored against WMMSE, FP, max and random \
        power.";
    const TINY: &'static [&'static str] = &[
        "episodes=3",
        "slots_per_episode=1",
        "hidden=[8]",
        "batch_size=4",
        "replay=50",
        "probe_size=4",
    ];

    type Config = HetnetConfig;
    type View = HetnetView;
    type Action = NoAction;

    fn new(cfg: HetnetConfig, _device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let root = Rng::new(cfg.seed);
        let layout_rng = root.fork(1);
        let mut lr = layout_rng.clone();
        let env = Env::new(&cfg, &mut lr, &root.fork(2));
        let probes = probe_set(&cfg, &layout_rng, &root.fork(3));
        // Both learners get the same seeds: identical initial weights, exploration coin flips
        // and replay sampling, so the only difference between them is λ.
        let seeds = root.fork(4);
        let n = env.n();
        let mut learners = vec![
            Learner::new("PQL", &cfg, n, cfg.lambda, &seeds),
            Learner::new("IDQN", &cfg, n, 0.0, &seeds),
        ];
        for l in &mut learners {
            l.start_episode(&env);
        }
        Ok(HetnetLab {
            rng_random: root.fork(5),
            env,
            learners,
            probes,
            slot: 0,
            episode: 0,
            global_slot: 0,
            base_rate: [0.0; 4],
            base_slot: Vec::new(),
            ratios: vec![Vec::new(); STEMS.len()],
            changes: vec![Vec::new(); 2],
            changes_visited: vec![Vec::new(); 2],
            record: Vec::new(),
            last_record: Vec::new(),
            cfg,
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        if self.slot == 0 {
            if self.global_slot > 0 {
                self.env.redrop();
            }
            for l in &mut self.learners {
                l.start_episode(&self.env);
            }
        } else {
            self.env.advance();
        }
        let eps = self.epsilon();
        let (g, pmax, noise) = (&self.env.gains, &self.env.pmax, self.env.noise_w);
        let base_p = [
            multi_start(g, pmax, noise, |p0| {
                wmmse_from(g, pmax, noise, p0, SOLVER_ITERS, WMMSE_TOL)
            })
            .p,
            multi_start(g, pmax, noise, |p0| {
                fp_from(g, pmax, noise, p0, SOLVER_ITERS, FP_TOL)
            })
            .p,
            max_power(pmax),
            random_power(pmax, &mut self.rng_random),
        ];
        self.base_slot = base_p
            .iter()
            .zip(BASELINES)
            .map(|(p, name)| MethodSlot {
                name: name.into(),
                powers_w: p.clone(),
                sinr_db: sinr(g, p, noise)
                    .iter()
                    .map(|&s| crate::wireless::lin_to_db(s))
                    .collect(),
                sum_rate: sum_rate(g, p, noise),
            })
            .collect();
        for (acc, m) in self.base_rate.iter_mut().zip(&self.base_slot) {
            *acc += m.sum_rate;
        }
        for l in &mut self.learners {
            l.act(&self.env, &self.cfg, eps);
        }
        self.global_slot += 1;
        if self.global_slot.is_multiple_of(self.cfg.train_every as u64) {
            for l in &mut self.learners {
                l.train(&self.cfg);
            }
        }
        if self
            .global_slot
            .is_multiple_of(self.cfg.target_every as u64)
        {
            for l in &mut self.learners {
                l.sync_targets();
            }
        }
        let mut powers: Vec<Vec<f64>> = self.learners.iter().map(|l| l.prev_p.clone()).collect();
        let mut rates: Vec<f64> = self.learners.iter().map(|l| l.last_sum_rate).collect();
        powers.extend(base_p);
        rates.extend(self.base_slot.iter().map(|m| m.sum_rate));
        self.record.push(SlotRecord {
            gains: self.env.gains.rows(),
            powers,
            sum_rates: rates,
        });
        self.slot += 1;
        if self.slot == self.cfg.slots_per_episode {
            self.end_episode(&mut report);
        }
        Ok(report)
    }

    fn view(&self) -> HetnetView {
        let db = |v: &[f64]| v.iter().map(|&s| crate::wireless::lin_to_db(s)).collect();
        let mut slot_methods: Vec<MethodSlot> = self
            .learners
            .iter()
            .map(|l| MethodSlot {
                name: l.name.into(),
                powers_w: l.prev_p.clone(),
                sinr_db: db(&l.last_sinr),
                sum_rate: l.last_sum_rate,
            })
            .collect();
        slot_methods.extend(self.base_slot.iter().cloned());
        HetnetView {
            episode: self.episode,
            episodes: self.cfg.episodes,
            slot: self.slot,
            slots_per_episode: self.cfg.slots_per_episode,
            cell_radius_m: self.cfg.cell_radius_m,
            small_cell_radius_m: self.cfg.small_cell_radius_m,
            aps: self.env.aps.clone(),
            users: self.env.users.clone(),
            levels: self.env.levels.clone(),
            slot_methods,
            learners: self
                .learners
                .iter()
                .map(|l| LearnerView {
                    name: l.name.into(),
                    action_counts: if self.episode > 0 {
                        l.last_counts.clone()
                    } else {
                        l.counts.clone()
                    },
                    policy_change: l.agent_change.clone(),
                    policy_change_visited: l.agent_change_visited.clone(),
                })
                .collect(),
            epsilon: self.epsilon(),
            lambda: self.learners[0].lambda,
            pql_form: self.cfg.pql_form.name().into(),
            drift_window: self.cfg.drift_window,
            reward: self.cfg.reward.name().into(),
        }
    }

    fn config(&self) -> &HetnetConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut HetnetConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new(
                "lambda",
                "PQL penalty λ",
                "Weight of PQL's pull toward each agent's best experienced action (0 = IDQN).",
            ),
            Knob::new(
                "pql_form",
                "PQL penalty form",
                "margin: keep each revisited state's best experienced action greedy by a margin. \
                 proximal: keep its value close to a slowly moving copy of the network. \
                 proximal_margin: both.",
            ),
            Knob::new(
                "eps_end",
                "final ε",
                "Exploration rate reached at the end of the decay (both learners).",
            ),
            Knob::new(
                "eps_decay_frac",
                "ε decay fraction",
                "Share of the run over which ε falls linearly from its start value.",
            ),
            Knob::new(
                "lr",
                "learning rate",
                "Adam step size of every agent (both learners).",
            ),
            Knob::new(
                "reward",
                "reward",
                "sum_rate: every agent is paid the network sum rate. own_minus_cost: its own \
                 rate minus the rate its interference costs the others. (The number of small APs \
                 is config-only: --set n_small=N, then reset.)",
            ),
        ];
        KNOBS
    }

    fn knob_changed(&mut self, key: &str) -> Result<(), LabError> {
        // Only the PQL learner has a penalty; IDQN is the λ = 0 baseline whatever the knob.
        if key == "lambda" {
            self.learners[0].lambda = self.cfg.lambda;
        }
        Ok(())
    }

    fn headline(_: &HetnetConfig) -> Vec<&'static str> {
        vec!["pql_wmmse_ratio", "idqn_wmmse_ratio"]
    }

    fn planned_steps(&self) -> Option<u64> {
        Some((self.cfg.episodes * self.cfg.slots_per_episode) as u64)
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        let mut r = StepReport::default();
        for (k, stem) in STEMS.iter().enumerate().take(2) {
            if let Some(e) = self.episodes_to_90(&self.ratios[k]) {
                r.push(format!("{stem}_episodes_to_90"), e);
            }
        }
        Ok(r)
    }

    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        let rec = if self.last_record.is_empty() {
            &self.record
        } else {
            &self.last_record
        };
        let slots: Vec<serde_json::Value> = rec
            .iter()
            .map(|s| {
                let mut powers = serde_json::Map::new();
                let mut rates = serde_json::Map::new();
                for (k, stem) in STEMS.iter().enumerate() {
                    powers.insert((*stem).into(), serde_json::json!(s.powers[k]));
                    rates.insert((*stem).into(), serde_json::json!(s.sum_rates[k]));
                }
                serde_json::json!({
                    "gains": s.gains,
                    "powers_w": powers,
                    "sum_rate_bps_hz": rates,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "description": "Last episode of the run: per slot, the power gains gains[rx][tx] \
                (AP tx to the user of link rx, linear), each method's transmit powers (W) and \
                its sum rate sum_k log2(1 + SINR_k) (bit/s/Hz). SINR_k = g[k][k] p_k / \
                (sum_{j != k} g[k][j] p_j + noise_w).",
            "noise_w": self.env.noise_w,
            "pmax_w": self.env.pmax,
            "ap_positions_m": self.env.aps.iter().map(|a| [a.pos.x, a.pos.y]).collect::<Vec<_>>(),
            "user_positions_m": self.env.users.iter().map(|u| [u.x, u.y]).collect::<Vec<_>>(),
            "slots": slots,
        });
        vec![("hetnet_last_episode".into(), doc)]
    }
}
