//! One access point's learner: an independent DQN (own replay buffer, own target network,
//! ε-greedy) with an optional PQL penalty. Nothing is shared between agents.
//!
//! **The PQL penalty is our reading of the paper's abstract** (Xu, Huynh & Li 2022; the full
//! text was not available). The abstract says a regularisation term makes "each agent tend to
//! choose an experienced action with high reward when revisiting a state", which slows policy
//! updates. We implement it as a large-margin loss (candidate (a) in the research notes):
//!
//! - a *state* is the agent's local observation quantised on a few features (own direct gain,
//!   own previous power, received interference; bin width `pql_bin`), hashed to a key;
//! - per key the agent keeps, per action, the mean (scaled) reward it has received; once a key
//!   has been visited at least twice, a*(s) is the action with the highest mean reward among
//!   those tried at least twice there;
//! - for every minibatch sample whose state has an a*, the loss gains
//!   λ · [max_a (Q(o, a) + m·1[a ≠ a*]) − Q(o, a*)], which is zero only when a* is greedy by
//!   at least the margin m.
//!
//! That is form (a), `pql_form = "margin"`. Form (b) of the notes, `pql_form = "proximal"`,
//! anchors instead the value of the best experienced action to a slowly moving copy θ̄ of the
//! network (Polyak average, rate `pql_tau`): λ · (Q(o, a*; θ) − Q(o, a*; θ̄))², so the value
//! that decides a revisit cannot move fast. `"proximal_margin"` adds both terms.
//!
//! With λ = 0 the loss is the plain DQN loss, so PQL and IDQN are the same code.

use std::collections::HashMap;

use crate::labs::hetnet::config::PqlForm;
use crate::labs::hetnet::mlp::{Adam, Mlp};
use crate::nn::argmax;
use crate::rng::Rng;

/// Tries of an action in a state before it can be the state's best experienced action.
const MIN_TRIES: u32 = 2;

/// One stored experience.
#[derive(Debug, Clone)]
pub struct Transition {
    /// Observation at t.
    pub obs: Vec<f32>,
    /// Action index at t.
    pub action: usize,
    /// Scaled reward after acting.
    pub reward: f32,
    /// Observation at t + 1.
    pub next: Vec<f32>,
    /// Quantised state key of `obs`.
    pub key: u64,
}

/// Learning hyperparameters of one update.
#[derive(Debug, Clone, Copy)]
pub struct TrainParams {
    /// Adam step size.
    pub lr: f32,
    /// Discount.
    pub gamma: f32,
    /// Minibatch size.
    pub batch: usize,
    /// PQL weight λ.
    pub lambda: f32,
    /// PQL margin m.
    pub margin: f32,
    /// Which penalty terms PQL adds.
    pub form: PqlForm,
    /// Polyak rate of the slow copy θ̄.
    pub tau: f32,
}

/// Per-action reward statistics of one quantised state.
#[derive(Debug, Clone)]
struct StateRecord {
    visits: u32,
    sum: Vec<f64>,
    count: Vec<u32>,
}

/// An independent DQN / PQL agent.
#[derive(Debug, Clone)]
pub struct Agent {
    online: Mlp,
    target: Mlp,
    /// Slowly moving copy θ̄ of `online` (the proximal forms' anchor).
    slow: Mlp,
    adam: Adam,
    replay: Vec<Transition>,
    capacity: usize,
    cursor: usize,
    rng: Rng,
    best: HashMap<u64, StateRecord>,
    n_actions: usize,
}

/// What one update did.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateStats {
    /// Mean squared TD error of the minibatch.
    pub td_loss: f64,
    /// Fraction of minibatch samples whose state had a best-experienced action.
    pub penalised: f64,
}

impl Agent {
    /// A fresh agent; `init` draws the weights, `rng` drives exploration and replay sampling.
    pub fn new(sizes: &[usize], capacity: usize, init: &mut Rng, rng: Rng) -> Agent {
        let online = Mlp::new(sizes, init);
        Agent {
            target: online.clone(),
            slow: online.clone(),
            adam: Adam::new(&online),
            online,
            replay: Vec::with_capacity(capacity),
            capacity,
            cursor: 0,
            rng,
            best: HashMap::new(),
            n_actions: *sizes.last().unwrap_or(&1),
        }
    }

    /// The action with the highest Q-value (lowest index on ties).
    pub fn greedy(&self, obs: &[f32]) -> usize {
        argmax(&self.online.predict(obs))
    }

    /// The online Q-network.
    pub fn net(&self) -> &Mlp {
        &self.online
    }

    /// ε-greedy action.
    pub fn act(&mut self, obs: &[f32], eps: f64) -> usize {
        if self.rng.uniform() < eps {
            self.rng.below(self.n_actions)
        } else {
            self.greedy(obs)
        }
    }

    /// Records the reward of `action` in state `key` (for the PQL best-action table).
    pub fn note_reward(&mut self, key: u64, action: usize, reward: f32) {
        let n = self.n_actions;
        let rec = self.best.entry(key).or_insert_with(|| StateRecord {
            visits: 0,
            sum: vec![0.0; n],
            count: vec![0; n],
        });
        rec.visits += 1;
        rec.sum[action] += reward as f64;
        rec.count[action] += 1;
    }

    /// The best previously experienced action of a revisited state.
    fn best_action(&self, key: u64) -> Option<usize> {
        let rec = self.best.get(&key)?;
        if rec.visits < 2 {
            return None;
        }
        let mut best: Option<(usize, f64)> = None;
        for a in 0..self.n_actions {
            // An action tried once is not yet "experienced": one draw of the other agents'
            // exploration and of the fading would decide it.
            if rec.count[a] >= MIN_TRIES {
                let m = rec.sum[a] / rec.count[a] as f64;
                if best.is_none_or(|(_, b)| m > b) {
                    best = Some((a, m));
                }
            }
        }
        best.map(|(a, _)| a)
    }

    /// Stores a transition, overwriting the oldest when full.
    pub fn remember(&mut self, t: Transition) {
        if self.replay.len() < self.capacity {
            self.replay.push(t);
        } else {
            self.replay[self.cursor] = t;
        }
        self.cursor = (self.cursor + 1) % self.capacity;
    }

    /// Copies the online network into the target network.
    pub fn sync_target(&mut self) {
        self.target = self.online.clone();
    }

    /// One minibatch update; `None` until the buffer holds a batch.
    pub fn train(&mut self, hp: TrainParams) -> Option<UpdateStats> {
        let b = hp.batch;
        if self.replay.len() < b {
            return None;
        }
        let n_obs = self.online.sizes[0];
        let na = self.n_actions;
        let idx: Vec<usize> = (0..b).map(|_| self.rng.below(self.replay.len())).collect();
        let mut x = Vec::with_capacity(b * n_obs);
        let mut xn = Vec::with_capacity(b * n_obs);
        for &i in &idx {
            x.extend_from_slice(&self.replay[i].obs);
            xn.extend_from_slice(&self.replay[i].next);
        }
        let q_next = self.target.forward(&xn, b).pop().unwrap_or_default();
        let acts = self.online.forward(&x, b);
        let q = acts.last().cloned().unwrap_or_default();
        let pen = hp.lambda > 0.0;
        let q_slow = if pen && hp.form.proximal() {
            self.slow.forward(&x, b).pop().unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut dout = vec![0.0f32; b * na];
        let mut td_loss = 0.0;
        let mut penalised = 0usize;
        for (r, &i) in idx.iter().enumerate() {
            let t = &self.replay[i];
            let qn = &q_next[r * na..(r + 1) * na];
            let y = t.reward + hp.gamma * qn.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let err = q[r * na + t.action] - y;
            td_loss += (err * err) as f64;
            // Huber gradient (clipped at 1): robust to the heavy tails of rate rewards.
            dout[r * na + t.action] += err.clamp(-1.0, 1.0) / b as f32;
            if pen && let Some(star) = self.best_action(t.key) {
                penalised += 1;
                let qr = &q[r * na..(r + 1) * na];
                if hp.form.margin() {
                    let mut worst = star;
                    let mut worst_v = qr[star];
                    for (a, &v) in qr.iter().enumerate() {
                        let v = if a == star { v } else { v + hp.margin };
                        if v > worst_v {
                            worst = a;
                            worst_v = v;
                        }
                    }
                    if worst != star {
                        dout[r * na + worst] += hp.lambda / b as f32;
                        dout[r * na + star] -= hp.lambda / b as f32;
                    }
                }
                if hp.form.proximal() {
                    let d = qr[star] - q_slow[r * na + star];
                    dout[r * na + star] += 2.0 * hp.lambda * d / b as f32;
                }
            }
        }
        let grad = self.online.backward(&acts, dout, b);
        self.adam.step(&mut self.online, &grad, hp.lr);
        // The slow copy always follows (it only feeds the proximal forms), so that a form or
        // λ switched on mid-run anchors to recent values.
        let tau = hp.tau;
        for (s, &o) in self.slow.params.iter_mut().zip(&self.online.params) {
            *s += tau * (o - *s);
        }
        Some(UpdateStats {
            td_loss: td_loss / b as f64,
            penalised: penalised as f64 / b as f64,
        })
    }
}
