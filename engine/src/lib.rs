//! Trainscope's engine: the Lab contract, the runner thread, presets, metric series, backend
//! selection, datasets and the labs themselves. Nothing here knows about any GUI.

pub mod assets;
pub mod backend;
pub mod data;
pub mod error;
pub mod lab;
pub mod labs;
pub mod nn;
pub mod preset;
pub mod rng;
pub mod runner;
pub mod series;
pub mod testing;
pub mod wireless;

pub use backend::{Backend, BackendChoice};
pub use error::{LabError, panic_text};
pub use lab::{AnyView, DynLab, KnobKind, KnobSpec, KnobValue, Lab, StepReport};
pub use preset::Preset;
pub use runner::{Command, RunState, Runner, Status};
pub use series::SeriesStore;

/// Re-exported so that the app and tests can name devices without depending on burn directly.
pub use burn::tensor::Device;
