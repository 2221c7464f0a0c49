//! Over-the-air computation of an average: transmit scaling, receive combining and the
//! aggregate a receiver recovers.
//!
//! Every taking-part client sends one real entry of its normalised update `s_k` per channel use,
//! scaled by a complex coefficient `b_k`, all at once. A receiver made of blocks `l` (one stacked
//! block for a centralised cell-free CPU or the cellular BS; one block per AP for local
//! processing) combines `z_l = v_lᴴ y_l` and sums `Σ_l conj(a_l) z_l` (a = 1 for one block; the
//! LSFD weights for local processing). The receiver estimates the average as
//!   ŝ[t] = Re(Σ_l conj(a_l) z_l[t]) / (c · |A|),
//! where `A` is the set of clients that transmitted and `c` the common received amplitude.
//!
//! **Transmit design** (truncated channel inversion on the estimate): starting from full power,
//! the receiver forms its sum-MMSE combiners from the estimates and error covariances; each
//! client's effective gain per unit coefficient `q_k = Σ_l conj(a_l) v_lᴴ ĥ_kl` is fed back
//! (a scalar), and client `k` sets `b_k = c / q_k`. **Silence rule:** a client whose full-power
//! received amplitude `√(P_k/ms_k)|q_k|` falls more than `trunc_db` below the median over the
//! taking-part clients stays silent this round; `c` is the smallest full-power amplitude among
//! the others, so every transmitting client meets its power budget `|b_k|² ms_k ≤ P_k`
//! (`ms_k` = its normalised update's mean square). Combiner and coefficients are alternated
//! `iters` times; the last coefficients are computed from the last combiners, so with perfect
//! CSI every transmitting client arrives with amplitude exactly `c`.
//!
//! Receiver noise enters as `v_lᴴ n_l`, drawn directly from its exact law CN(0, σ² Σ|a_l|²‖v_l‖²)
//! rather than per antenna (the same distribution at 1/M of the cost).

use crate::rng::Rng;
use crate::wireless::cellfree::{C64, CMat, CVec};

/// One block's channel state information this round, per client.
#[derive(Debug, Clone, Copy)]
pub struct BlockCsi<'a> {
    /// True channels (what the signal goes through).
    pub h: &'a [CVec],
    /// Channel estimates the receiver and the clients use (the true ones for perfect CSI).
    pub hhat: &'a [CVec],
    /// Estimation-error covariances (`None` for perfect CSI).
    pub c: Option<&'a [CMat]>,
}

/// A receiver's combiners and the clients' coefficients for one round.
#[derive(Debug, Clone)]
pub struct Design {
    /// Combiner of each block.
    pub v: Vec<CVec>,
    /// Second-stage weight of each block.
    pub a: Vec<C64>,
    /// Transmit coefficient of each client (0 = silent).
    pub b: Vec<C64>,
    /// Common received amplitude aimed at (0 when no client transmits).
    pub c: f64,
    /// Which clients transmit this round.
    pub active: Vec<bool>,
    /// True end-to-end gain `Σ_l conj(a_l) v_lᴴ h_kl b_k` of each client.
    pub gain: Vec<C64>,
    /// Variance of the combined receiver noise, `σ² Σ_l |a_l|² ‖v_l‖²`.
    pub noise_var: f64,
}

/// The LMMSE combiner for the sum of unit-power, independent symbols sent with coefficients
/// `b`: v = (Σ_k |b_k|² (ĥ_k ĥ_kᴴ + C_k) + σ² I)⁻¹ Σ_k b_k ĥ_k.
pub fn sum_mmse_combiner(hhat: &[CVec], c: Option<&[CMat]>, b: &[C64], noise_w: f64) -> CVec {
    let n = hhat.first().map_or(0, |h| h.len());
    let mut m = CMat::identity(n, n) * C64::new(noise_w, 0.0);
    let mut rhs = CVec::zeros(n);
    for (k, h) in hhat.iter().enumerate() {
        if b[k] == C64::new(0.0, 0.0) {
            continue;
        }
        let p = C64::new(b[k].norm_sqr(), 0.0);
        m += h * h.adjoint() * p;
        if let Some(c) = c {
            m += &c[k] * p;
        }
        rhs += h * b[k];
    }
    match m.clone().cholesky() {
        Some(ch) => ch.solve(&rhs),
        None => m.lu().solve(&rhs).unwrap_or_else(|| CVec::zeros(n)),
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n.is_multiple_of(2) {
        0.5 * (xs[n / 2 - 1] + xs[n / 2])
    } else {
        xs[n / 2]
    }
}

/// Designs combiners and transmit coefficients (see the module docs). `a` holds one weight per
/// block; `budget[k] = √(P_k/ms_k)` is client `k`'s largest coefficient (0 = not taking part).
pub fn design(
    blocks: &[BlockCsi<'_>],
    a: &[C64],
    budget: &[f64],
    trunc_db: f64,
    noise_w: f64,
    iters: usize,
) -> Design {
    let k = budget.len();
    let mut b: Vec<C64> = budget.iter().map(|&x| C64::new(x, 0.0)).collect();
    let mut v = Vec::new();
    let mut active = vec![false; k];
    let mut c = 0.0;
    let keep = 10f64.powf(-trunc_db / 20.0);
    for _ in 0..iters.max(1) {
        v = blocks
            .iter()
            .map(|bl| sum_mmse_combiner(bl.hhat, bl.c, &b, noise_w))
            .collect();
        let q: Vec<C64> = (0..k)
            .map(|i| {
                blocks
                    .iter()
                    .zip(&v)
                    .zip(a)
                    .map(|((bl, vl), al)| al.conj() * vl.dotc(&bl.hhat[i]))
                    .sum()
            })
            .collect();
        let amp: Vec<f64> = (0..k).map(|i| budget[i] * q[i].norm()).collect();
        let med = median(
            (0..k)
                .filter(|&i| budget[i] > 0.0)
                .map(|i| amp[i])
                .collect(),
        );
        for ((act, &bud), &am) in active.iter_mut().zip(budget).zip(&amp) {
            *act = bud > 0.0 && am > 0.0 && am >= med * keep;
        }
        c = (0..k)
            .filter(|&i| active[i])
            .map(|i| amp[i])
            .fold(f64::INFINITY, f64::min);
        if !c.is_finite() {
            c = 0.0;
        }
        for ((bi, &act), qi) in b.iter_mut().zip(&active).zip(&q) {
            *bi = if act {
                C64::new(c, 0.0) / qi
            } else {
                C64::new(0.0, 0.0)
            };
        }
    }
    let gain = (0..k)
        .map(|i| {
            let g: C64 = blocks
                .iter()
                .zip(&v)
                .zip(a)
                .map(|((bl, vl), al)| al.conj() * vl.dotc(&bl.h[i]))
                .sum();
            g * b[i]
        })
        .collect();
    let noise_var = noise_w
        * v.iter()
            .zip(a)
            .map(|(vl, al)| al.norm_sqr() * vl.norm_squared())
            .sum::<f64>();
    Design {
        v,
        a: a.to_vec(),
        b,
        c,
        active,
        gain,
        noise_var,
    }
}

/// The receiver's estimate of the average of the transmitting clients' `s_k` (real entries,
/// all of one length), or `None` when nobody transmitted. `noise = false` leaves the receiver
/// noise out (for tests of the noiseless sum).
pub fn aggregate(d: &Design, s: &[Vec<f32>], noise: bool, rng: &mut Rng) -> Option<Vec<f64>> {
    let n_act = d.active.iter().filter(|&&x| x).count();
    if n_act == 0 || d.c <= 0.0 {
        return None;
    }
    let len = s.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = vec![0.0f64; len];
    for (k, sk) in s.iter().enumerate() {
        if !d.active[k] {
            continue;
        }
        let g = d.gain[k].re;
        for (o, &x) in out.iter_mut().zip(sk) {
            *o += g * x as f64;
        }
    }
    let sd = (d.noise_var / 2.0).sqrt();
    let scale = 1.0 / (d.c * n_act as f64);
    for o in &mut out {
        if noise {
            *o += sd * rng.normal();
        }
        *o *= scale;
    }
    Some(out)
}

/// Monte-Carlo channel statistics for large-scale fading decoding: the LMMSE second-stage
/// weights over the blocks' local sum-MMSE outputs, from samples of the small-scale fading only
/// (never this round's channels), for clients at full power `budget`.
#[derive(Debug, Clone)]
pub struct LsfdStats {
    q: CMat,
    p: CVec,
}

impl LsfdStats {
    /// Empty statistics over `blocks` blocks.
    pub fn new(blocks: usize) -> LsfdStats {
        LsfdStats {
            q: CMat::zeros(blocks, blocks),
            p: CVec::zeros(blocks),
        }
    }

    /// Adds one sample of the blocks' channels: E[z zᴴ] and E[z (Σ_k b_k s_k)*] with local
    /// combiners formed as in a round.
    pub fn add(&mut self, blocks: &[BlockCsi<'_>], budget: &[f64], noise_w: f64) {
        let b: Vec<C64> = budget.iter().map(|&x| C64::new(x, 0.0)).collect();
        let v: Vec<CVec> = blocks
            .iter()
            .map(|bl| sum_mmse_combiner(bl.hhat, bl.c, &b, noise_w))
            .collect();
        let l = blocks.len();
        for (k, &bk) in budget.iter().enumerate() {
            if bk <= 0.0 {
                continue;
            }
            let u = CVec::from_fn(l, |i, _| v[i].dotc(&blocks[i].h[k]) * bk);
            self.q += &u * u.adjoint();
            self.p += u * C64::new(bk, 0.0);
        }
        for (i, vi) in v.iter().enumerate() {
            self.q[(i, i)] += C64::new(noise_w * vi.norm_squared(), 0.0);
        }
    }

    /// The weights `a = E[z zᴴ]⁻¹ E[z (Σ b s)*]` (all ones if the statistics are empty).
    pub fn weights(&self) -> Vec<C64> {
        let l = self.p.len();
        let solved = self
            .q
            .clone()
            .cholesky()
            .map(|ch| ch.solve(&self.p))
            .filter(|a| a.iter().all(|x| x.re.is_finite() && x.im.is_finite()));
        match solved {
            Some(a) if a.norm() > 0.0 => a.iter().copied().collect(),
            _ => vec![C64::new(1.0, 0.0); l],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wireless::cellfree::{Drop, RadioConfig};
    use crate::wireless::estimation::{Estimator, draw, pilot_assignment};

    fn toy() -> (Drop, RadioConfig) {
        let cfg = RadioConfig {
            aps: 4,
            antennas: 2,
            clients: 5,
            side_m: 200.0,
            ap_height_m: 10.0,
            shadowing_db: 4.0,
            asd_deg: 10.0,
            bandwidth_hz: 20e6,
            noise_figure_db: 7.0,
        };
        let mut rng = Rng::new(3);
        (Drop::new(&cfg, &mut rng), cfg)
    }

    fn updates(k: usize, d: usize, rng: &mut Rng) -> Vec<Vec<f32>> {
        (0..k)
            .map(|_| (0..d).map(|_| rng.normal() as f32).collect())
            .collect()
    }

    /// With perfect CSI, no truncation and no receiver noise, every receiver returns the exact
    /// average: the multiple-access channel's sum, inverted.
    #[test]
    fn noiseless_perfect_csi_sum_is_exact() {
        let (drop, cfg) = toy();
        let mut rng = Rng::new(5);
        let pilots = pilot_assignment(cfg.clients, 2);
        let p = 0.01;
        let draws: Vec<_> = drop
            .aps
            .iter()
            .map(|ap| {
                let est = Estimator::new(ap, &pilots, 2, p, drop.noise_w);
                draw(ap, &est, drop.noise_w, &mut rng)
            })
            .collect();
        let s = updates(cfg.clients, 50, &mut rng);
        let mean: Vec<f64> = (0..50)
            .map(|t| s.iter().map(|x| x[t] as f64).sum::<f64>() / cfg.clients as f64)
            .collect();
        let budget = vec![p.sqrt(); cfg.clients];
        let check = |blocks: &[BlockCsi<'_>], a: &[C64], rng: &mut Rng| {
            let d = design(blocks, a, &budget, 1e6, drop.noise_w, 2);
            assert!(d.active.iter().all(|&x| x));
            for (k, &bk) in d.b.iter().enumerate() {
                assert!(bk.norm() <= budget[k] * (1.0 + 1e-9), "power budget broken");
            }
            let est = aggregate(&d, &s, false, rng).expect("somebody transmits");
            for (e, m) in est.iter().zip(&mean) {
                assert!((e - m).abs() < 1e-9, "{e} vs {m}");
            }
        };
        // Local processing, one block per AP.
        let local: Vec<BlockCsi<'_>> = draws
            .iter()
            .map(|d| BlockCsi {
                h: &d.h,
                hhat: &d.h,
                c: None,
            })
            .collect();
        let a = vec![
            C64::new(0.7, 0.2),
            C64::new(1.0, 0.0),
            C64::new(0.1, -0.4),
            C64::new(2.0, 0.0),
        ];
        check(&local, &a, &mut rng);
        // Centralised: the APs stacked into one block.
        let stack = |k: usize| {
            let parts: Vec<C64> = draws.iter().flat_map(|d| d.h[k].iter().copied()).collect();
            CVec::from_vec(parts)
        };
        let h: Vec<CVec> = (0..cfg.clients).map(stack).collect();
        let central = [BlockCsi {
            h: &h,
            hhat: &h,
            c: None,
        }];
        check(&central, &[C64::new(1.0, 0.0)], &mut rng);
    }

    /// With estimated CSI the sum is no longer exact, and the silence rule removes clients far
    /// below the median.
    #[test]
    fn estimated_csi_distorts_and_silence_rule_truncates() {
        let (drop, cfg) = toy();
        let mut rng = Rng::new(9);
        let pilots = pilot_assignment(cfg.clients, 2);
        let p = 1e-4;
        let est = Estimator::new(&drop.bs, &pilots, 2, p, drop.noise_w);
        let dr = draw(&drop.bs, &est, drop.noise_w, &mut rng);
        let blocks = [BlockCsi {
            h: &dr.h,
            hhat: &dr.hhat,
            c: Some(&est.c),
        }];
        let budget = vec![p.sqrt(); cfg.clients];
        let d = design(
            &blocks,
            &[C64::new(1.0, 0.0)],
            &budget,
            1e6,
            drop.noise_w,
            2,
        );
        let s = updates(cfg.clients, 200, &mut rng);
        let out = aggregate(&d, &s, false, &mut rng).expect("transmits");
        let mean: Vec<f64> = (0..200)
            .map(|t| s.iter().map(|x| x[t] as f64).sum::<f64>() / cfg.clients as f64)
            .collect();
        let mse: f64 = out
            .iter()
            .zip(&mean)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / 200.0;
        assert!(mse > 1e-8, "estimation error must show: {mse}");
        // A 0 dB threshold silences everyone below the median.
        let d0 = design(
            &blocks,
            &[C64::new(1.0, 0.0)],
            &budget,
            0.0,
            drop.noise_w,
            1,
        );
        let n = d0.active.iter().filter(|&&x| x).count();
        assert!((1..=cfg.clients.div_ceil(2) + 1).contains(&n), "{n} active");
    }
}
