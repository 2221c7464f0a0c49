//! Datasets: loaders with validation and tests.

pub mod idx;
pub mod mnist;
pub mod text;
