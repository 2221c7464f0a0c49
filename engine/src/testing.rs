//! A tiny deterministic lab for exercising the runner and the panels' run bar without loading
//! data or touching burn's kernels. It is not listed among the product's labs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{ActionReport, Knob, Lab, LabConfig, Range, StepReport};
use crate::rng::Rng;

/// Config of [`ToyLab`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToyConfig {
    /// Seed of the noise.
    pub seed: u64,
    /// Step size of the descent.
    pub lr: f64,
    /// Panic at this step (0 = never), to test panic capture.
    pub panic_at: u64,
    /// Report NaN at this step (0 = never), to test the non-finite pause.
    pub nan_at: u64,
    /// Planned run length.
    pub planned: u64,
    /// Refresh the view only every this many steps and say so through
    /// [`Lab::view_version`] (0 = every step, version unknown).
    pub view_every: u64,
}

impl Default for ToyConfig {
    fn default() -> Self {
        ToyConfig {
            seed: 0,
            lr: 0.1,
            panic_at: 0,
            nan_at: 0,
            planned: 0,
            view_every: 0,
        }
    }
}

/// Noisy gradient descent on (x − 3)²: a "loss" series that falls, and a `final` metric.
pub struct ToyLab {
    cfg: ToyConfig,
    x: f64,
    step: u64,
    rng: Rng,
    /// The view as of the last refresh (used when `view_every` > 0).
    shown: (u64, f64),
    views: Arc<AtomicU64>,
}

impl ToyLab {
    /// Counts every [`Lab::view`] call into `counter`, so tests can see how often the runner
    /// rebuilds the view.
    pub fn count_views(mut self, counter: Arc<AtomicU64>) -> Self {
        self.views = counter;
        self
    }
}

/// What a user can ask of [`ToyLab`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ToyAction {
    /// Moves x by `by` and reports the new x as `nudged`.
    Nudge {
        /// How far.
        by: f64,
    },
}

impl LabConfig for ToyConfig {
    const RANGES: &'static [Range] = &[Range::float("lr", 0.0, 1.0, false)];
}

impl Lab for ToyLab {
    const ID: &'static str = "toy";
    const NAME: &'static str = "Toy";
    const PAPER: &'static str = "none (a test fixture)";
    const SUMMARY: &'static str = "Noisy gradient descent on (x - 3)^2.";
    const TINY: &'static [&'static str] = &[];

    type Config = ToyConfig;
    type View = (u64, f64);
    type Action = ToyAction;

    fn new(cfg: ToyConfig, _device: &Device) -> Result<Self, LabError> {
        Ok(ToyLab {
            rng: Rng::new(cfg.seed),
            cfg,
            x: 0.0,
            step: 0,
            shown: (0, 0.0),
            views: Arc::default(),
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        self.step += 1;
        if self.step == self.cfg.panic_at {
            panic!("toy lab asked to panic");
        }
        self.x -= self.cfg.lr * 2.0 * (self.x - 3.0) + 0.01 * self.rng.normal();
        let mut r = StepReport::default();
        let loss = if self.step == self.cfg.nan_at {
            f64::NAN
        } else {
            (self.x - 3.0).powi(2)
        };
        r.push("loss", loss);
        if self.cfg.view_every == 0 || self.step.is_multiple_of(self.cfg.view_every) {
            self.shown = (self.step, self.x);
        }
        Ok(r)
    }

    fn view(&self) -> (u64, f64) {
        self.views.fetch_add(1, Ordering::Relaxed);
        self.shown
    }

    fn config(&self) -> &ToyConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut ToyConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[Knob::new("lr", "learning rate", "Step size.")];
        KNOBS
    }

    fn headline(_: &ToyConfig) -> Vec<&'static str> {
        vec!["loss", "final"]
    }

    fn act(&mut self, action: ToyAction) -> Result<ActionReport, LabError> {
        match action {
            ToyAction::Nudge { by } => {
                self.x += by;
                let mut r = ActionReport {
                    message: format!("x nudged by {by}"),
                    ..ActionReport::default()
                };
                // An action that reports a metric (as Sparrow's live retrain does).
                r.metrics.push("nudged", self.x);
                Ok(r)
            }
        }
    }

    fn planned_steps(&self) -> Option<u64> {
        (self.cfg.planned > 0).then_some(self.cfg.planned)
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        let mut r = StepReport::default();
        r.push("final", self.x);
        Ok(r)
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(48);
        out.extend(self.x.to_le_bytes());
        out.extend(self.step.to_le_bytes());
        for w in self.rng.state() {
            out.extend(w.to_le_bytes());
        }
        Some(out)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), LabError> {
        let words: Vec<[u8; 8]> = state
            .chunks_exact(8)
            .filter_map(|c| c.try_into().ok())
            .collect();
        let [x, step, a, b, c, d] = words[..] else {
            return Err(LabError::Compute("a toy checkpoint is 48 bytes".into()));
        };
        self.x = f64::from_le_bytes(x);
        self.step = u64::from_le_bytes(step);
        self.rng = Rng::from_state([a, b, c, d].map(u64::from_le_bytes));
        Ok(())
    }

    fn view_version(&self) -> Option<u64> {
        (self.cfg.view_every > 0).then(|| self.step / self.cfg.view_every)
    }
}

/// Test helper: builds lab `L` on the CPU backend, takes `steps` steps and its final
/// evaluation, and returns every step's report, the final report and the last view. Panics on
/// any error, so it is for tests only.
pub fn run_lab<L: Lab>(config: L::Config, steps: usize) -> (Vec<StepReport>, StepReport, L::View) {
    run_lab_on::<L>(config, steps, &crate::Backend::cpu().device)
}

/// Test helper: [`run_lab`] on a given device (the GPU comparison tests use it).
pub fn run_lab_on<L: Lab>(
    config: L::Config,
    steps: usize,
    device: &Device,
) -> (Vec<StepReport>, StepReport, L::View) {
    let mut lab = L::new(config, device).unwrap_or_else(|e| panic!("lab builds: {e}"));
    let reports = (0..steps)
        .map(|i| lab.step().unwrap_or_else(|e| panic!("step {i}: {e}")))
        .collect();
    let fin = lab.finish().unwrap_or_else(|e| panic!("finish: {e}"));
    (reports, fin, lab.view())
}

/// Test helper: the value of series `name` in a report; panics when it is missing.
pub fn metric(r: &StepReport, name: &str) -> f64 {
    r.metrics
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no metric {name} in {r:?}"))
}
