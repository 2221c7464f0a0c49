//! One learning method (PQL or IDQN): a team of independent agents, their memory of the
//! previous slot, and per-episode bookkeeping.

use std::collections::VecDeque;

use crate::labs::hetnet::agent::{Agent, TrainParams, Transition, UpdateStats};
use crate::labs::hetnet::config::HetnetConfig;
use crate::labs::hetnet::env::{Env, OBS, observe, reward, state_key};
use crate::labs::hetnet::mlp::Mlp;
use crate::nn::argmax;
use crate::rng::Rng;
use crate::wireless::rates;

/// An action awaiting its next observation: (observation, action, scaled reward, state key).
type Pending = Option<(Vec<f32>, usize, f32, u64)>;

/// A team of agents (one per AP) learning with one method.
#[derive(Debug, Clone)]
pub struct Learner {
    /// "PQL" or "IDQN".
    pub name: &'static str,
    /// One agent per AP.
    pub agents: Vec<Agent>,
    /// Penalty weight (0 for IDQN).
    pub lambda: f64,
    /// Powers of the previous slot, watts.
    pub prev_p: Vec<f64>,
    /// Power levels of the previous slot.
    pub prev_level: Vec<usize>,
    /// SINR of the newest slot, linear.
    pub last_sinr: Vec<f64>,
    /// Sum rate of the newest slot.
    pub last_sum_rate: f64,
    pending: Vec<Pending>,
    /// Action counts of the current episode, per agent.
    pub counts: Vec<Vec<u32>>,
    /// Action counts of the last finished episode.
    pub last_counts: Vec<Vec<u32>>,
    /// Sum of per-slot sum rates in the current episode.
    pub episode_rate: f64,
    /// TD loss and penalised share accumulated over the episode's updates.
    pub episode_stats: (f64, f64, usize),
    /// Greedy actions on the probe set at the last check, per agent.
    pub probe_actions: Option<Vec<Vec<usize>>>,
    /// Latest per-agent policy-change rate.
    pub agent_change: Vec<Option<f64>>,
    /// Observations each agent met in the current episode (for the visited-state drift).
    visited: Vec<Vec<Vec<f32>>>,
    /// Every agent's online network at the end of each of the last `drift_window` episodes,
    /// oldest first.
    snapshots: VecDeque<Vec<Mlp>>,
    /// Latest per-agent visited-state policy-change rate.
    pub agent_change_visited: Vec<Option<f64>>,
}

impl Learner {
    /// Builds the team; `seeds` fixes weights, exploration and replay sampling, so two learners
    /// built from the same `seeds` start identical.
    pub fn new(
        name: &'static str,
        cfg: &HetnetConfig,
        n: usize,
        lambda: f64,
        seeds: &Rng,
    ) -> Learner {
        let mut sizes = vec![OBS];
        sizes.extend(&cfg.hidden);
        sizes.push(cfg.power_levels);
        let agents = (0..n)
            .map(|i| {
                let mut init = seeds.fork(100 + i as u64);
                Agent::new(&sizes, cfg.replay, &mut init, seeds.fork(200 + i as u64))
            })
            .collect();
        Learner {
            name,
            agents,
            lambda,
            prev_p: vec![0.0; n],
            prev_level: vec![0; n],
            last_sinr: vec![0.0; n],
            last_sum_rate: 0.0,
            pending: vec![None; n],
            counts: vec![vec![0; cfg.power_levels]; n],
            last_counts: vec![vec![0; cfg.power_levels]; n],
            episode_rate: 0.0,
            episode_stats: (0.0, 0.0, 0),
            probe_actions: None,
            agent_change: vec![None; n],
            visited: vec![Vec::new(); n],
            snapshots: VecDeque::new(),
            agent_change_visited: vec![None; n],
        }
    }

    /// Forgets the previous slot at an episode start: every AP "was" at full power.
    pub fn start_episode(&mut self, env: &Env) {
        let top = env.levels[0].len() - 1;
        self.prev_level = vec![top; env.n()];
        self.prev_p = env.pmax.clone();
        self.pending = vec![None; env.n()];
    }

    /// One slot: observe, complete the previous transitions, act, collect rewards.
    pub fn act(&mut self, env: &Env, cfg: &HetnetConfig, eps: f64) {
        let n = env.n();
        let nl = cfg.power_levels;
        let mut obs = Vec::with_capacity(n);
        let mut level = Vec::with_capacity(n);
        for i in 0..n {
            let o = observe(
                &env.gains,
                &env.prev_gains,
                &self.prev_p,
                self.prev_level[i],
                nl,
                env.pmax[i],
                env.noise_w,
                i,
            );
            if let Some((po, pa, pr, pk)) = self.pending[i].take() {
                self.agents[i].remember(Transition {
                    obs: po,
                    action: pa,
                    reward: pr,
                    next: o.clone(),
                    key: pk,
                });
            }
            level.push(self.agents[i].act(&o, eps));
            self.visited[i].push(o.clone());
            obs.push(o);
        }
        let p: Vec<f64> = (0..n).map(|i| env.levels[i][level[i]]).collect();
        let r = rates(&env.gains, &p, env.noise_w);
        for i in 0..n {
            let rw = reward(cfg.reward, &env.gains, &p, &r, env.noise_w, i);
            let scaled = (rw * cfg.reward_scale) as f32;
            let key = state_key(&obs[i], cfg.pql_bin);
            self.agents[i].note_reward(key, level[i], scaled);
            self.pending[i] = Some((std::mem::take(&mut obs[i]), level[i], scaled, key));
            self.counts[i][level[i]] += 1;
        }
        self.last_sinr = crate::wireless::sinr(&env.gains, &p, env.noise_w);
        self.last_sum_rate = r.iter().sum();
        self.episode_rate += self.last_sum_rate;
        self.prev_p = p;
        self.prev_level = level;
    }

    /// One update of every agent.
    pub fn train(&mut self, cfg: &HetnetConfig) {
        let hp = TrainParams {
            lr: cfg.lr as f32,
            gamma: cfg.gamma as f32,
            batch: cfg.batch_size,
            lambda: self.lambda as f32,
            margin: cfg.pql_margin as f32,
            form: cfg.pql_form,
            tau: cfg.pql_tau as f32,
        };
        for a in &mut self.agents {
            if let Some(UpdateStats { td_loss, penalised }) = a.train(hp) {
                self.episode_stats.0 += td_loss;
                self.episode_stats.1 += penalised;
                self.episode_stats.2 += 1;
            }
        }
    }

    /// Copies every online network to its target.
    pub fn sync_targets(&mut self) {
        for a in &mut self.agents {
            a.sync_target();
        }
    }

    /// Greedy actions on the probe set; returns the mean share that changed since the last
    /// check (None at the first check).
    pub fn check_policy(&mut self, probes: &[Vec<Vec<f32>>]) -> Option<f64> {
        let now: Vec<Vec<usize>> = self
            .agents
            .iter()
            .zip(probes)
            .map(|(a, ps)| ps.iter().map(|o| a.greedy(o)).collect())
            .collect();
        let rate = self.probe_actions.as_ref().map(|before| {
            let per: Vec<f64> = before
                .iter()
                .zip(&now)
                .map(|(b, n)| {
                    b.iter().zip(n).filter(|(x, y)| x != y).count() as f64 / n.len().max(1) as f64
                })
                .collect();
            self.agent_change = per.iter().map(|&x| Some(x)).collect();
            per.iter().sum::<f64>() / per.len().max(1) as f64
        });
        self.probe_actions = Some(now);
        rate
    }

    /// Drift where it matters: on every observation each agent met in the episode just ended,
    /// the share whose greedy action now differs from the greedy action of the agent's network
    /// `window` episodes before (fewer while the run is younger than that), mean over agents.
    /// None after the first episode. Clears the episode's observations.
    pub fn check_visited(&mut self, window: usize) -> Option<f64> {
        let now: Vec<Mlp> = self.agents.iter().map(|a| a.net().clone()).collect();
        let rate = self.snapshots.front().map(|old| {
            let per: Vec<f64> = old
                .iter()
                .zip(&now)
                .zip(&self.visited)
                .map(|((o, n), vs)| {
                    let changed = vs
                        .iter()
                        .filter(|v| argmax(&o.predict(v)) != argmax(&n.predict(v)))
                        .count();
                    changed as f64 / vs.len().max(1) as f64
                })
                .collect();
            self.agent_change_visited = per.iter().map(|&x| Some(x)).collect();
            per.iter().sum::<f64>() / per.len().max(1) as f64
        });
        self.snapshots.push_back(now);
        while self.snapshots.len() > window.max(1) {
            self.snapshots.pop_front();
        }
        for v in &mut self.visited {
            v.clear();
        }
        rate
    }

    /// Closes the episode's bookkeeping; returns (mean TD loss, penalised share).
    pub fn end_episode(&mut self) -> (f64, f64) {
        let (l, p, c) = self.episode_stats;
        self.episode_stats = (0.0, 0.0, 0);
        self.last_counts = std::mem::replace(
            &mut self.counts,
            vec![vec![0; self.last_counts.first().map_or(0, |c| c.len())]; self.agents.len()],
        );
        self.episode_rate = 0.0;
        let c = c.max(1) as f64;
        (l / c, p / c)
    }
}
