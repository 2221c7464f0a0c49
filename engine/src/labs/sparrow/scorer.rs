//! One small burn network used for every learned part of the lab: a multilayer perceptron (or,
//! with no hidden layer, a logistic regression) over hashed sparse features, trained either as
//! a binary classifier or as a Bradley-Terry preference model.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::activation::softplus;
use burn::tensor::{Device, Tensor, TensorData};

use crate::data::text::Sparse;
use crate::error::LabError;
use crate::nn::{Activation, Mlp, descend, init_linear, matrix, scalar, to_vec};
use crate::rng::Rng;

/// Rows per forward pass at inference (bounds memory: rows x dim floats).
const PREDICT_CHUNK: usize = 512;

/// An MLP from `dim` hashed features to one logit.
#[derive(Module, Debug)]
pub struct Scorer {
    /// ReLU hidden layers then the linear output layer.
    pub mlp: Mlp,
}

/// How to train a [`Scorer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Passes over the data.
    pub epochs: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Examples (or pairs) per batch.
    pub batch: usize,
    /// L2 penalty on the weights (scaled per batch).
    pub l2: f64,
}

impl Scorer {
    /// A scorer with the given input width and hidden widths.
    pub fn new(dim: usize, hidden: &[usize], rng: &mut Rng, device: &Device) -> Scorer {
        let mut layers = Vec::with_capacity(hidden.len() + 1);
        let mut prev = dim;
        for &h in hidden {
            layers.push(init_linear(prev, h, rng, device));
            prev = h;
        }
        // A zero output layer starts every prediction at p = 0.5 / equal preference.
        layers.push(Linear {
            weight: Param::from_tensor(Tensor::zeros([prev, 1], device)),
            bias: Some(Param::from_tensor(Tensor::zeros([1], device))),
        });
        Scorer {
            mlp: Mlp::from_layers(layers, Activation::Relu),
        }
    }

    /// Input width.
    pub fn dim(&self) -> usize {
        self.mlp.d_in()
    }

    /// Logits of each row of `x`, shape `[n]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        self.mlp.forward(x).flatten(0, 1)
    }

    fn l2(&self) -> Tensor<1> {
        let mut total: Option<Tensor<1>> = None;
        for l in &self.mlp.layers {
            let s = l.weight.val().square().sum();
            total = Some(match total {
                Some(t) => t + s,
                None => s,
            });
        }
        total.unwrap_or_else(|| Tensor::zeros([1], &self.mlp.layers[0].weight.device()))
    }

    /// Logits for `rows`, computed without autodiff.
    pub fn logits(&self, rows: &[&Sparse]) -> Result<Vec<f32>, LabError> {
        let model = self.valid();
        let device = model.mlp.layers[0].weight.device();
        let dim = self.dim();
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(PREDICT_CHUNK) {
            let x = dense(chunk, dim, &device);
            out.extend(to_vec(model.forward(x))?);
        }
        Ok(out)
    }

    /// Probabilities (sigmoid of the logits) for `rows`.
    pub fn probs(&self, rows: &[&Sparse]) -> Result<Vec<f32>, LabError> {
        Ok(self
            .logits(rows)?
            .into_iter()
            .map(|z| 1.0 / (1.0 + (-z).exp()))
            .collect())
    }
}

/// Stacks sparse rows into a dense `[n, dim]` tensor.
pub fn dense(rows: &[&Sparse], dim: usize, device: &Device) -> Tensor<2> {
    let mut data = vec![0.0f32; rows.len() * dim];
    for (r, row) in rows.iter().enumerate() {
        row.write_dense(&mut data[r * dim..(r + 1) * dim]);
    }
    matrix(data, rows.len(), dim, device)
}

/// Runs one training pass `train` (such as [`epoch_binary`] or [`epoch_pairs`], which take the
/// model by value because burn's optimiser step does) on the model stored in `slot`, putting
/// the trained model back. Returns the pass's loss.
pub fn train_in_place(
    slot: &mut Scorer,
    device: &Device,
    train: impl FnOnce(Scorer) -> Result<(Scorer, f64), LabError>,
) -> Result<f64, LabError> {
    let model = std::mem::replace(slot, Scorer::new(1, &[], &mut Rng::new(0), device));
    let (trained, loss) = train(model)?;
    *slot = trained;
    Ok(loss)
}

/// One epoch of logistic-regression training on `(x, y)` with example weights `w`; returns the
/// trained model and the mean loss. `device` must be autodiff-enabled.
#[allow(clippy::too_many_arguments)]
pub fn epoch_binary(
    mut model: Scorer,
    opt: &mut ModuleOptimizer,
    x: &[&Sparse],
    y: &[f32],
    w: &[f32],
    fit: Fit,
    rng: &mut Rng,
    device: &Device,
) -> Result<(Scorer, f64), LabError> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    rng.shuffle(&mut order);
    let dim = model.dim();
    let (mut sum, mut n) = (0.0, 0usize);
    for batch in order.chunks(fit.batch.max(1)) {
        let rows: Vec<&Sparse> = batch.iter().map(|&i| x[i]).collect();
        let xb = dense(&rows, dim, device);
        let nb = batch.len();
        let yb = Tensor::<1>::from_data(
            TensorData::new(batch.iter().map(|&i| y[i]).collect::<Vec<_>>(), [nb]),
            device,
        );
        let wb = Tensor::<1>::from_data(
            TensorData::new(batch.iter().map(|&i| w[i]).collect::<Vec<_>>(), [nb]),
            device,
        );
        let z = model.forward(xb);
        // Binary cross-entropy from logits: softplus(z) - y z.
        let loss_each = softplus(z.clone(), 1.0) - z * yb;
        let data_loss = (loss_each * wb.clone()).sum() / wb.sum().add_scalar(1e-6);
        let loss = data_loss.clone() + model.l2().mul_scalar(fit.l2);
        sum += scalar(data_loss.detach())? * batch.len() as f64;
        n += batch.len();
        model = descend(model, loss, opt, fit.lr);
    }
    Ok((model, sum / n.max(1) as f64))
}

/// One epoch of Bradley-Terry training on preference pairs `(winner, loser)`: the loss is
/// `-log sigmoid(s(winner) - s(loser))`. Returns the model and the mean loss.
pub fn epoch_pairs(
    mut model: Scorer,
    opt: &mut ModuleOptimizer,
    pairs: &[(&Sparse, &Sparse)],
    fit: Fit,
    rng: &mut Rng,
    device: &Device,
) -> Result<(Scorer, f64), LabError> {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    rng.shuffle(&mut order);
    let dim = model.dim();
    let (mut sum, mut n) = (0.0, 0usize);
    for batch in order.chunks(fit.batch.max(1)) {
        let win: Vec<&Sparse> = batch.iter().map(|&i| pairs[i].0).collect();
        let lose: Vec<&Sparse> = batch.iter().map(|&i| pairs[i].1).collect();
        let margin =
            model.forward(dense(&win, dim, device)) - model.forward(dense(&lose, dim, device));
        let data_loss = softplus(-margin, 1.0).mean();
        let loss = data_loss.clone() + model.l2().mul_scalar(fit.l2);
        sum += scalar(data_loss.detach())? * batch.len() as f64;
        n += batch.len();
        model = descend(model, loss, opt, fit.lr);
    }
    Ok((model, sum / n.max(1) as f64))
}

/// A fresh Adam optimiser for a scorer.
pub fn adam() -> ModuleOptimizer {
    AdamConfig::new().init()
}

/// Trains a fresh scorer as a binary classifier for `fit.epochs` epochs (all at once; the lab
/// uses [`epoch_binary`] directly where it wants progress between epochs).
#[allow(clippy::too_many_arguments)]
pub fn train_binary(
    dim: usize,
    hidden: &[usize],
    x: &[&Sparse],
    y: &[f32],
    fit: Fit,
    rng: &mut Rng,
    device: &Device,
) -> Result<Scorer, LabError> {
    let mut model = Scorer::new(dim, hidden, rng, device);
    let mut opt = adam();
    let w = vec![1.0; x.len()];
    for _ in 0..fit.epochs {
        model = epoch_binary(model, &mut opt, x, y, &w, fit, rng, device)?.0;
    }
    Ok(model)
}
