//! Trainscope's engine: the Lab contract, the runner thread, presets, metric series, backend
//! selection, datasets and the labs themselves. Nothing here knows about any GUI.

pub mod assets;
pub mod backend;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod knob;
pub mod lab;
pub mod labs;
pub mod lesson;
pub mod lm;
pub mod logstream;
pub mod nn;
pub mod preset;
pub mod results;
pub mod rng;
pub mod runlog;
pub mod runner;
pub mod scoreboard;
pub mod series;
pub mod testing;
pub mod wireless;

pub use backend::{Backend, BackendChoice};
pub use error::{LabError, panic_text};
pub use lab::{
    ActionReport, AnyView, DynLab, Knob, KnobKind, KnobSpec, KnobValue, Lab, LabConfig, NoAction,
    Range, StepReport,
};
pub use preset::Preset;
pub use results::Results;
pub use runlog::{Curves, EventKind, RunLog};
pub use runner::{Command, RunState, Runner, Status};
pub use series::SeriesStore;

/// Re-exported so that the app and tests can name devices without depending on burn directly.
pub use burn::tensor::Device;
