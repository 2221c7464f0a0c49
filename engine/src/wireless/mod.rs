//! A shared wireless core: HetNet geometry, path loss, shadowing, Jakes-correlated Rayleigh
//! fading, SINR and rates, and the centralised power-allocation baselines (WMMSE, FP, max power,
//! random) that learning labs are measured against.
//!
//! Plain `f64` Rust: these are small dense problems (tens of links) where tensor overhead would
//! dominate, and tests compare them with brute-force searches that need exact arithmetic.

pub mod alloc;
pub mod channel;
pub mod geometry;

pub use alloc::{
    Solution, drop_one_starts, fp, fp_from, grid_search, max_power, multi_start, random_power,
    rates, sinr, sum_rate, wmmse, wmmse_from,
};
pub use channel::{
    Fading, Gains, bessel_j0, db_to_lin, dbm_to_watt, jakes_rho, lin_to_db, path_loss_db,
};
pub use geometry::{Ap, LayoutConfig, Point, Tier, drop_users, place_aps};

// Shen's D2D layouts and the K-user Gaussian interference channel (the GNN lab).
pub mod d2d;
pub use d2d::{D2dLayout, D2dParams, drop_layout, gaussian_ic, greedy_activation, layout_gains};

// Cell-free massive MIMO and over-the-air aggregation (the OTA-FL lab).
pub mod aircomp;
pub mod cellfree;
pub mod estimation;
