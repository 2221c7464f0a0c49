//! Networks (a layout and its gains) and their graph form on the device: normalised node and
//! edge features, the neighbour mask, and the gains in SNR units for the sum-rate loss.

use burn::tensor::{Device, Tensor, TensorData};

use crate::rng::Rng;
use crate::wireless::{D2dLayout, D2dParams, Gains, drop_layout, gaussian_ic, layout_gains};

use super::config::{Channel, GnnConfig};

/// Features are (10 log10(g · Pmax / σ²) − OFFSET) / SCALE: gains in dB of SNR at full power,
/// centred and scaled to order one for D2D layouts (direct links at 70–100 dB, interferers
/// within 300 m at 30–90 dB). Fixed constants, so a feature means the same at every K.
pub const FEATURE_OFFSET_DB: f64 = 60.0;
/// See [`FEATURE_OFFSET_DB`].
pub const FEATURE_SCALE_DB: f64 = 20.0;
/// The Gaussian IC's gains sit near 10 dB of SNR.
const GAUSSIAN_OFFSET_DB: f64 = 10.0;
const GAUSSIAN_SCALE_DB: f64 = 10.0;

/// One network to allocate power in.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Positions (D2D only).
    pub layout: Option<D2dLayout>,
    /// Power gains `get(rx, tx)`.
    pub gains: Gains,
    /// Maximum power of every link, watts.
    pub pmax: f64,
    /// Noise power, watts.
    pub noise: f64,
    /// Row-major `[rx][tx]`: whether the two links are neighbours in the GNN's graph
    /// (symmetric, false on the diagonal).
    pub neighbour: Vec<bool>,
    /// (offset, scale) of the dB features.
    norm: (f64, f64),
}

impl Network {
    /// Number of links.
    pub fn k(&self) -> usize {
        self.gains.n
    }

    /// The gain from `tx` to `rx` in units of SNR at full power (Pmax · g / σ²).
    pub fn snr_gain(&self, rx: usize, tx: usize) -> f64 {
        self.gains.get(rx, tx) * self.pmax / self.noise
    }

    /// The normalised dB feature of the gain from `tx` to `rx`.
    pub fn feature(&self, rx: usize, tx: usize) -> f32 {
        let db = 10.0 * self.snr_gain(rx, tx).max(1e-30).log10();
        ((db - self.norm.0) / self.norm.1) as f32
    }

    /// Powers in watts from fractions of Pmax.
    pub fn watts(&self, fractions: &[f64]) -> Vec<f64> {
        fractions.iter().map(|f| f * self.pmax).collect()
    }

    /// The per-link Pmax vector the wireless core takes.
    pub fn pmax_vec(&self) -> Vec<f64> {
        vec![self.pmax; self.k()]
    }

    /// Sum rate (bit/s/Hz) of powers given as fractions of Pmax, by the wireless core.
    pub fn sum_rate(&self, fractions: &[f64]) -> f64 {
        crate::wireless::sum_rate(&self.gains, &self.watts(fractions), self.noise)
    }

    /// The same network with its links renumbered: new link `i` is old link `perm[i]`.
    pub fn permuted(&self, perm: &[usize]) -> Network {
        let k = self.k();
        let mut g = vec![0.0; k * k];
        let mut nb = vec![false; k * k];
        for i in 0..k {
            for j in 0..k {
                g[i * k + j] = self.gains.get(perm[i], perm[j]);
                nb[i * k + j] = self.neighbour[perm[i] * k + perm[j]];
            }
        }
        Network {
            layout: self.layout.as_ref().map(|l| D2dLayout {
                side_m: l.side_m,
                tx: perm.iter().map(|&p| l.tx[p]).collect(),
                rx: perm.iter().map(|&p| l.rx[p]).collect(),
            }),
            gains: Gains { n: k, g },
            neighbour: nb,
            ..self.clone()
        }
    }
}

/// The D2D parameters of a config.
pub fn d2d_params(cfg: &GnnConfig) -> D2dParams {
    D2dParams {
        area_per_link_m2: cfg.area_per_link_m2,
        shadowing_db: cfg.shadowing_db,
        ..D2dParams::default()
    }
}

/// Draws one network of `k` links.
pub fn draw(cfg: &GnnConfig, k: usize, rng: &mut Rng) -> Network {
    match cfg.channel {
        Channel::D2d => {
            let params = d2d_params(cfg);
            let layout = drop_layout(&params, k, rng);
            let gains = layout_gains(&params, &layout, rng);
            let r = cfg.edge_radius_m;
            let mut neighbour = vec![false; k * k];
            for i in 0..k {
                for j in 0..k {
                    neighbour[i * k + j] =
                        i != j && (layout.dist(i, j) < r || layout.dist(j, i) < r);
                }
            }
            Network {
                layout: Some(layout),
                gains,
                pmax: params.pmax_w(),
                noise: params.noise_w(),
                neighbour,
                norm: (FEATURE_OFFSET_DB, FEATURE_SCALE_DB),
            }
        }
        Channel::Gaussian => Network {
            layout: None,
            gains: gaussian_ic(k, rng),
            pmax: 1.0,
            noise: cfg.gaussian_noise,
            neighbour: (0..k * k).map(|x| x / k != x % k).collect(),
            norm: (GAUSSIAN_OFFSET_DB, GAUSSIAN_SCALE_DB),
        },
    }
}

/// Draws `n` networks of `k` links.
pub fn draw_set(cfg: &GnnConfig, k: usize, n: usize, rng: &mut Rng) -> Vec<Network> {
    (0..n).map(|_| draw(cfg, k, rng)).collect()
}

/// A batch of networks of the same size as tensors on one device.
#[derive(Debug, Clone)]
pub struct GraphBatch {
    /// Networks in the batch.
    pub b: usize,
    /// Links per network.
    pub k: usize,
    /// `[B, K, 1]`: the feature of each link's direct gain.
    pub direct: Tensor<3>,
    /// `[B, K, K, 2]`: at `[b, i, j]`, the features of the gain from j's transmitter to i's
    /// receiver (the interference j causes i) and from i's transmitter to j's receiver.
    pub edges: Tensor<4>,
    /// `[B, K, K, 1]`: 1 where j is a neighbour of i, else 0.
    pub mask: Tensor<4>,
    /// `[B, K, 1]`: each link's number of neighbours (at least 1, for the mean).
    pub degree: Tensor<3>,
    /// `[B, K, K]`: cross gains in SNR units, zero on the diagonal.
    pub cross: Tensor<3>,
    /// `[B, K]`: direct gains in SNR units.
    pub signal: Tensor<2>,
    /// `[B, K·K]`: every gain's feature, row-major (the MLP baseline's input).
    pub flat: Tensor<2>,
}

impl GraphBatch {
    /// The tensors of `nets` (all with the same K) on `device`.
    pub fn new(nets: &[Network], device: &Device) -> GraphBatch {
        let b = nets.len();
        let k = nets.first().map_or(0, Network::k);
        let mut direct = Vec::with_capacity(b * k);
        let mut edges = Vec::with_capacity(b * k * k * 2);
        let mut mask = Vec::with_capacity(b * k * k);
        let mut degree = Vec::with_capacity(b * k);
        let mut cross = Vec::with_capacity(b * k * k);
        let mut signal = Vec::with_capacity(b * k);
        let mut flat = Vec::with_capacity(b * k * k);
        for n in nets {
            let feats: Vec<f32> = (0..k * k).map(|x| n.feature(x / k, x % k)).collect();
            flat.extend_from_slice(&feats);
            for i in 0..k {
                direct.push(feats[i * k + i]);
                signal.push(n.snr_gain(i, i) as f32);
                let mut d = 0usize;
                for j in 0..k {
                    edges.push(feats[i * k + j]);
                    edges.push(feats[j * k + i]);
                    let nb = n.neighbour[i * k + j];
                    d += usize::from(nb);
                    mask.push(if nb { 1.0f32 } else { 0.0 });
                    cross.push(if i == j { 0.0 } else { n.snr_gain(i, j) as f32 });
                }
                degree.push(d.max(1) as f32);
            }
        }
        let t3 = |v: Vec<f32>, s: [usize; 3]| Tensor::from_data(TensorData::new(v, s), device);
        GraphBatch {
            b,
            k,
            direct: t3(direct, [b, k, 1]),
            edges: Tensor::from_data(TensorData::new(edges, [b, k, k, 2]), device),
            mask: Tensor::from_data(TensorData::new(mask, [b, k, k, 1]), device),
            degree: t3(degree, [b, k, 1]),
            cross: t3(cross, [b, k, k]),
            signal: Tensor::from_data(TensorData::new(signal, [b, k]), device),
            flat: Tensor::from_data(TensorData::new(flat, [b, k * k]), device),
        }
    }
}

/// log2(1 + SINR) summed over links, per network (`[B]`), for powers `p` (`[B, K]`, fractions
/// of Pmax) on a batch: the loss's own arithmetic, checked against the wireless core in tests.
pub fn sum_rate(batch: &GraphBatch, p: Tensor<2>) -> Tensor<1> {
    let [b, k] = [batch.b, batch.k];
    let interference = batch
        .cross
        .clone()
        .matmul(p.clone().reshape([b, k, 1]))
        .reshape([b, k]);
    let sinr = batch.signal.clone() * p / interference.add_scalar(1.0);
    sinr.log1p()
        .div_scalar(std::f64::consts::LN_2)
        .sum_dim(1)
        .reshape([b])
}
