//! Device-to-device layouts (the geometry of Shen et al.'s GNN power-control code, which follows
//! Cui, Shen & Yu's spatial-deep-learning set-up) and the K-user Gaussian interference channel
//! of that code's first experiment, plus a greedy link-activation rule as a baseline.
//!
//! A D2D layout is K transmitter–receiver pairs in a square field: each transmitter uniform in
//! the field, its receiver at a distance uniform in `[d_min, d_max]` in a uniform direction
//! (redrawn until it falls inside the field). Gains are dual-slope path loss with its
//! breakpoint, 8 dB log-normal shadowing and Rayleigh fading, one independent draw per
//! transmitter–receiver pair. The field's side is `sqrt(area_per_link · K)`, so that the density
//! of links stays the same when K changes (the generalisation test of the code).

use crate::rng::Rng;
use crate::wireless::alloc::sum_rate;
use crate::wireless::channel::{Gains, db_to_lin, dbm_to_watt};
use crate::wireless::geometry::Point;

/// The radio and geometry settings of a D2D layout (defaults: the values of Shen's code).
#[derive(Debug, Clone, PartialEq)]
pub struct D2dParams {
    /// Field area per link, m² (1000 m × 1000 m for 50 links = 20,000).
    pub area_per_link_m2: f64,
    /// Shortest direct-link distance, metres.
    pub d_min_m: f64,
    /// Longest direct-link distance, metres.
    pub d_max_m: f64,
    /// Carrier frequency, Hz.
    pub carrier_hz: f64,
    /// Bandwidth, Hz.
    pub bandwidth_hz: f64,
    /// Transmit power of every link, dBm.
    pub tx_power_dbm: f64,
    /// Noise power spectral density, dBm/Hz.
    pub noise_dbm_per_hz: f64,
    /// Antenna gain on the direct links, dB.
    pub antenna_gain_db: f64,
    /// Transmitter and receiver antenna height, metres.
    pub height_m: f64,
    /// Log-normal shadowing standard deviation, dB.
    pub shadowing_db: f64,
}

impl Default for D2dParams {
    fn default() -> Self {
        D2dParams {
            area_per_link_m2: 20_000.0,
            d_min_m: 2.0,
            d_max_m: 65.0,
            carrier_hz: 2.4e9,
            bandwidth_hz: 5e6,
            tx_power_dbm: 40.0,
            noise_dbm_per_hz: -169.0,
            antenna_gain_db: 2.5,
            height_m: 1.5,
            shadowing_db: 8.0,
        }
    }
}

impl D2dParams {
    /// Side of the square field for `k` links, metres.
    pub fn side_m(&self, k: usize) -> f64 {
        (self.area_per_link_m2 * k as f64).sqrt()
    }

    /// Maximum transmit power, watts.
    pub fn pmax_w(&self) -> f64 {
        dbm_to_watt(self.tx_power_dbm)
    }

    /// Noise power over the band, watts.
    pub fn noise_w(&self) -> f64 {
        dbm_to_watt(self.noise_dbm_per_hz + 10.0 * self.bandwidth_hz.log10())
    }

    /// Dual-slope path loss in dB at `d_m` metres (at least 1 m): with wavelength λ, breakpoint
    /// R_bp = 4 h₁h₂/λ and L_bp = |20 log10(λ² / (8π h₁h₂))|, the loss is
    /// L_bp + 6 + 20 log10(d / R_bp), with the distance term doubled beyond the breakpoint.
    pub fn path_loss_db(&self, d_m: f64) -> f64 {
        let lambda = 2.998e8 / self.carrier_hz;
        let h2 = self.height_m * self.height_m;
        let r_bp = 4.0 * h2 / lambda;
        let l_bp = (20.0 * (lambda * lambda / (8.0 * std::f64::consts::PI * h2)).log10()).abs();
        let term = 20.0 * (d_m.max(1.0) / r_bp).log10();
        l_bp + 6.0 + term + if d_m > r_bp { term } else { 0.0 }
    }
}

/// One D2D network: link `k` is transmitter `tx[k]` serving receiver `rx[k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct D2dLayout {
    /// Side of the square field, metres (corner at the origin).
    pub side_m: f64,
    /// Transmitter positions.
    pub tx: Vec<Point>,
    /// Receiver positions.
    pub rx: Vec<Point>,
}

impl D2dLayout {
    /// Number of links.
    pub fn k(&self) -> usize {
        self.tx.len()
    }

    /// Distance from transmitter `tx` to the receiver of link `rx`, metres.
    pub fn dist(&self, rx: usize, tx: usize) -> f64 {
        self.rx[rx].dist(&self.tx[tx])
    }
}

/// Drops `k` links in a field sized for their density.
pub fn drop_layout(params: &D2dParams, k: usize, rng: &mut Rng) -> D2dLayout {
    let side = params.side_m(k);
    let mut tx = Vec::with_capacity(k);
    let mut rx = Vec::with_capacity(k);
    for _ in 0..k {
        let t = Point {
            x: side * rng.uniform(),
            y: side * rng.uniform(),
        };
        // Redraw the receiver until it lies in the field (a few tries at most: d_max ≪ side).
        let mut r = t;
        for _ in 0..1000 {
            let d = params.d_min_m + (params.d_max_m - params.d_min_m) * rng.uniform();
            let a = 2.0 * std::f64::consts::PI * rng.uniform();
            r = Point {
                x: t.x + d * a.cos(),
                y: t.y + d * a.sin(),
            };
            if (0.0..=side).contains(&r.x) && (0.0..=side).contains(&r.y) {
                break;
            }
        }
        tx.push(t);
        rx.push(r);
    }
    D2dLayout {
        side_m: side,
        tx,
        rx,
    }
}

/// Power gains of a layout: path loss (antenna gain on the direct links only), an independent
/// log-normal shadowing draw and an independent Rayleigh fading draw |h|², h ~ CN(0, 1), per
/// transmitter–receiver pair.
pub fn layout_gains(params: &D2dParams, layout: &D2dLayout, rng: &mut Rng) -> Gains {
    let k = layout.k();
    let mut g = vec![0.0; k * k];
    for rx in 0..k {
        for tx in 0..k {
            let mut db = -params.path_loss_db(layout.dist(rx, tx));
            if rx == tx {
                db += params.antenna_gain_db;
            }
            db += params.shadowing_db * rng.normal();
            let (re, im) = (rng.normal(), rng.normal());
            g[rx * k + tx] = db_to_lin(db) * (re * re + im * im) / 2.0;
        }
    }
    Gains { n: k, g }
}

/// The K-user Gaussian interference channel: power gains |h|² with h ~ CN(0, 1) on every
/// transmitter–receiver pair (direct links included), as in the first experiment of Shen's code.
pub fn gaussian_ic(k: usize, rng: &mut Rng) -> Gains {
    let g = (0..k * k)
        .map(|_| {
            let (re, im) = (rng.normal(), rng.normal());
            (re * re + im * im) / 2.0
        })
        .collect();
    Gains { n: k, g }
}

/// Greedy link activation: links in order of decreasing direct gain, each switched on at full
/// power when that raises the sum rate (and left off otherwise). At least the strongest link
/// is on.
pub fn greedy_activation(g: &Gains, pmax: &[f64], noise: f64) -> Vec<f64> {
    let k = g.n;
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| g.get(b, b).total_cmp(&g.get(a, a)));
    let mut p = vec![0.0; k];
    let mut best = 0.0;
    for (n, &i) in order.iter().enumerate() {
        p[i] = pmax[i];
        let r = sum_rate(g, &p, noise);
        if r > best || n == 0 {
            best = r;
        } else {
            p[i] = 0.0;
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wireless::alloc::grid_search;

    #[test]
    fn path_loss_has_its_breakpoint_and_slopes() {
        let p = D2dParams::default();
        let lambda: f64 = 2.998e8 / 2.4e9;
        let r_bp: f64 = 4.0 * 1.5 * 1.5 / lambda;
        assert!((r_bp - 72.05).abs() < 0.1, "{r_bp}");
        // 20 dB per decade below the breakpoint, 40 beyond it.
        let below = p.path_loss_db(20.0) - p.path_loss_db(2.0);
        let above = p.path_loss_db(7000.0) - p.path_loss_db(700.0);
        assert!((below - 20.0).abs() < 1e-9, "{below}");
        assert!((above - 40.0).abs() < 1e-9, "{above}");
        // Continuous at the breakpoint; about 77 dB there.
        let at = p.path_loss_db(r_bp);
        assert!((p.path_loss_db(r_bp + 1e-6) - at).abs() < 1e-3);
        assert!((at - 77.2).abs() < 0.2, "{at}");
    }

    #[test]
    fn layouts_keep_density_and_link_lengths() {
        let p = D2dParams::default();
        let mut rng = Rng::new(4);
        for k in [10, 50, 200] {
            let l = drop_layout(&p, k, &mut rng);
            assert_eq!(l.k(), k);
            assert!((l.side_m * l.side_m / k as f64 - 20_000.0).abs() < 1e-6);
            for i in 0..k {
                let d = l.dist(i, i);
                assert!((2.0 - 1e-9..=65.0 + 1e-9).contains(&d), "{d}");
                assert!(l.rx[i].x >= 0.0 && l.rx[i].x <= l.side_m);
            }
        }
        // 50 links in 1000 m × 1000 m, as in the code.
        assert!((p.side_m(50) - 1000.0).abs() < 1e-9);
        // The noise floor over 5 MHz is −102 dBm.
        assert!((crate::wireless::lin_to_db(p.noise_w()) + 30.0 + 102.01).abs() < 0.01);
    }

    #[test]
    fn shadowing_and_fading_have_their_spread() {
        // With the path loss fixed, 10 log10 of the gains has the shadowing's 8 dB spread plus
        // the fading's (5.57 dB for |CN(0,1)|²): about sqrt(64 + 31) ≈ 9.7 dB.
        let p = D2dParams::default();
        let layout = D2dLayout {
            side_m: 100.0,
            tx: vec![Point { x: 0.0, y: 0.0 }; 60],
            rx: vec![Point { x: 50.0, y: 0.0 }; 60],
        };
        let g = layout_gains(&p, &layout, &mut Rng::new(2));
        let db: Vec<f64> = g.g.iter().map(|&x| 10.0 * x.log10()).collect();
        let m = db.iter().sum::<f64>() / db.len() as f64;
        let sd = (db.iter().map(|x| (x - m).powi(2)).sum::<f64>() / db.len() as f64).sqrt();
        assert!((sd - 9.75).abs() < 0.4, "{sd}");
    }

    #[test]
    fn greedy_is_sound_on_a_two_link_channel() {
        // Two links that jam each other: one on beats both on; greedy keeps the stronger.
        let g = Gains::from_rows(&[vec![10.0, 8.0], vec![8.0, 5.0]]);
        let p = greedy_activation(&g, &[1.0, 1.0], 0.1);
        assert_eq!(p, vec![1.0, 0.0]);
        let (_, best) = grid_search(&g, &[1.0, 1.0], 0.1, 11);
        assert!(sum_rate(&g, &p, 0.1) <= best + 1e-12);
        // Two links far apart: both on.
        let g = Gains::from_rows(&[vec![10.0, 0.01], vec![0.01, 5.0]]);
        assert_eq!(greedy_activation(&g, &[1.0, 1.0], 0.1), vec![1.0, 1.0]);
        let g = gaussian_ic(5, &mut Rng::new(1));
        assert_eq!(g.n, 5);
        assert!(g.g.iter().all(|&x| x >= 0.0));
    }
}
