//! SINR, rates and power allocation on a SISO interference channel with global CSI:
//! WMMSE (Shi et al. 2011, in the form coded by Sun et al.), FP (Shen & Yu's fractional
//! programming), max power, random power, and an exhaustive grid search for checking them.

use crate::rng::Rng;
use crate::wireless::channel::Gains;

/// SINR of every link under powers `p` (watts) and noise power `noise` (watts).
pub fn sinr(g: &Gains, p: &[f64], noise: f64) -> Vec<f64> {
    (0..g.n)
        .map(|k| {
            let interference: f64 = (0..g.n)
                .filter(|&j| j != k)
                .map(|j| g.get(k, j) * p[j])
                .sum();
            g.get(k, k) * p[k] / (interference + noise)
        })
        .collect()
}

/// Shannon rates log2(1 + SINR) in bit/s/Hz.
pub fn rates(g: &Gains, p: &[f64], noise: f64) -> Vec<f64> {
    sinr(g, p, noise).iter().map(|s| (1.0 + s).log2()).collect()
}

/// Network sum rate in bit/s/Hz.
pub fn sum_rate(g: &Gains, p: &[f64], noise: f64) -> f64 {
    rates(g, p, noise).iter().sum()
}

/// A power allocation and how many iterations produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Powers in watts.
    pub p: Vec<f64>,
    /// Iterations run.
    pub iterations: usize,
}

/// Every link at its maximum power.
pub fn max_power(pmax: &[f64]) -> Vec<f64> {
    pmax.to_vec()
}

/// Each link's power uniform in [0, Pmax].
pub fn random_power(pmax: &[f64], rng: &mut Rng) -> Vec<f64> {
    pmax.iter().map(|&m| m * rng.uniform()).collect()
}

/// WMMSE with unit weights, started from full power (Nasir & Guo report that random starts do
/// much worse). With amplitude gains h_kj = sqrt(g(k, j)) and v_k = sqrt(p_k):
/// u_k = h_kk v_k / (Σ_j h_kj² v_j² + σ²), w_k = 1 / (1 − u_k h_kk v_k),
/// v_k = clip(w_k u_k h_kk / Σ_j w_j u_j² h_jk², 0, sqrt(Pmax_k)).
/// Stops when Σ log w_k (the sum rate in nats) moves by at most `tol`, or after `max_iter`.
pub fn wmmse(g: &Gains, pmax: &[f64], noise: f64, max_iter: usize, tol: f64) -> Solution {
    wmmse_from(g, pmax, noise, pmax, max_iter, tol)
}

/// WMMSE started from powers `p0` (clipped to [0, Pmax]). A link started at zero power stays
/// off (its u_k and so its update are zero), which is what [`multi_start`] relies on.
pub fn wmmse_from(
    g: &Gains,
    pmax: &[f64],
    noise: f64,
    p0: &[f64],
    max_iter: usize,
    tol: f64,
) -> Solution {
    let n = g.n;
    let h = |rx: usize, tx: usize| g.get(rx, tx).sqrt();
    let mut v: Vec<f64> = p0
        .iter()
        .zip(pmax)
        .map(|(&p, &m)| p.clamp(0.0, m).sqrt())
        .collect();
    let mut u = vec![0.0; n];
    let mut w = vec![0.0; n];
    let update_uw = |v: &[f64], u: &mut [f64], w: &mut [f64]| {
        for k in 0..n {
            let rx_power: f64 = (0..n).map(|j| g.get(k, j) * v[j] * v[j]).sum::<f64>() + noise;
            u[k] = h(k, k) * v[k] / rx_power;
            // 1 − u h v = (interference + noise) / (total received), always in (0, 1].
            w[k] = 1.0 / (1.0 - u[k] * h(k, k) * v[k]).max(1e-300);
        }
    };
    update_uw(&v, &mut u, &mut w);
    let mut obj: f64 = w.iter().map(|x| x.ln()).sum();
    let mut iterations = 0;
    for _ in 0..max_iter {
        iterations += 1;
        for k in 0..n {
            let den: f64 = (0..n).map(|j| w[j] * u[j] * u[j] * g.get(j, k)).sum();
            let x = if den > 0.0 {
                w[k] * u[k] * h(k, k) / den
            } else {
                pmax[k].sqrt()
            };
            v[k] = x.clamp(0.0, pmax[k].sqrt());
        }
        update_uw(&v, &mut u, &mut w);
        let new_obj: f64 = w.iter().map(|x| x.ln()).sum();
        let moved = (new_obj - obj).abs();
        obj = new_obj;
        if moved <= tol {
            break;
        }
    }
    Solution {
        p: v.iter().map(|x| x * x).collect(),
        iterations,
    }
}

/// Fractional programming (Shen & Yu's quadratic transform) with unit weights, from full power:
/// y_i = sqrt((1 + γ_i) g_ii p_i) / (Σ_j g_ij p_j + σ²),
/// p_i = min(Pmax_i, y_i² (1 + γ_i) g_ii / (Σ_j y_j² g_ji)²), γ_i the current SINR.
/// Stops when the sum rate moves by at most `tol` bit/s/Hz, or after `max_iter`.
pub fn fp(g: &Gains, pmax: &[f64], noise: f64, max_iter: usize, tol: f64) -> Solution {
    fp_from(g, pmax, noise, pmax, max_iter, tol)
}

/// FP started from powers `p0` (clipped to [0, Pmax]); a link started at zero stays off.
pub fn fp_from(
    g: &Gains,
    pmax: &[f64],
    noise: f64,
    p0: &[f64],
    max_iter: usize,
    tol: f64,
) -> Solution {
    let n = g.n;
    let mut p: Vec<f64> = p0
        .iter()
        .zip(pmax)
        .map(|(&x, &m)| x.clamp(0.0, m))
        .collect();
    let mut obj = sum_rate(g, &p, noise);
    let mut y = vec![0.0; n];
    let mut iterations = 0;
    for _ in 0..max_iter {
        iterations += 1;
        let gamma = sinr(g, &p, noise);
        for i in 0..n {
            let total: f64 = (0..n).map(|j| g.get(i, j) * p[j]).sum::<f64>() + noise;
            y[i] = ((1.0 + gamma[i]) * g.get(i, i) * p[i]).sqrt() / total;
        }
        for i in 0..n {
            let den: f64 = (0..n).map(|j| y[j] * y[j] * g.get(j, i)).sum();
            p[i] = if den > 0.0 {
                (y[i] * y[i] * (1.0 + gamma[i]) * g.get(i, i) / (den * den)).min(pmax[i])
            } else {
                0.0
            };
        }
        let new_obj = sum_rate(g, &p, noise);
        let moved = (new_obj - obj).abs();
        obj = new_obj;
        if moved <= tol {
            break;
        }
    }
    Solution { p, iterations }
}

/// The starting points [`multi_start`] tries: every link at full power, then for each link `k`
/// the same with `k` switched off.
pub fn drop_one_starts(pmax: &[f64]) -> Vec<Vec<f64>> {
    let mut starts = vec![pmax.to_vec()];
    for k in 0..pmax.len() {
        let mut p = pmax.to_vec();
        p[k] = 0.0;
        starts.push(p);
    }
    starts
}

/// Runs a local solver (WMMSE or FP, via [`wmmse_from`] / [`fp_from`]) from every start of
/// [`drop_one_starts`] and keeps the allocation with the highest sum rate (ties go to the
/// earlier start). Both solvers only climb to a stationary point near their start; from full
/// power they keep a strong interferer (in a HetNet, typically the macro BS) on even where the
/// network is better off without it, so a single start makes a weak reference for learners.
/// `iterations` is the total over all starts.
pub fn multi_start(
    g: &Gains,
    pmax: &[f64],
    noise: f64,
    solve: impl Fn(&[f64]) -> Solution,
) -> Solution {
    let mut best: Option<(Solution, f64)> = None;
    let mut iterations = 0;
    for start in drop_one_starts(pmax) {
        let s = solve(&start);
        iterations += s.iterations;
        let r = sum_rate(g, &s.p, noise);
        if best.as_ref().is_none_or(|(_, b)| r > *b) {
            best = Some((s, r));
        }
    }
    let p = best.map(|(s, _)| s.p).unwrap_or_else(|| pmax.to_vec());
    Solution { p, iterations }
}

/// Exhaustive search over `levels` evenly spaced powers per link (0 and Pmax included): the
/// reference optimum for small checks (`levels^n` evaluations, so keep `n` tiny).
pub fn grid_search(g: &Gains, pmax: &[f64], noise: f64, levels: usize) -> (Vec<f64>, f64) {
    let n = g.n;
    let levels = levels.max(2);
    let mut idx = vec![0usize; n];
    let mut best = (vec![0.0; n], f64::NEG_INFINITY);
    let mut p = vec![0.0; n];
    loop {
        for k in 0..n {
            p[k] = pmax[k] * idx[k] as f64 / (levels - 1) as f64;
        }
        let r = sum_rate(g, &p, noise);
        if r > best.1 {
            best = (p.clone(), r);
        }
        // Odometer increment.
        let mut k = 0;
        loop {
            if k == n {
                return best;
            }
            idx[k] += 1;
            if idx[k] < levels {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
    }
}
