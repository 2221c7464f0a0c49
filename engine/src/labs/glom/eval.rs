//! Held-out evaluation: accuracy at object locations, the island score per iteration, and the
//! per-sample pictures (PCA colours, similarity matrices) the panel draws.

use burn::tensor::Device;

use crate::error::LabError;
use crate::nn::{argmax, argmax_rows, to_vec};

use super::model::{Batch, GlomNet, Update};
use super::world::{CLASSES, FEATURES, Image, Part};

/// Images per forward pass during evaluation (bounds memory).
const CHUNK: usize = 50;

/// What one model made of one set of held-out images.
#[derive(Debug, Clone, PartialEq)]
pub struct SetResult {
    /// Fraction of object locations whose class the final iteration gets right.
    pub acc: f64,
    /// Island score of the top level after the bottom-up pass (index 0) and each iteration.
    pub island: Vec<f64>,
}

/// Cosine similarity of every pair of rows of `e` (`n × d`), as an `n × n` row-major matrix.
pub fn cosine_matrix(e: &[f32], n: usize, d: usize) -> Vec<f32> {
    let norms: Vec<f32> = (0..n)
        .map(|i| {
            e[i * d..(i + 1) * d]
                .iter()
                .map(|v| v * v)
                .sum::<f32>()
                .sqrt()
                .max(1e-6)
        })
        .collect();
    let mut out = vec![0f32; n * n];
    for i in 0..n {
        for j in i..n {
            let dot: f32 = (0..d).map(|k| e[i * d + k] * e[j * d + k]).sum();
            let c = dot / (norms[i] * norms[j]);
            out[i * n + j] = c;
            out[j * n + i] = c;
        }
    }
    out
}

/// Sums of within-object and between cosine similarities of one image, and their pair counts:
/// `(within, n_within, between, n_between)`. "Between" pairs an object's location with an
/// occupied location outside that object (the other object's parts, distractor parts); empty
/// locations are left out, since telling a part from an empty cell needs no context.
fn island_sums(sim: &[f32], object: &[i32], label: &[i32]) -> (f64, usize, f64, usize) {
    let n = object.len();
    let (mut w, mut nw, mut b, mut nb) = (0.0, 0, 0.0, 0);
    for i in 0..n {
        if object[i] < 0 {
            continue;
        }
        for j in 0..n {
            if i == j {
                continue;
            }
            let s = sim[i * n + j] as f64;
            if object[j] == object[i] {
                w += s;
                nw += 1;
            } else if label[j] >= 0 {
                b += s;
                nb += 1;
            }
        }
    }
    (w, nw, b, nb)
}

/// Island score from pooled sums: mean within-object similarity minus mean between.
fn island_score(w: f64, nw: usize, b: f64, nb: usize) -> f64 {
    let mean = |s: f64, n: usize| if n == 0 { 0.0 } else { s / n as f64 };
    mean(w, nw) - mean(b, nb)
}

/// Features of `images` concatenated, for one batch.
fn stack(images: &[Image]) -> Vec<f32> {
    images
        .iter()
        .flat_map(|im| im.features.iter().copied())
        .collect()
}

/// Accuracy and per-iteration island score of `net` (an inference copy on `device`) on `images`.
pub fn evaluate(
    net: &GlomNet,
    u: &Update,
    images: &[Image],
    pos: &[f32],
    device: &Device,
) -> Result<SetResult, LabError> {
    let iters = u.iterations + 1;
    let (mut right, mut total) = (0usize, 0usize);
    let mut sums = vec![(0.0f64, 0usize, 0.0f64, 0usize); iters];
    for chunk in images.chunks(CHUNK) {
        let b = chunk.len();
        let l = chunk[0].label.len();
        let batch = Batch::new(stack(chunk), pos, b, l, net.relative(), device);
        let states = net.states(&batch, u);
        let mut top_last = None;
        for (t, s) in states.into_iter().enumerate() {
            let Some(top) = s.into_iter().last() else {
                continue;
            };
            let d = top.dims()[2];
            let host = to_vec(top.clone())?;
            for (i, im) in chunk.iter().enumerate() {
                let sim = cosine_matrix(&host[i * l * d..(i + 1) * l * d], l, d);
                let (w, nw, bb, nb) = island_sums(&sim, &im.object, &im.label);
                let acc = &mut sums[t];
                acc.0 += w;
                acc.1 += nw;
                acc.2 += bb;
                acc.3 += nb;
            }
            top_last = Some(top);
        }
        let top = top_last.ok_or_else(|| LabError::compute("no iterations"))?;
        let logits = to_vec(net.logits(top))?;
        let k = CLASSES + 1;
        for (i, im) in chunk.iter().enumerate() {
            for (c, &lab) in im.label.iter().enumerate() {
                if (0..CLASSES as i32).contains(&lab) {
                    let row = &logits[(i * l + c) * k..(i * l + c + 1) * k];
                    right += usize::from(argmax(row) == lab as usize);
                    total += 1;
                }
            }
        }
    }
    Ok(SetResult {
        acc: if total == 0 {
            0.0
        } else {
            right as f64 / total as f64
        },
        island: sums
            .into_iter()
            .map(|(w, nw, b, nb)| island_score(w, nw, b, nb))
            .collect(),
    })
}

/// The top `k` principal directions of the rows of `x` (`n × d`, already centred), by power
/// iteration with deflation from fixed start vectors (deterministic).
fn principal_directions(x: &[f32], n: usize, d: usize, k: usize) -> Vec<Vec<f64>> {
    let mut cov = vec![0f64; d * d];
    for r in 0..n {
        let row = &x[r * d..(r + 1) * d];
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += row[i] as f64 * row[j] as f64;
            }
        }
    }
    let mut dirs: Vec<Vec<f64>> = Vec::new();
    for c in 0..k.min(d) {
        let mut v: Vec<f64> = (0..d).map(|i| 1.0 + ((i * 7 + c * 3) % 5) as f64).collect();
        for _ in 0..100 {
            let mut w: Vec<f64> = (0..d)
                .map(|i| (0..d).map(|j| cov[i * d + j] * v[j]).sum())
                .collect();
            for u in &dirs {
                let p: f64 = w.iter().zip(u).map(|(a, b)| a * b).sum();
                for (wi, ui) in w.iter_mut().zip(u) {
                    *wi -= p * ui;
                }
            }
            let norm = w.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm < 1e-12 {
                break;
            }
            v = w.into_iter().map(|a| a / norm).collect();
        }
        dirs.push(v);
    }
    dirs
}

/// Colours for the rows of `x` (`n × d`): the first three principal components, each scaled by
/// 1.5 standard deviations into [0, 255]. The projection is fitted on the rows marked in `fit`
/// (all rows when none is marked) and applied to every row, so colours are comparable.
pub fn pca_colors(x: &[f32], n: usize, d: usize, fit: &[bool]) -> Vec<[u8; 3]> {
    if n == 0 || d == 0 {
        return Vec::new();
    }
    let use_row = |r: usize| fit.get(r).copied().unwrap_or(false);
    let rows: Vec<usize> = if (0..n).any(use_row) {
        (0..n).filter(|&r| use_row(r)).collect()
    } else {
        (0..n).collect()
    };
    let mut mean = vec![0f32; d];
    for &r in &rows {
        for i in 0..d {
            mean[i] += x[r * d + i] / rows.len() as f32;
        }
    }
    let centred: Vec<f32> = (0..n * d).map(|i| x[i] - mean[i % d]).collect();
    let fit_rows: Vec<f32> = rows
        .iter()
        .flat_map(|&r| centred[r * d..(r + 1) * d].iter().copied())
        .collect();
    let dirs = principal_directions(&fit_rows, rows.len(), d, 3);
    let proj: Vec<Vec<f64>> = dirs
        .iter()
        .map(|u| {
            (0..n)
                .map(|r| (0..d).map(|i| centred[r * d + i] as f64 * u[i]).sum())
                .collect()
        })
        .collect();
    (0..n)
        .map(|r| {
            let mut rgb = [128u8; 3];
            for (c, p) in proj.iter().enumerate() {
                let sd = (rows.iter().map(|&q| p[q] * p[q]).sum::<f64>() / rows.len() as f64)
                    .sqrt()
                    .max(1e-9);
                let v = (p[r] / (1.5 * sd)).clamp(-1.0, 1.0);
                rgb[c] = ((v + 1.0) * 127.5).round() as u8;
            }
            rgb
        })
        .collect()
}

/// One held-out image as the panel shows it, with what both models made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleView {
    /// Locations per side.
    pub grid: usize,
    /// The parts as drawn.
    pub parts: Vec<Part>,
    /// Per location: class, distractor label, or -1 (empty).
    pub label: Vec<i32>,
    /// Per location: object 0 or 1, or -1.
    pub object: Vec<i32>,
    /// Per location: the GLOM model's class (or distractor) after the last iteration.
    pub pred: Vec<u8>,
    /// Per location: the T = 0 baseline's prediction, when it is trained.
    pub pred_t0: Option<Vec<u8>>,
    /// `[level][iteration][location]` colours from one PCA per level over all its iterations.
    pub colors: Vec<Vec<Vec<[u8; 3]>>>,
    /// `[iteration]` location × location cosine similarity of the top level, row-major.
    pub sim: Vec<Vec<f32>>,
    /// This image's island score per iteration.
    pub island: Vec<f64>,
}

/// Runs `net` on one image and builds its [`SampleView`] (`base` adds the baseline's guesses).
pub fn sample_view(
    net: &GlomNet,
    u: &Update,
    base: Option<(&GlomNet, &Update)>,
    image: &Image,
    grid: usize,
    pos: &[f32],
    device: &Device,
) -> Result<SampleView, LabError> {
    let l = image.label.len();
    let batch = Batch::new(image.features.clone(), pos, 1, l, net.relative(), device);
    let states = net.states(&batch, u);
    let levels = states.first().map_or(0, |s| s.len());
    let iters = states.len();
    let mut host: Vec<Vec<Vec<f32>>> = vec![Vec::with_capacity(iters); levels];
    let mut dim = 0;
    for s in &states {
        for (lv, e) in s.iter().enumerate() {
            dim = e.dims()[2];
            host[lv].push(to_vec(e.clone())?);
        }
    }
    let colors = host
        .iter()
        .map(|per_iter| {
            let all: Vec<f32> = per_iter.iter().flatten().copied().collect();
            // Fit on the occupied locations so the colour range goes to telling parts and
            // objects apart, not to the trivial part-vs-empty contrast.
            let fit: Vec<bool> = (0..iters * l).map(|r| image.label[r % l] >= 0).collect();
            let c = pca_colors(&all, iters * l, dim, &fit);
            c.chunks(l.max(1)).map(|ch| ch.to_vec()).collect()
        })
        .collect();
    let top = host.last().cloned().unwrap_or_default();
    let sim: Vec<Vec<f32>> = top.iter().map(|e| cosine_matrix(e, l, dim)).collect();
    let island = sim
        .iter()
        .map(|s| {
            let (w, nw, b, nb) = island_sums(s, &image.object, &image.label);
            island_score(w, nw, b, nb)
        })
        .collect();
    let predict = |n: &GlomNet, u: &Update| -> Result<Vec<u8>, LabError> {
        let st = n.states(&batch, u);
        let top = st
            .into_iter()
            .last()
            .and_then(|s| s.into_iter().last())
            .ok_or_else(|| LabError::compute("no iterations"))?;
        let logits = to_vec(n.logits(top))?;
        Ok(argmax_rows(&logits, CLASSES + 1).map(|c| c as u8).collect())
    };
    let pred = predict(net, u)?;
    let pred_t0 = match base {
        Some((b, bu)) => Some(predict(b, bu)?),
        None => None,
    };
    debug_assert_eq!(image.features.len(), l * FEATURES);
    Ok(SampleView {
        grid,
        parts: image.parts.clone(),
        label: image.label.clone(),
        object: image.object.clone(),
        pred,
        pred_t0,
        colors,
        sim,
        island,
    })
}
