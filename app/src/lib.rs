//! The Trainscope application: the eframe shell ([`gui`]), the headless commands ([`cli`], [`race`]) and
//! file export ([`export`]). The binary `trainscope` is a thin wrapper over these.

pub mod bundle;
pub mod cli;
pub mod export;
pub mod figure;
pub mod gui;
pub mod peer;
pub mod race;
