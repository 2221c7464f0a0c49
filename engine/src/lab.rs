//! The Lab contract: the one extension point of the engine.
//!
//! A lab owns its model, data and random state and advances in steps of its natural unit (a
//! batch for Forward-Forward). The runner and the CLI only ever see the type-erased [`DynLab`];
//! panels downcast the [`AnyView`] snapshot to the lab's own view type.

use std::any::Any;
use std::sync::Arc;

use burn::tensor::Device;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::LabError;

/// A value for a live knob.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum KnobValue {
    /// A boolean switch.
    Bool(bool),
    /// An integer setting.
    Int(i64),
    /// A real-valued setting.
    Float(f64),
    /// One of a fixed set of choices.
    Choice(String),
    /// Free text (a [`KnobKind::Text`] knob; a bare string deserialises as `Choice` and is
    /// converted by [`KnobSpec::validate`]).
    Text(String),
}

impl KnobValue {
    /// The value as a float, if it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            KnobValue::Int(i) => Some(*i as f64),
            KnobValue::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl std::fmt::Display for KnobValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KnobValue::Bool(b) => write!(f, "{b}"),
            KnobValue::Int(i) => write!(f, "{i}"),
            KnobValue::Float(x) => write!(f, "{x:.4}"),
            KnobValue::Choice(s) | KnobValue::Text(s) => write!(f, "{s}"),
        }
    }
}

/// What kind of control a knob wants and its legal range.
#[derive(Debug, Clone, PartialEq)]
pub enum KnobKind {
    /// A real value in `[min, max]`, on a log scale when `log` is set.
    Float {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
        /// Whether a slider should move logarithmically.
        log: bool,
    },
    /// An integer in `[min, max]`.
    Int {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// A boolean switch.
    Bool,
    /// One of these choices.
    Choice(Vec<String>),
    /// Free text of at most `max_len` characters (e.g. a question typed to a dialogue agent).
    Text {
        /// Longest accepted text, in characters.
        max_len: usize,
    },
}

/// A knob the user can turn while the lab runs.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobSpec {
    /// The config key it changes (also the name used by `set_knob`).
    pub name: String,
    /// Short label for the UI.
    pub label: String,
    /// One sentence on what it does.
    pub help: String,
    /// Control type and range.
    pub kind: KnobKind,
    /// Current value.
    pub value: KnobValue,
}

impl KnobSpec {
    /// A real-valued knob in `[min, max]` (log-scaled slider when `log`), currently `value`.
    pub fn float(
        name: &str,
        label: &str,
        help: &str,
        min: f64,
        max: f64,
        log: bool,
        value: f64,
    ) -> KnobSpec {
        KnobSpec {
            name: name.into(),
            label: label.into(),
            help: help.into(),
            kind: KnobKind::Float { min, max, log },
            value: KnobValue::Float(value),
        }
    }

    /// Checks `value` against this knob's kind and range, converting ints to floats where a
    /// float is wanted.
    pub fn validate(&self, value: KnobValue) -> Result<KnobValue, LabError> {
        let bad = |msg: String| LabError::Knob(self.name.clone(), msg);
        match (&self.kind, value) {
            (KnobKind::Float { min, max, .. }, v) => {
                let x = v
                    .as_f64()
                    .ok_or_else(|| bad(format!("expected a number, got {v}")))?;
                if !x.is_finite() || x < *min || x > *max {
                    return Err(bad(format!("{x} is outside [{min}, {max}]")));
                }
                Ok(KnobValue::Float(x))
            }
            (KnobKind::Int { min, max }, KnobValue::Int(i)) => {
                if i < *min || i > *max {
                    return Err(bad(format!("{i} is outside [{min}, {max}]")));
                }
                Ok(KnobValue::Int(i))
            }
            (KnobKind::Bool, KnobValue::Bool(b)) => Ok(KnobValue::Bool(b)),
            (KnobKind::Choice(options), KnobValue::Choice(s)) => {
                if options.contains(&s) {
                    Ok(KnobValue::Choice(s))
                } else {
                    Err(bad(format!("`{s}` is not one of {options:?}")))
                }
            }
            (KnobKind::Text { max_len }, KnobValue::Text(s) | KnobValue::Choice(s)) => {
                if s.chars().count() > *max_len {
                    Err(bad(format!("text longer than {max_len} characters")))
                } else {
                    Ok(KnobValue::Text(s))
                }
            }
            (kind, v) => Err(bad(format!("value {v} does not fit a {kind:?} knob"))),
        }
    }
}

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

/// A lab's snapshot for drawing, type-erased; panels downcast it to the lab's view type.
pub type AnyView = Arc<dyn Any + Send + Sync>;

/// The typed contract each lab implements.
pub trait Lab: Send + 'static {
    /// The lab's configuration: a TOML table in presets, including `seed`.
    type Config: Serialize + DeserializeOwned + Default + Clone + Send + 'static;
    /// Owned data the panel draws; cheap to clone.
    type View: Clone + Send + Sync + 'static;

    /// Builds the lab: loads data, initialises the model from the config's seed.
    fn new(config: Self::Config, device: &Device) -> Result<Self, LabError>
    where
        Self: Sized;
    /// Range and consistency checks of a config, without loading data or building a model.
    fn validate(config: &Self::Config) -> Result<(), LabError>
    where
        Self: Sized,
    {
        let _ = config;
        Ok(())
    }
    /// Advances one natural unit and reports this step's metrics.
    fn step(&mut self) -> Result<StepReport, LabError>;
    /// A snapshot for drawing.
    fn view(&self) -> Self::View;
    /// The knobs and their current values.
    fn knobs(&self) -> Vec<KnobSpec>;
    /// Changes a knob while the lab runs.
    fn set_knob(&mut self, knob: &str, value: KnobValue) -> Result<(), LabError>;
    /// How many steps a full run of this config takes, if the config implies one.
    fn planned_steps(&self) -> Option<u64> {
        None
    }
    /// Final, possibly expensive evaluation at the end of a run (e.g. on the whole test set).
    fn finish(&mut self) -> Result<StepReport, LabError> {
        Ok(StepReport::default())
    }
    /// Extra results a headless run writes beside `summary.json`, as `(file stem, JSON)` pairs
    /// (e.g. channel gains and each method's powers, for checking by another implementation).
    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        Vec::new()
    }
    /// Metrics that the latest [`Lab::set_knob`] calls produced (e.g. a model retrained on
    /// the user's feedback), handed over once; the runner records them at the current step.
    /// A knob change is not a step, so this is how its results reach the charts.
    fn take_knob_metrics(&mut self) -> StepReport {
        StepReport::default()
    }
    /// For a lab whose view is costly to build and changes less often than it steps (e.g. a
    /// text view refreshed at each evaluation): a number that changes whenever [`Lab::view`]
    /// would return something different. While it stays the same the runner keeps the view on
    /// screen. `None` (the default) means unknown: the view is rebuilt after every step or
    /// command that reached the lab.
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
    /// See [`Lab::knobs`].
    fn knobs(&self) -> Vec<KnobSpec>;
    /// See [`Lab::set_knob`]; validates the value against the knob's spec first.
    fn set_knob(&mut self, knob: &str, value: KnobValue) -> Result<(), LabError>;
    /// See [`Lab::planned_steps`].
    fn planned_steps(&self) -> Option<u64>;
    /// See [`Lab::finish`].
    fn finish(&mut self) -> Result<StepReport, LabError>;
    /// See [`Lab::artifacts`].
    fn artifacts(&self) -> Vec<(String, serde_json::Value)>;
    /// See [`Lab::take_knob_metrics`].
    fn take_knob_metrics(&mut self) -> StepReport;
    /// See [`Lab::view_version`].
    fn view_version(&self) -> Option<u64> {
        None
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
        Lab::knobs(self)
    }
    fn set_knob(&mut self, knob: &str, value: KnobValue) -> Result<(), LabError> {
        let spec = Lab::knobs(self)
            .into_iter()
            .find(|k| k.name == knob)
            .ok_or_else(|| LabError::Knob(knob.to_string(), "this lab has no such knob".into()))?;
        let value = spec.validate(value)?;
        Lab::set_knob(self, knob, value)
    }
    fn planned_steps(&self) -> Option<u64> {
        Lab::planned_steps(self)
    }
    fn finish(&mut self) -> Result<StepReport, LabError> {
        Lab::finish(self)
    }
    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        Lab::artifacts(self)
    }
    fn take_knob_metrics(&mut self) -> StepReport {
        Lab::take_knob_metrics(self)
    }
    fn view_version(&self) -> Option<u64> {
        Lab::view_version(self)
    }
}
