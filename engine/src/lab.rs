//! The Lab contract: the one extension point of the engine.
//!
//! A lab owns its model, data and random state and advances in steps of its natural unit (a
//! batch for Forward-Forward). Everything a lab is, it declares on itself: its name and paper,
//! its config (with the key ranges that validation and knobs share, see [`crate::knob`]), its
//! live knobs, its typed actions, its headline metrics and the tiny settings its tests use. The
//! runner and the CLI only ever see the type-erased [`DynLab`]; panels downcast the
//! [`AnyView`] snapshot to the lab's own view type (in one generic place, `panels::registry`).
//!
//! The rule every lab keeps: all that changes its computation enters through its config, its
//! seed, knob changes ([`DynLab::set_knob`]) and actions ([`DynLab::act`]), and all its
//! randomness comes from the seeded [`crate::rng::Rng`] (never a clock, a thread id, a global
//! RNG or a file that can change). Then seed + run log = the run: [`crate::runlog`] records
//! those inputs with the step each took effect at, and replay, rewind and `trainscope replay
//! BUNDLE --check` re-execute them through this trait, with no code in the lab. The generic test
//! (`engine/tests/replay.rs`) checks it for every preset. A lab may also offer checkpoints
//! ([`Lab::save_state`], [`Lab::load_state`]) so that rewinding starts from the nearest one
//! instead of step 0; that is only a speed-up.

use std::any::Any;
use std::sync::Arc;

use burn::tensor::Device;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::LabError;
pub use crate::knob::{Knob, KnobKind, KnobSpec, KnobValue, LabConfig, Range};
use crate::results::Results;

/// The metrics one step produced, as `(series, value)` pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepReport {
    /// Metric points of this step.
    pub metrics: Vec<(String, f64)>,
}

impl StepReport {
    /// Adds one metric point.
    pub fn push(&mut self, series: impl Into<String>, value: f64) {
        self.metrics.push((series.into(), value));
    }

    /// The first series whose value is NaN or infinite, if any.
    pub fn first_non_finite(&self) -> Option<&str> {
        self.metrics
            .iter()
            .find(|(_, v)| !v.is_finite())
            .map(|(n, _)| n.as_str())
    }
}

/// What an action did: a line for the user and any metrics it produced (recorded at the
/// current step, since an action is not a step).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionReport {
    /// What happened, in a line, for headless drivers and logs (the GUI shows the action's
    /// effect in the lab's panel instead; empty = nothing to say).
    pub message: String,
    /// Metric points the action produced (e.g. a model retrained on the user's feedback).
    pub metrics: StepReport,
}

/// The action type of a lab that has none: no value of it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NoAction {}

/// A lab's snapshot for drawing, type-erased; panels downcast it to the lab's view type.
pub type AnyView = Arc<dyn Any + Send + Sync>;

/// The typed contract each lab implements.
pub trait Lab: Send + 'static {
    /// Identifier used in presets (`lab = "ff"`) and as the prefix of its preset files.
    const ID: &'static str;
    /// Display name.
    const NAME: &'static str;
    /// The paper it reproduces.
    const PAPER: &'static str;
    /// One paragraph for the lab list.
    const SUMMARY: &'static str;
    /// `key=value` settings (as a user would `--set` them) that shrink any of the lab's
    /// presets to a run of seconds, for the generic tests and CI.
    const TINY: &'static [&'static str];

    /// The lab's configuration: a TOML table in presets, including `seed`.
    type Config: LabConfig;
    /// Owned data the panel draws; cheap to clone.
    type View: Clone + Send + Sync + 'static;
    /// What a user can ask of the lab besides knobs (ask a question, mark a candidate, ...),
    /// addressed by stable ids. [`NoAction`] for none.
    type Action: Serialize + DeserializeOwned + Send + 'static;

    /// Builds the lab: loads data, initialises the model from the config's seed.
    fn new(config: Self::Config, device: &Device) -> Result<Self, LabError>
    where
        Self: Sized;
    /// Advances one natural unit and reports this step's metrics.
    fn step(&mut self) -> Result<StepReport, LabError>;
    /// A snapshot for drawing.
    fn view(&self) -> Self::View;
    /// The config in force (knob changes included).
    fn config(&self) -> &Self::Config;
    /// The config in force, for [`DynLab::set_knob`] to replace after validating the change.
    fn config_mut(&mut self) -> &mut Self::Config;
    /// The live knobs: which config keys may change mid-run, with their labels and help.
    fn knobs() -> &'static [Knob]
    where
        Self: Sized;
    /// The metrics that a run's `summary.json` must carry for this config (the progress bar's
    /// key figures too).
    fn headline(config: &Self::Config) -> Vec<&'static str>
    where
        Self: Sized;

    /// Side effects of a knob change, called after the new config is in place (e.g. copying
    /// a value into a learner). An error puts the old config back.
    fn knob_changed(&mut self, key: &str) -> Result<(), LabError> {
        let _ = key;
        Ok(())
    }
    /// The value a knob shows when the lab computes it rather than the config holding it
    /// (e.g. a threshold chosen during the run while the config leaves it unset).
    fn knob_value(&self, key: &str) -> Option<KnobValue> {
        let _ = key;
        None
    }
    /// Carries out an action.
    fn act(&mut self, action: Self::Action) -> Result<ActionReport, LabError> {
        let _ = action;
        Err(LabError::Action("this lab takes no actions".into()))
    }
    /// How many steps a full run of this config takes, if the config implies one.
    fn planned_steps(&self) -> Option<u64> {
        None
    }
    /// Final, possibly expensive evaluation at the end of a run (e.g. on the whole test set).
    fn finish(&mut self) -> Result<StepReport, LabError> {
        Ok(StepReport::default())
    }
    /// Named curves and tables (written to `results.json`; drawn by panels and exports).
    fn results(&self) -> Results {
        Results::default()
    }
    /// Extra results a headless run writes beside `summary.json`, as `(file stem, JSON)` pairs
    /// (e.g. channel gains and each method's powers, for checking by another implementation).
    /// One named `summary` is not a file: its object's keys (strings such as which retriever
    /// ran) are added to `summary.json`, never replacing a key already there.
    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        Vec::new()
    }
    /// Optional checkpoint: the lab's whole state after the current step (model weights, e.g.
    /// with [`crate::checkpoint::Writer::module`], its RNG streams, its data cursor), so that
    /// a rewind can start from here instead of re-executing from step 0. The rule:
    ///
    /// - it holds everything later steps and evaluations read: the config in force (knob
    ///   changes made before the checkpoint are not applied again), the step counter, the data
    ///   order and cursor, every RNG stream, every model and its optimiser state, and whatever
    ///   a later metric depends on (e.g. a threshold learned so far); what only the view reads
    ///   may be left out if it refills by itself;
    /// - [`Lab::load_state`] is called on a lab freshly built from the run's original config,
    ///   and after it the same inputs must give the same metrics, bit for bit on the CPU
    ///   backend (`engine/tests/replay.rs` checks this for FF);
    /// - return `None` where the state cannot be saved exactly (e.g. on a GPU backend).
    ///
    /// The runner takes one every few hundred steps and keeps them within a memory budget.
    /// `None` (the default): rewinds re-execute from step 0.
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }
    /// Restores a [`Lab::save_state`] checkpoint into a freshly built lab of the same config.
    /// A checkpoint it cannot take whole is an error (the runner then rebuilds the lab and
    /// tries an older checkpoint, or re-executes from step 0).
    fn load_state(&mut self, state: &[u8]) -> Result<(), LabError> {
        let _ = state;
        Err(LabError::Compute("this lab keeps no checkpoints".into()))
    }
    /// For a lab whose view is costly to build and changes less often than it steps (e.g. a
    /// text view refreshed at each evaluation): a number that changes whenever [`Lab::view`]
    /// would return something different. While it stays the same the runner keeps the view on
    /// screen. `None` (the default) means unknown: the view is rebuilt after every step,
    /// knob change or action that reached the lab.
    fn view_version(&self) -> Option<u64> {
        None
    }
}

/// The object-safe face of a [`Lab`], used by the runner and the CLI.
pub trait DynLab: Send {
    /// See [`Lab::step`].
    fn step(&mut self) -> Result<StepReport, LabError>;
    /// See [`Lab::view`], boxed for downcasting.
    fn view(&self) -> AnyView;
    /// The live knobs with their controls, ranges and current values.
    fn knobs(&self) -> Vec<KnobSpec>;
    /// Changes a knob: the value is checked against the key's range, set in the config's TOML
    /// table, deserialised and validated as a whole config, and only then put in place.
    fn set_knob(&mut self, knob: &str, value: KnobValue) -> Result<(), LabError>;
    /// Carries out an action given as JSON (the serde form of the lab's `Action`).
    fn act(&mut self, action: &serde_json::Value) -> Result<ActionReport, LabError>;
    /// The config in force as a TOML table.
    fn config_table(&self) -> toml::Table;
    /// See [`Lab::planned_steps`].
    fn planned_steps(&self) -> Option<u64>;
    /// See [`Lab::finish`].
    fn finish(&mut self) -> Result<StepReport, LabError>;
    /// See [`Lab::results`].
    fn results(&self) -> Results;
    /// See [`Lab::artifacts`].
    fn artifacts(&self) -> Vec<(String, serde_json::Value)>;
    /// See [`Lab::view_version`].
    fn view_version(&self) -> Option<u64> {
        None
    }
    /// See [`Lab::save_state`].
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }
    /// See [`Lab::load_state`].
    fn load_state(&mut self, state: &[u8]) -> Result<(), LabError> {
        let _ = state;
        Err(LabError::Compute("this lab keeps no checkpoints".into()))
    }
}

impl<L: Lab> DynLab for L {
    fn step(&mut self) -> Result<StepReport, LabError> {
        Lab::step(self)
    }
    fn view(&self) -> AnyView {
        Arc::new(Lab::view(self))
    }
    fn knobs(&self) -> Vec<KnobSpec> {
        crate::knob::specs(Lab::config(self), L::knobs(), |k| Lab::knob_value(self, k))
    }
    fn set_knob(&mut self, knob: &str, value: KnobValue) -> Result<(), LabError> {
        let spec = DynLab::knobs(self)
            .into_iter()
            .find(|k| k.name == knob)
            .ok_or_else(|| LabError::Knob(knob.to_string(), "this lab has no such knob".into()))?;
        let value = spec.validate(value)?;
        let new = crate::knob::with_key(Lab::config(self), knob, &value)?;
        let old = std::mem::replace(Lab::config_mut(self), new);
        if let Err(e) = Lab::knob_changed(self, knob) {
            *Lab::config_mut(self) = old;
            return Err(e);
        }
        Ok(())
    }
    fn act(&mut self, action: &serde_json::Value) -> Result<ActionReport, LabError> {
        let typed: L::Action = serde_json::from_value(action.clone())
            .map_err(|e| LabError::Action(format!("{action}: {e}")))?;
        Lab::act(self, typed)
    }
    fn config_table(&self) -> toml::Table {
        toml::Table::try_from(Lab::config(self)).unwrap_or_default()
    }
    fn planned_steps(&self) -> Option<u64> {
        Lab::planned_steps(self)
    }
    fn finish(&mut self) -> Result<StepReport, LabError> {
        Lab::finish(self)
    }
    fn results(&self) -> Results {
        Lab::results(self)
    }
    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        Lab::artifacts(self)
    }
    fn view_version(&self) -> Option<u64> {
        Lab::view_version(self)
    }
    fn save_state(&self) -> Option<Vec<u8>> {
        Lab::save_state(self)
    }
    fn load_state(&mut self, state: &[u8]) -> Result<(), LabError> {
        Lab::load_state(self, state)
    }
}
