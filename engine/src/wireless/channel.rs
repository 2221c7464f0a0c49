//! Channel gains: distance path loss per tier, log-normal shadowing, and Rayleigh fading that
//! evolves as a first-order Gauss–Markov process with Jakes correlation ρ = J0(2π f_d T).

use crate::rng::Rng;
use crate::wireless::geometry::{Ap, Point, Tier};

/// dBm to watts.
pub fn dbm_to_watt(dbm: f64) -> f64 {
    10f64.powf((dbm - 30.0) / 10.0)
}

/// Decibels to a linear ratio.
pub fn db_to_lin(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// A linear ratio to decibels (−300 dB for zero, so plots stay finite).
pub fn lin_to_db(x: f64) -> f64 {
    if x > 0.0 { 10.0 * x.log10() } else { -300.0 }
}

/// Path loss in dB of a link whose transmitter is of `tier`, at `d_m` metres (clamped to at
/// least 1 m so that the log stays finite): 128.1 + 37.6 log10(d_km) for the macro BS, 140.7 +
/// 36.7 log10(d_km) for small cells (3GPP HetNet values; see the research notes).
pub fn path_loss_db(tier: Tier, d_m: f64) -> f64 {
    let d_km = d_m.max(1.0) / 1000.0;
    match tier {
        Tier::Macro => 128.1 + 37.6 * d_km.log10(),
        Tier::Small => 140.7 + 36.7 * d_km.log10(),
    }
}

/// The Bessel function of the first kind, order zero.
///
/// Power series Σ (−1)^k (x/2)^{2k} / (k!)² for |x| ≤ 12 (terms stay below 1e4, so f64 keeps
/// about 12 correct digits), and Hankel's asymptotic expansion with four correction terms
/// beyond, where its error is below 1e-8.
pub fn bessel_j0(x: f64) -> f64 {
    let x = x.abs();
    if x <= 12.0 {
        let q = -(x * x) / 4.0;
        let mut term: f64 = 1.0;
        let mut sum: f64 = 1.0;
        let mut k = 1.0;
        while term.abs() > 1e-17 * sum.abs().max(1e-300) || k < 3.0 {
            term *= q / (k * k);
            sum += term;
            k += 1.0;
            if k > 200.0 {
                break;
            }
        }
        sum
    } else {
        // J0(x) ≈ sqrt(2/(πx)) (P cos χ − Q sin χ), χ = x − π/4.
        let z = 1.0 / (x * x);
        let p = 1.0 - 9.0 / 128.0 * z + 3675.0 / 32768.0 * z * z;
        let q = (-1.0 / 8.0 + 75.0 / 1024.0 * z - 59535.0 / 262144.0 * z * z) / x;
        let chi = x - std::f64::consts::FRAC_PI_4;
        (2.0 / (std::f64::consts::PI * x)).sqrt() * (p * chi.cos() - q * chi.sin())
    }
}

/// Jakes' slot-to-slot fading correlation ρ = J0(2π f_d T) for Doppler `doppler_hz` and slot
/// length `slot_s`.
pub fn jakes_rho(doppler_hz: f64, slot_s: f64) -> f64 {
    bessel_j0(2.0 * std::f64::consts::PI * doppler_hz * slot_s)
}

/// A square matrix of power gains: `get(rx, tx)` is the gain from transmitter `tx` to the
/// receiver (user) of link `rx`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gains {
    /// Number of links.
    pub n: usize,
    /// Row-major: `g[rx * n + tx]`.
    pub g: Vec<f64>,
}

impl Gains {
    /// An `n × n` matrix from row-major values (`rows[rx][tx]`).
    pub fn from_rows(rows: &[Vec<f64>]) -> Gains {
        let n = rows.len();
        Gains {
            n,
            g: rows.iter().flat_map(|r| r.iter().copied()).collect(),
        }
    }

    /// Gain from `tx` to the receiver of link `rx`.
    pub fn get(&self, rx: usize, tx: usize) -> f64 {
        self.g[rx * self.n + tx]
    }

    /// Rows as nested vectors (for JSON).
    pub fn rows(&self) -> Vec<Vec<f64>> {
        self.g.chunks(self.n.max(1)).map(|r| r.to_vec()).collect()
    }

    /// Large-scale gains (path loss and shadowing, no fading) between every AP and every user:
    /// link `k` is AP `k` serving user `k`. Shadowing is an independent N(0, σ²) dB draw per
    /// AP–user pair.
    pub fn large_scale(aps: &[Ap], users: &[Point], shadowing_db: f64, rng: &mut Rng) -> Gains {
        let n = aps.len();
        let mut g = vec![0.0; n * n];
        for (rx, u) in users.iter().enumerate() {
            for (tx, ap) in aps.iter().enumerate() {
                let loss = path_loss_db(ap.tier, ap.pos.dist(u)) + shadowing_db * rng.normal();
                g[rx * n + tx] = db_to_lin(-loss);
            }
        }
        Gains { n, g }
    }

    /// Element-wise product with the fading power gains |h|².
    pub fn with_fading(&self, fading: &Fading) -> Gains {
        Gains {
            n: self.n,
            g: self
                .g
                .iter()
                .zip(&fading.h)
                .map(|(&g, &(re, im))| g * (re * re + im * im))
                .collect(),
        }
    }
}

/// Unit-power Rayleigh fading of every link, correlated in time:
/// h(t) = ρ h(t−1) + sqrt(1 − ρ²) e(t) with h, e ~ CN(0, 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Fading {
    /// Complex coefficients (re, im), row-major like [`Gains`].
    pub h: Vec<(f64, f64)>,
    /// Slot-to-slot correlation.
    pub rho: f64,
}

fn cn(rng: &mut Rng) -> (f64, f64) {
    let s = std::f64::consts::FRAC_1_SQRT_2;
    (s * rng.normal(), s * rng.normal())
}

impl Fading {
    /// Fresh independent CN(0, 1) coefficients for `n × n` links.
    pub fn new(n: usize, rho: f64, rng: &mut Rng) -> Fading {
        Fading {
            h: (0..n * n).map(|_| cn(rng)).collect(),
            rho,
        }
    }

    /// Advances one slot.
    pub fn evolve(&mut self, rng: &mut Rng) {
        let a = self.rho;
        let b = (1.0 - a * a).max(0.0).sqrt();
        for h in &mut self.h {
            let e = cn(rng);
            *h = (a * h.0 + b * e.0, a * h.1 + b * e.1);
        }
    }
}
