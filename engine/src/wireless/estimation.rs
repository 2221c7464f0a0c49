//! Pilot-based MMSE channel estimation with pilot contamination.
//!
//! `τ_p` orthogonal pilots; client `k` uses pilot `t_k` (clients sharing a pilot contaminate
//! each other's estimates). After correlating with pilot `t`, array `l` observes
//!   y_tl = Σ_{i: t_i = t} √(τ_p p_p) h_il + n_tl,   n_tl ~ CN(0, σ² I),
//! and the MMSE estimate and its error covariance are
//!   ĥ_kl = √(τ_p p_p) R_kl Ψ_tl⁻¹ y_tl,   Ψ_tl = Σ_{i: t_i = t} τ_p p_p R_il + σ² I,
//!   C_kl = E[(h − ĥ)(h − ĥ)ᴴ] = R_kl − τ_p p_p R_kl Ψ_tl⁻¹ R_kl.
//! The error covariances are kept because the MMSE combiners use them.

use crate::rng::Rng;
use crate::wireless::cellfree::{Array, C64, CMat, CVec, cn, hermitian_inverse};

/// The MMSE estimator of one array for every client.
#[derive(Debug, Clone)]
pub struct Estimator {
    /// Pilot index of each client.
    pub pilot_of: Vec<usize>,
    /// √(τ_p p_p), the pilot amplitude after despreading.
    pub amp: f64,
    /// `A_k = √(τ_p p_p) R_k Ψ_{t_k}⁻¹`, so that ĥ_k = A_k y_{t_k}.
    pub a: Vec<CMat>,
    /// Estimation-error covariance `C_k`.
    pub c: Vec<CMat>,
}

/// The pilot of each of `clients` clients with `tau_p` pilots: client `k` takes pilot
/// `k mod τ_p`, so contamination appears exactly when `K > τ_p`.
pub fn pilot_assignment(clients: usize, tau_p: usize) -> Vec<usize> {
    (0..clients).map(|k| k % tau_p.max(1)).collect()
}

impl Estimator {
    /// The estimator of `array` for pilots `pilot_of` (of `tau_p`), pilot power `p_pilot_w`
    /// and noise power `noise_w`.
    pub fn new(
        array: &Array,
        pilot_of: &[usize],
        tau_p: usize,
        p_pilot_w: f64,
        noise_w: f64,
    ) -> Estimator {
        let n = array.antennas();
        let tp = tau_p as f64 * p_pilot_w;
        let amp = tp.sqrt();
        let mut psi_inv = Vec::with_capacity(tau_p);
        for t in 0..tau_p {
            let mut psi = CMat::identity(n, n) * C64::new(noise_w, 0.0);
            for (i, r) in array.r.iter().enumerate() {
                if pilot_of[i] == t {
                    psi += r * C64::new(tp, 0.0);
                }
            }
            psi_inv.push(hermitian_inverse(&psi));
        }
        let mut a = Vec::with_capacity(array.r.len());
        let mut c = Vec::with_capacity(array.r.len());
        for (k, r) in array.r.iter().enumerate() {
            let rp = r * &psi_inv[pilot_of[k]];
            c.push(r - &rp * r * C64::new(tp, 0.0));
            a.push(rp * C64::new(amp, 0.0));
        }
        Estimator {
            pilot_of: pilot_of.to_vec(),
            amp,
            a,
            c,
        }
    }
}

/// One round's channels at one array: the true channels and the estimates, per client.
#[derive(Debug, Clone)]
pub struct ArrayDraw {
    /// True channels `h_k`.
    pub h: Vec<CVec>,
    /// MMSE estimates `ĥ_k`.
    pub hhat: Vec<CVec>,
}

/// Draws this round's small-scale fading h_k = S_k w_k (w_k ~ CN(0, I)) at `array`, sends the
/// pilots through it with fresh noise and forms every client's MMSE estimate.
pub fn draw(array: &Array, est: &Estimator, noise_w: f64, rng: &mut Rng) -> ArrayDraw {
    let n = array.antennas();
    let h: Vec<CVec> = array
        .sqrt_r
        .iter()
        .map(|s| s * CVec::from_fn(n, |_, _| cn(rng, 1.0)))
        .collect();
    let tau_p = est.pilot_of.iter().copied().max().map_or(0, |m| m + 1);
    let mut y: Vec<CVec> = (0..tau_p)
        .map(|_| CVec::from_fn(n, |_, _| cn(rng, noise_w)))
        .collect();
    for (k, hk) in h.iter().enumerate() {
        y[est.pilot_of[k]] += hk * C64::new(est.amp, 0.0);
    }
    let hhat = est
        .a
        .iter()
        .zip(&est.pilot_of)
        .map(|(a, &t)| a * &y[t])
        .collect();
    ArrayDraw { h, hhat }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wireless::cellfree::{local_scattering, psd_sqrt};
    use crate::wireless::geometry::Point;

    fn toy_array() -> Array {
        // Three clients on a 3-antenna array with different angles and gains.
        let specs = [(0.3, 1.0), (-0.8, 0.5), (1.1, 2.0)];
        let r: Vec<CMat> = specs
            .iter()
            .map(|&(ang, b)| local_scattering(3, ang, 0.3) * C64::new(b, 0.0))
            .collect();
        Array {
            pos: Point { x: 0.0, y: 0.0 },
            sqrt_r: r.iter().map(psd_sqrt).collect(),
            beta: specs.iter().map(|s| s.1).collect(),
            r,
        }
    }

    /// The empirical error covariance of the estimates matches C_k, with two clients sharing a
    /// pilot (contamination) and one alone.
    #[test]
    fn mmse_error_matches_its_theoretical_covariance() {
        let array = toy_array();
        let pilots = pilot_assignment(3, 2); // clients 0 and 2 share pilot 0
        let noise = 0.4;
        let est = Estimator::new(&array, &pilots, 2, 0.5, noise);
        let mut rng = Rng::new(7);
        let trials = 40_000;
        let mut emp = vec![CMat::zeros(3, 3); 3];
        let mut cross = CMat::zeros(3, 3);
        for _ in 0..trials {
            let d = draw(&array, &est, noise, &mut rng);
            for (k, em) in emp.iter_mut().enumerate() {
                let e = &d.h[k] - &d.hhat[k];
                *em += &e * e.adjoint();
                if k == 0 {
                    cross += &e * d.hhat[k].adjoint();
                }
            }
        }
        for (k, em) in emp.iter().enumerate() {
            let emp_k = em / C64::new(trials as f64, 0.0);
            let scale = est.c[k].norm();
            let err = (&emp_k - &est.c[k]).norm() / scale;
            assert!(err < 0.03, "client {k}: relative error {err}");
            // The error is never zero: contamination or noise leave something.
            assert!(est.c[k].trace().re > 0.01);
        }
        // Orthogonality principle: error uncorrelated with the estimate.
        let cross = cross / C64::new(trials as f64, 0.0);
        assert!(
            cross.norm() < 0.03 * est.c[0].norm().max(1.0),
            "{}",
            cross.norm()
        );
        // Contamination makes the shared-pilot clients' estimates worse than without it.
        // Same pilot energy τ_p p_p = 1 with three orthogonal pilots.
        let alone = Estimator::new(&array, &[0, 1, 2], 3, 1.0 / 3.0, noise);
        assert!(est.c[0].trace().re > alone.c[0].trace().re + 1e-6);
        assert!((est.c[1].trace().re - alone.c[1].trace().re).abs() < 1e-12);
    }
}
