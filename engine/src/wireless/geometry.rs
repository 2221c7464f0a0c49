//! Where things are: one macro base station at the origin, small-cell access points inside its
//! cell, and one user per access point dropped at random with minimum distances.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// A position in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// East, metres.
    pub x: f64,
    /// North, metres.
    pub y: f64,
}

impl Point {
    /// Euclidean distance in metres.
    pub fn dist(&self, other: &Point) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}

/// Which path-loss law a transmitter's links follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    /// The macro base station (128.1 + 37.6 log10 d_km).
    Macro,
    /// A small-cell access point (140.7 + 36.7 log10 d_km).
    Small,
}

/// An access point (a transmitter serving one user per slot).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ap {
    /// Position.
    pub pos: Point,
    /// Macro or small cell.
    pub tier: Tier,
    /// Maximum transmit power, watts.
    pub max_power_w: f64,
}

/// Sizes and distances of a HetNet layout.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutConfig {
    /// Macro cell radius, metres.
    pub cell_radius_m: f64,
    /// Number of small-cell APs.
    pub n_small: usize,
    /// Small APs lie at least this far from the macro BS, metres.
    pub ap_min_from_macro_m: f64,
    /// Minimum distance between two small APs, metres.
    pub ap_min_separation_m: f64,
    /// A small-cell user lies within this distance of its AP, metres.
    pub small_cell_radius_m: f64,
    /// Minimum user distance from the macro BS, metres (applies to every user).
    pub user_min_from_macro_m: f64,
    /// Minimum user distance from its own small AP, metres.
    pub user_min_from_ap_m: f64,
    /// Macro BS maximum power, dBm.
    pub macro_power_dbm: f64,
    /// Small AP maximum power, dBm.
    pub small_power_dbm: f64,
}

impl Default for LayoutConfig {
    fn default() -> Self {
        LayoutConfig {
            cell_radius_m: 500.0,
            n_small: 4,
            ap_min_from_macro_m: 150.0,
            ap_min_separation_m: 120.0,
            small_cell_radius_m: 60.0,
            user_min_from_macro_m: 35.0,
            user_min_from_ap_m: 10.0,
            macro_power_dbm: 46.0,
            small_power_dbm: 30.0,
        }
    }
}

/// Uniform point in the annulus `r_min..r_max` around `centre` (uniform in area).
fn in_annulus(centre: Point, r_min: f64, r_max: f64, rng: &mut Rng) -> Point {
    let r = (r_min * r_min + rng.uniform() * (r_max * r_max - r_min * r_min)).sqrt();
    let a = 2.0 * std::f64::consts::PI * rng.uniform();
    Point {
        x: centre.x + r * a.cos(),
        y: centre.y + r * a.sin(),
    }
}

/// The macro BS at the origin (index 0) followed by `n_small` small APs placed uniformly in the
/// annulus between `ap_min_from_macro_m` and the cell edge minus a small-cell radius, by
/// rejection so that APs keep their minimum separation (relaxed if it cannot be met).
pub fn place_aps(cfg: &LayoutConfig, rng: &mut Rng) -> Vec<Ap> {
    let origin = Point { x: 0.0, y: 0.0 };
    let mut aps = vec![Ap {
        pos: origin,
        tier: Tier::Macro,
        max_power_w: crate::wireless::dbm_to_watt(cfg.macro_power_dbm),
    }];
    let r_max = (cfg.cell_radius_m - cfg.small_cell_radius_m).max(cfg.ap_min_from_macro_m);
    let mut sep = cfg.ap_min_separation_m;
    while aps.len() < 1 + cfg.n_small {
        let mut placed = false;
        for _ in 0..1000 {
            let p = in_annulus(origin, cfg.ap_min_from_macro_m, r_max, rng);
            if aps[1..].iter().all(|a| a.pos.dist(&p) >= sep) {
                aps.push(Ap {
                    pos: p,
                    tier: Tier::Small,
                    max_power_w: crate::wireless::dbm_to_watt(cfg.small_power_dbm),
                });
                placed = true;
                break;
            }
        }
        if !placed {
            // Too many APs for the separation: shrink it rather than loop forever.
            sep *= 0.8;
        }
    }
    aps
}

/// One user per AP: the macro user uniformly in the macro cell at least
/// `user_min_from_macro_m` from the BS; each small-cell user uniformly within
/// `small_cell_radius_m` of its AP, at least `user_min_from_ap_m` from it and at least
/// `user_min_from_macro_m` from the macro BS.
pub fn drop_users(cfg: &LayoutConfig, aps: &[Ap], rng: &mut Rng) -> Vec<Point> {
    let origin = Point { x: 0.0, y: 0.0 };
    aps.iter()
        .map(|ap| match ap.tier {
            Tier::Macro => in_annulus(ap.pos, cfg.user_min_from_macro_m, cfg.cell_radius_m, rng),
            Tier::Small => {
                let mut p =
                    in_annulus(ap.pos, cfg.user_min_from_ap_m, cfg.small_cell_radius_m, rng);
                for _ in 0..100 {
                    if p.dist(&origin) >= cfg.user_min_from_macro_m {
                        break;
                    }
                    p = in_annulus(ap.pos, cfg.user_min_from_ap_m, cfg.small_cell_radius_m, rng);
                }
                p
            }
        })
        .collect()
}
