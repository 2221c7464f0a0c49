//! A cell-free massive-MIMO drop and its cellular counterpart, in the standard construction of
//! Björnson & Sanguinetti's cell-free work (not any one paper's own equations):
//!
//! - `L` access points with `N` antennas each, uniformly in a `D × D` square with wrap-around
//!   (each AP sees the nearest of the nine periodic images of a client), against one cellular
//!   base station with `L·N` antennas at the centre of the same square (no wrap-around: it is one
//!   site);
//! - 3GPP urban-micro large-scale fading β [dB] = −30.5 − 36.7 log10(d / 1 m) + F, with
//!   log-normal shadowing F ~ N(0, σ²) drawn independently per link and `d` the 3-D distance
//!   including the antenna height;
//! - spatially correlated Rayleigh fading h ~ CN(0, R), R = β R̃ with R̃ from the local-scattering
//!   model of a half-wavelength uniform linear array with a Gaussian angular spread around the
//!   line-of-sight angle, in the small-spread closed form
//!   [R̃]_mn = exp(jπ(m−n) sin φ) · exp(−σ_φ²/2 · (π(m−n) cos φ)²)
//!   (Björnson, Hoydis & Sanguinetti, *Massive MIMO Networks*, 2017, eq. 2.24).
//!
//! Large-scale fading and the correlation matrices are fixed per drop; the small-scale fading
//! is redrawn by [`crate::wireless::estimation::draw`] every round.

use nalgebra::{DMatrix, DVector};
use num_complex::Complex64;

use crate::rng::Rng;
use crate::wireless::geometry::Point;

/// A complex scalar.
pub type C64 = Complex64;
/// A dense complex matrix.
pub type CMat = DMatrix<C64>;
/// A dense complex column vector.
pub type CVec = DVector<C64>;

/// Sizes and propagation constants of a drop.
#[derive(Debug, Clone, PartialEq)]
pub struct RadioConfig {
    /// Number of cell-free access points `L`.
    pub aps: usize,
    /// Antennas per AP `N` (the cellular BS has `L·N`).
    pub antennas: usize,
    /// Number of single-antenna clients `K`.
    pub clients: usize,
    /// Side of the square, metres.
    pub side_m: f64,
    /// Height of every AP and of the BS above the clients, metres.
    pub ap_height_m: f64,
    /// Shadowing standard deviation, dB.
    pub shadowing_db: f64,
    /// Angular standard deviation of the local-scattering model, degrees.
    pub asd_deg: f64,
    /// Bandwidth, Hz.
    pub bandwidth_hz: f64,
    /// Receiver noise figure, dB.
    pub noise_figure_db: f64,
}

impl RadioConfig {
    /// Receiver noise power over the band, watts: −174 dBm/Hz + 10 log10(W) + noise figure.
    pub fn noise_w(&self) -> f64 {
        let dbm = -174.0 + 10.0 * self.bandwidth_hz.log10() + self.noise_figure_db;
        crate::wireless::dbm_to_watt(dbm)
    }
}

/// One receive array (a cell-free AP or the cellular BS): each client's correlation matrix and
/// a square root of it, for drawing channels.
#[derive(Debug, Clone)]
pub struct Array {
    /// Position, metres.
    pub pos: Point,
    /// `R_k` per client (antennas × antennas), including the large-scale fading β_k.
    pub r: Vec<CMat>,
    /// `S_k` with `S_k S_kᴴ = R_k`, per client.
    pub sqrt_r: Vec<CMat>,
    /// β_k per client, linear.
    pub beta: Vec<f64>,
}

impl Array {
    /// Number of antennas.
    pub fn antennas(&self) -> usize {
        self.r.first().map_or(0, |m| m.nrows())
    }
}

/// A drop: positions, large-scale fading and correlation for every AP and for the BS.
#[derive(Debug, Clone)]
pub struct Drop {
    /// Client positions, metres.
    pub clients: Vec<Point>,
    /// The cell-free access points.
    pub aps: Vec<Array>,
    /// The cellular base station at the centre.
    pub bs: Array,
    /// Noise power per antenna over the band, watts.
    pub noise_w: f64,
}

/// 3GPP UMi large-scale fading in dB at a 3-D distance (clamped to 1 m), without shadowing.
pub fn umi_gain_db(d3_m: f64) -> f64 {
    -30.5 - 36.7 * d3_m.max(1.0).log10()
}

/// The offset from `from` to the nearest of the nine periodic images of `to` in a square of
/// side `side` (wrap-around).
pub fn wrapped_offset(from: Point, to: Point, side: f64) -> (f64, f64) {
    let mut best = (to.x - from.x, to.y - from.y);
    let mut best_d = f64::INFINITY;
    for sx in [-side, 0.0, side] {
        for sy in [-side, 0.0, side] {
            let (dx, dy) = (to.x + sx - from.x, to.y + sy - from.y);
            let d = dx * dx + dy * dy;
            if d < best_d {
                best_d = d;
                best = (dx, dy);
            }
        }
    }
    best
}

/// The normalised local-scattering correlation matrix R̃ of an `n`-antenna half-wavelength ULA
/// seeing a client at azimuth `angle` (radians) with angular spread `asd` (radians).
pub fn local_scattering(n: usize, angle: f64, asd: f64) -> CMat {
    let pi = std::f64::consts::PI;
    CMat::from_fn(n, n, |m, k| {
        let dist = m as f64 - k as f64;
        let phase = pi * dist * angle.sin();
        let spread = (-(asd * asd) / 2.0 * (pi * dist * angle.cos()).powi(2)).exp();
        C64::from_polar(spread, phase)
    })
}

/// A square root `S` with `S Sᴴ = R` of a Hermitian positive semi-definite matrix, through its
/// eigendecomposition (R̃ of a long array at a small angular spread is close to singular, where
/// a Cholesky factor would fail); negative round-off eigenvalues are clamped to zero.
pub fn psd_sqrt(r: &CMat) -> CMat {
    let eig = r.clone().symmetric_eigen();
    let n = r.nrows();
    let mut s = eig.eigenvectors.clone();
    for (j, &ev) in eig.eigenvalues.iter().enumerate() {
        let lam = C64::new(ev.max(0.0).sqrt(), 0.0);
        for i in 0..n {
            s[(i, j)] *= lam;
        }
    }
    s
}

/// The inverse of a Hermitian positive-definite matrix (Cholesky; LU if round-off breaks it).
pub fn hermitian_inverse(m: &CMat) -> CMat {
    match m.clone().cholesky() {
        Some(ch) => ch.inverse(),
        None => m
            .clone()
            .try_inverse()
            .unwrap_or_else(|| CMat::zeros(m.nrows(), m.ncols())),
    }
}

/// A circularly symmetric complex Gaussian sample with `E|z|² = var`.
pub fn cn(rng: &mut Rng, var: f64) -> C64 {
    let s = (var / 2.0).sqrt();
    C64::new(s * rng.normal(), s * rng.normal())
}

fn array_for(
    pos: Point,
    clients: &[Point],
    antennas: usize,
    cfg: &RadioConfig,
    wrap: bool,
    rng: &mut Rng,
) -> Array {
    let asd = cfg.asd_deg.to_radians();
    let mut r = Vec::with_capacity(clients.len());
    let mut sqrt_r = Vec::with_capacity(clients.len());
    let mut beta = Vec::with_capacity(clients.len());
    for &c in clients {
        let (dx, dy) = if wrap {
            wrapped_offset(pos, c, cfg.side_m)
        } else {
            (c.x - pos.x, c.y - pos.y)
        };
        let d3 = (dx * dx + dy * dy + cfg.ap_height_m * cfg.ap_height_m).sqrt();
        let db = umi_gain_db(d3) + cfg.shadowing_db * rng.normal();
        let b = crate::wireless::db_to_lin(db);
        let m = local_scattering(antennas, dy.atan2(dx), asd) * C64::new(b, 0.0);
        sqrt_r.push(psd_sqrt(&m));
        r.push(m);
        beta.push(b);
    }
    Array {
        pos,
        r,
        sqrt_r,
        beta,
    }
}

impl Drop {
    /// Drops the APs and the clients uniformly in the square and draws the large-scale fading
    /// of every AP–client and BS–client link.
    pub fn new(cfg: &RadioConfig, rng: &mut Rng) -> Drop {
        let point = |rng: &mut Rng| Point {
            x: rng.uniform() * cfg.side_m,
            y: rng.uniform() * cfg.side_m,
        };
        let ap_pos: Vec<Point> = (0..cfg.aps).map(|_| point(rng)).collect();
        let clients: Vec<Point> = (0..cfg.clients).map(|_| point(rng)).collect();
        let aps = ap_pos
            .iter()
            .map(|&p| array_for(p, &clients, cfg.antennas, cfg, true, rng))
            .collect();
        let centre = Point {
            x: cfg.side_m / 2.0,
            y: cfg.side_m / 2.0,
        };
        let bs = array_for(centre, &clients, cfg.aps * cfg.antennas, cfg, false, rng);
        Drop {
            clients,
            aps,
            bs,
            noise_w: cfg.noise_w(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_has_unit_diagonal_and_is_hermitian() {
        let r = local_scattering(6, 0.7, 10f64.to_radians());
        for i in 0..6 {
            assert!((r[(i, i)] - C64::new(1.0, 0.0)).norm() < 1e-12);
            for j in 0..6 {
                assert!((r[(i, j)] - r[(j, i)].conj()).norm() < 1e-12);
            }
        }
        let s = psd_sqrt(&r);
        let back = &s * s.adjoint();
        assert!((back - &r).norm() < 1e-9);
    }

    #[test]
    fn wrap_around_takes_the_nearest_image() {
        let (dx, dy) = wrapped_offset(
            Point { x: 10.0, y: 10.0 },
            Point { x: 390.0, y: 200.0 },
            400.0,
        );
        assert!((dx + 20.0).abs() < 1e-9 && (dy - 190.0).abs() < 1e-9);
    }

    #[test]
    fn noise_over_20_mhz_with_7_db_figure_is_minus_94_dbm() {
        let cfg = RadioConfig {
            aps: 1,
            antennas: 1,
            clients: 1,
            side_m: 100.0,
            ap_height_m: 10.0,
            shadowing_db: 4.0,
            asd_deg: 10.0,
            bandwidth_hz: 20e6,
            noise_figure_db: 7.0,
        };
        let dbm = 10.0 * (cfg.noise_w() * 1e3).log10();
        assert!((dbm + 94.0).abs() < 0.05, "{dbm}");
    }
}
