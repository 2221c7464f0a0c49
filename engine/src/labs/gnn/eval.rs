//! Held-out sets with every baseline computed once (they do not change while the GNN trains),
//! batched GNN evaluation, and the timing of GNN inference against WMMSE.

use std::time::Instant;

use burn::tensor::{Device, Tensor};

use crate::error::LabError;
use crate::nn::to_vec;
use crate::rng::Rng;
use crate::wireless::{fp, greedy_activation, multi_start, random_power, wmmse, wmmse_from};

use super::data::{GraphBatch, Network};
use super::model::{AirChannel, Gnn, MlpPower};

/// Bound on `B · K · K` per forward pass during evaluation (memory: the messages are
/// `B · K · K · hidden` floats).
const CHUNK_EDGES: usize = 160_000;

/// Names of the reference methods, in the order of [`HeldOut::rates`].
pub const BASELINES: [&str; 6] = [
    "WMMSE",
    "WMMSE (1 start)",
    "FP",
    "max power",
    "random",
    "greedy",
];
/// Their series-name stems.
pub const BASELINE_STEMS: [&str; 6] = ["wmmse", "wmmse1", "fp", "max", "random", "greedy"];

/// How WMMSE runs: the reference is multi-start (full power, then each link dropped in turn,
/// best kept); each start stops after `iters` iterations or when Σ log w moves by ≤ `tol`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Solver {
    /// Iteration cap per start.
    pub iters: usize,
    /// Stopping tolerance on Σ log w (nats).
    pub tol: f64,
}

/// The baselines' power fractions on one network, in [`BASELINES`] order, and the wall time
/// of the multi-start WMMSE among them (seconds).
pub fn baseline_powers(net: &Network, s: Solver, rng: &mut Rng) -> (Vec<Vec<f64>>, f64) {
    let (g, noise) = (&net.gains, net.noise);
    let pmax = net.pmax_vec();
    let frac = |p: Vec<f64>| -> Vec<f64> { p.iter().map(|x| x / net.pmax).collect() };
    let t0 = Instant::now();
    let multi = multi_start(g, &pmax, noise, |p0| {
        wmmse_from(g, &pmax, noise, p0, s.iters, s.tol)
    });
    let multi_s = t0.elapsed().as_secs_f64();
    let powers = vec![
        frac(multi.p),
        frac(wmmse(g, &pmax, noise, s.iters, s.tol).p),
        frac(fp(g, &pmax, noise, s.iters, 1e-3).p),
        vec![1.0; net.k()],
        frac(random_power(&pmax, rng)),
        frac(greedy_activation(g, &pmax, noise)),
    ];
    (powers, multi_s)
}

/// A fixed held-out set of one network size, never trained on, with the baselines' sum rates.
#[derive(Debug, Clone)]
pub struct HeldOut {
    /// Links per network.
    pub k: usize,
    /// The networks.
    pub nets: Vec<Network>,
    /// Per baseline ([`BASELINES`] order), the sum rate on each network.
    pub rates: Vec<Vec<f64>>,
    /// Wall time of multi-start WMMSE per network, seconds (reported only when timing is on).
    pub multi_start_s: f64,
}

impl HeldOut {
    /// Computes every baseline on `nets`.
    pub fn new(k: usize, nets: Vec<Network>, s: Solver, rng: &mut Rng) -> HeldOut {
        let mut rates = vec![Vec::with_capacity(nets.len()); BASELINES.len()];
        let mut multi = 0.0;
        for n in &nets {
            let (powers, secs) = baseline_powers(n, s, rng);
            multi += secs;
            for (m, p) in powers.iter().enumerate() {
                rates[m].push(n.sum_rate(p));
            }
        }
        let multi_start_s = multi / nets.len().max(1) as f64;
        HeldOut {
            k,
            nets,
            rates,
            multi_start_s,
        }
    }

    /// Mean sum rate of the reference (multi-start WMMSE).
    pub fn wmmse_mean(&self) -> f64 {
        mean(&self.rates[0])
    }

    /// Mean sum rate of a method as a fraction of the reference's (a ratio of means).
    pub fn ratio(&self, rates: &[f64]) -> f64 {
        mean(rates) / self.wmmse_mean().max(1e-12)
    }
}

/// The mean of `v` (0 when empty).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Networks per forward pass at `k` links.
fn chunk(k: usize) -> usize {
    (CHUNK_EDGES / (k * k).max(1)).max(1)
}

/// Reads `[B, K]` powers back as one vector per network.
fn rows(p: Tensor<2>) -> Result<Vec<Vec<f64>>, LabError> {
    let k = p.dims()[1].max(1);
    Ok(to_vec(p)?
        .chunks(k)
        .map(|r| r.iter().map(|&x| x as f64).collect())
        .collect())
}

/// The GNN's power fractions on every network (batched), optionally with over-the-air
/// aggregation drawn from `air` (linear SNR and the rng).
pub fn gnn_powers(
    gnn: &Gnn,
    nets: &[Network],
    layers: usize,
    mut air: Option<(f64, &mut Rng)>,
    device: &Device,
) -> Result<Vec<Vec<f64>>, LabError> {
    let mut out = Vec::with_capacity(nets.len());
    let Some(k) = nets.first().map(Network::k) else {
        return Ok(out);
    };
    for c in nets.chunks(chunk(k)) {
        let g = GraphBatch::new(c, device);
        let ch = air.as_mut().map(|(snr, rng)| AirChannel { snr: *snr, rng });
        out.extend(rows(gnn.powers(&g, layers, ch))?);
    }
    Ok(out)
}

/// The MLP baseline's power fractions (`None` at a K it was not built for).
pub fn mlp_powers(
    mlp: &MlpPower,
    nets: &[Network],
    device: &Device,
) -> Result<Option<Vec<Vec<f64>>>, LabError> {
    let mut out = Vec::with_capacity(nets.len());
    let Some(k) = nets.first().map(Network::k) else {
        return Ok(Some(out));
    };
    for c in nets.chunks(chunk(k)) {
        match mlp.powers(&GraphBatch::new(c, device)) {
            Some(p) => out.extend(rows(p)?),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// Sum rates (by the wireless core) of power fractions on their networks.
pub fn rates_of(nets: &[Network], powers: &[Vec<f64>]) -> Vec<f64> {
    nets.iter()
        .zip(powers)
        .map(|(n, p)| n.sum_rate(p))
        .collect()
}

/// Wall times per network, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Batched GNN inference: features built from the gains, forward pass, powers read back
    /// (best of the repeats, after one warm-up pass).
    pub gnn: f64,
    /// Single-start WMMSE from full power with the solver's stopping rule.
    pub wmmse: f64,
    /// Single-start WMMSE run for a fixed `iters` iterations (the public code's rule).
    pub wmmse_fixed: f64,
}

/// Times the GNN and WMMSE on the same networks, one after the other.
pub fn time_per_layout(
    gnn: &Gnn,
    nets: &[Network],
    layers: usize,
    s: Solver,
    repeats: usize,
    device: &Device,
) -> Result<Timing, LabError> {
    let n = nets.len().max(1) as f64;
    gnn_powers(gnn, nets, layers, None, device)?;
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t0 = Instant::now();
        let p = gnn_powers(gnn, nets, layers, None, device)?;
        best = best.min(t0.elapsed().as_secs_f64());
        std::hint::black_box(p);
    }
    let wmmse_time = |tol: f64| {
        let t0 = Instant::now();
        for net in nets {
            let pmax = net.pmax_vec();
            std::hint::black_box(wmmse(&net.gains, &pmax, net.noise, s.iters, tol));
        }
        t0.elapsed().as_secs_f64() / n
    };
    Ok(Timing {
        gnn: best / n,
        wmmse: wmmse_time(s.tol),
        // A negative tolerance never stops early.
        wmmse_fixed: wmmse_time(-1.0),
    })
}
