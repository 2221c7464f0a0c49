//! The lab's radio: one drop, the estimators at the clients' power, the receivers built on
//! them, one round's channels, and the aggregation-MSE-vs-power sweep on the same drop.

use crate::rng::Rng;
use crate::wireless::aircomp::{BlockCsi, Design, LsfdStats, aggregate, design};
use crate::wireless::cellfree::{C64, CMat, CVec, Drop};
use crate::wireless::estimation::{ArrayDraw, Estimator, draw, pilot_assignment};

/// The over-the-air receivers, in the order the lab reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    /// Cell-free, all APs' antennas combined at the CPU with sum-MMSE on estimated CSI.
    CfCentral,
    /// The same with perfect CSI.
    CfCentralPerfect,
    /// Cell-free, local sum-MMSE at each AP, LSFD weights at the CPU, estimated CSI.
    CfLsfd,
    /// The same with perfect CSI.
    CfLsfdPerfect,
    /// One cellular BS with L·N co-located antennas, sum-MMSE on estimated CSI.
    Cellular,
}

/// Every receiver.
pub const RECEIVERS: [Receiver; 5] = [
    Receiver::CfCentral,
    Receiver::CfCentralPerfect,
    Receiver::CfLsfd,
    Receiver::CfLsfdPerfect,
    Receiver::Cellular,
];

impl Receiver {
    /// Series stem (`acc_<stem>`, `mse_<stem>`).
    pub fn stem(self) -> &'static str {
        match self {
            Receiver::CfCentral => "cellfree_central",
            Receiver::CfCentralPerfect => "cellfree_central_perfect",
            Receiver::CfLsfd => "cellfree_lsfd",
            Receiver::CfLsfdPerfect => "cellfree_lsfd_perfect",
            Receiver::Cellular => "cellular",
        }
    }

    /// Name for a person.
    pub fn label(self) -> &'static str {
        match self {
            Receiver::CfCentral => "cell-free central MMSE",
            Receiver::CfCentralPerfect => "cell-free central, perfect CSI",
            Receiver::CfLsfd => "cell-free local + LSFD",
            Receiver::CfLsfdPerfect => "cell-free local + LSFD, perfect CSI",
            Receiver::Cellular => "cellular MMSE (L·N antennas)",
        }
    }
}

/// The estimators and fixed receiver quantities at one client power and pilot count.
#[derive(Debug, Clone)]
pub struct Radio {
    /// Each AP's estimator.
    pub est_ap: Vec<Estimator>,
    /// The BS's estimator.
    pub est_bs: Estimator,
    /// Per client, the stacked (block-diagonal) error covariance over all APs.
    pub c_stack: Vec<CMat>,
    /// LSFD weights with estimated CSI.
    pub lsfd_est: Vec<C64>,
    /// LSFD weights with perfect CSI.
    pub lsfd_perf: Vec<C64>,
    /// Client power budget (data and pilots), watts.
    pub power_w: f64,
}

/// One round's channels at every AP and at the BS.
#[derive(Debug, Clone)]
pub struct Channels {
    /// Per AP.
    pub ap: Vec<ArrayDraw>,
    /// At the BS.
    pub bs: ArrayDraw,
    /// Per client, the true channel stacked over the APs.
    pub h_stack: Vec<CVec>,
    /// Per client, the estimate stacked over the APs.
    pub hhat_stack: Vec<CVec>,
}

fn stack(parts: &[ArrayDraw], k: usize, estimate: bool) -> CVec {
    let v: Vec<C64> = parts
        .iter()
        .flat_map(|d| {
            let src = if estimate { &d.hhat[k] } else { &d.h[k] };
            src.iter().copied()
        })
        .collect();
    CVec::from_vec(v)
}

/// Draws one round's channels and estimates everywhere from `rng`.
pub fn draw_channels(drop: &Drop, radio: &Radio, rng: &mut Rng) -> Channels {
    let ap: Vec<ArrayDraw> = drop
        .aps
        .iter()
        .zip(&radio.est_ap)
        .map(|(a, e)| draw(a, e, drop.noise_w, rng))
        .collect();
    let bs = draw(&drop.bs, &radio.est_bs, drop.noise_w, rng);
    let k = drop.clients.len();
    Channels {
        h_stack: (0..k).map(|i| stack(&ap, i, false)).collect(),
        hhat_stack: (0..k).map(|i| stack(&ap, i, true)).collect(),
        ap,
        bs,
    }
}

fn local_blocks<'a>(ch: &'a Channels, radio: &'a Radio, perfect: bool) -> Vec<BlockCsi<'a>> {
    ch.ap
        .iter()
        .zip(&radio.est_ap)
        .map(|(d, e)| BlockCsi {
            h: &d.h,
            hhat: if perfect { &d.h } else { &d.hhat },
            c: (!perfect).then_some(e.c.as_slice()),
        })
        .collect()
}

impl Radio {
    /// Estimators for `tau_p` pilots at client power `power_w`, and the LSFD weights from
    /// `lsfd_samples` fading samples drawn from `rng` (all clients at full power).
    pub fn new(
        drop: &Drop,
        tau_p: usize,
        power_w: f64,
        lsfd_samples: usize,
        rng: &mut Rng,
    ) -> Radio {
        let k = drop.clients.len();
        let pilots = pilot_assignment(k, tau_p);
        let noise = drop.noise_w;
        let est_ap: Vec<Estimator> = drop
            .aps
            .iter()
            .map(|a| Estimator::new(a, &pilots, tau_p, power_w, noise))
            .collect();
        let est_bs = Estimator::new(&drop.bs, &pilots, tau_p, power_w, noise);
        let n = drop.aps.first().map_or(0, |a| a.antennas());
        let m = n * drop.aps.len();
        let c_stack = (0..k)
            .map(|i| {
                let mut c = CMat::zeros(m, m);
                for (l, e) in est_ap.iter().enumerate() {
                    c.view_mut((l * n, l * n), (n, n)).copy_from(&e.c[i]);
                }
                c
            })
            .collect();
        let mut radio = Radio {
            est_ap,
            est_bs,
            c_stack,
            lsfd_est: vec![C64::new(1.0, 0.0); drop.aps.len()],
            lsfd_perf: vec![C64::new(1.0, 0.0); drop.aps.len()],
            power_w,
        };
        let budget = vec![power_w.sqrt(); k];
        let mut se = LsfdStats::new(drop.aps.len());
        let mut sp = LsfdStats::new(drop.aps.len());
        for _ in 0..lsfd_samples {
            let ch = draw_channels(drop, &radio, rng);
            se.add(&local_blocks(&ch, &radio, false), &budget, noise);
            sp.add(&local_blocks(&ch, &radio, true), &budget, noise);
        }
        radio.lsfd_est = se.weights();
        radio.lsfd_perf = sp.weights();
        radio
    }

    /// The receiver's design for this round's channels; `budget[k] = √(P/ms_k)` (0 = not
    /// taking part).
    pub fn design(
        &self,
        rx: Receiver,
        ch: &Channels,
        budget: &[f64],
        trunc_db: f64,
        noise_w: f64,
        iters: usize,
    ) -> Design {
        let one = [C64::new(1.0, 0.0)];
        match rx {
            Receiver::CfCentral | Receiver::CfCentralPerfect => {
                let perfect = rx == Receiver::CfCentralPerfect;
                let block = [BlockCsi {
                    h: &ch.h_stack,
                    hhat: if perfect { &ch.h_stack } else { &ch.hhat_stack },
                    c: (!perfect).then_some(self.c_stack.as_slice()),
                }];
                design(&block, &one, budget, trunc_db, noise_w, iters)
            }
            Receiver::CfLsfd | Receiver::CfLsfdPerfect => {
                let perfect = rx == Receiver::CfLsfdPerfect;
                let a = if perfect {
                    &self.lsfd_perf
                } else {
                    &self.lsfd_est
                };
                design(
                    &local_blocks(ch, self, perfect),
                    a,
                    budget,
                    trunc_db,
                    noise_w,
                    iters,
                )
            }
            Receiver::Cellular => {
                let block = [BlockCsi {
                    h: &ch.bs.h,
                    hhat: &ch.bs.hhat,
                    c: Some(self.est_bs.c.as_slice()),
                }];
                design(&block, &one, budget, trunc_db, noise_w, iters)
            }
        }
    }
}

/// Client powers of the sweep, dBm.
pub const SWEEP_DBM: [f64; 7] = [-10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0];

/// The summary key of one sweep point, e.g. `mse_cellular_10dbm`, `mse_cellular_m10dbm`.
pub fn sweep_key(rx: Receiver, dbm: f64) -> String {
    let p = dbm.round() as i64;
    if p < 0 {
        format!("mse_{}_m{}dbm", rx.stem(), -p)
    } else {
        format!("mse_{}_{}dbm", rx.stem(), p)
    }
}

/// Sweep settings.
#[derive(Debug, Clone, Copy)]
pub struct SweepSpec {
    /// Pilots.
    pub tau_p: usize,
    /// Channel realisations per point.
    pub reps: usize,
    /// Entries per synthetic update.
    pub dim: usize,
    /// LSFD samples.
    pub lsfd_samples: usize,
    /// Silence rule, dB.
    pub trunc_db: f64,
    /// Design alternations.
    pub iters: usize,
}

/// One sweep point: every receiver's mean aggregation MSE (per entry, in units of the
/// normalised update) at client power `dbm`, all clients taking part with independent
/// unit-variance Gaussian updates, over `spec.reps` fading draws of the lab's drop.
pub fn sweep_point(drop: &Drop, dbm: f64, spec: SweepSpec, rng: &mut Rng) -> Vec<f64> {
    let p = crate::wireless::dbm_to_watt(dbm);
    let radio = Radio::new(drop, spec.tau_p, p, spec.lsfd_samples, rng);
    let k = drop.clients.len();
    let budget = vec![p.sqrt(); k];
    let mut sums = vec![0.0; RECEIVERS.len()];
    for _ in 0..spec.reps {
        let ch = draw_channels(drop, &radio, rng);
        let s: Vec<Vec<f32>> = (0..k)
            .map(|_| (0..spec.dim).map(|_| rng.normal() as f32).collect())
            .collect();
        let mean: Vec<f64> = (0..spec.dim)
            .map(|t| s.iter().map(|x| x[t] as f64).sum::<f64>() / k as f64)
            .collect();
        for (r, rx) in RECEIVERS.iter().enumerate() {
            let d = radio.design(*rx, &ch, &budget, spec.trunc_db, drop.noise_w, spec.iters);
            sums[r] += match aggregate(&d, &s, true, rng) {
                Some(est) => mse(&est, &mean),
                None => mean.iter().map(|m| m * m).sum::<f64>() / spec.dim as f64,
            };
        }
    }
    sums.iter().map(|s| s / spec.reps as f64).collect()
}

/// Mean squared difference per entry.
pub fn mse(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()).max(1);
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / n as f64
}
