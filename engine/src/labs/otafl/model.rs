//! The federated models (multinomial logistic regression and a 784-H-10 ReLU MLP) with
//! hand-written softmax cross-entropy gradients over one flat parameter vector, and the client
//! data split.
//!
//! Why not burn: each round every scheme runs every client's local steps on a 32-image batch of
//! a model of 8k–25k parameters, and all that is exchanged is the flat update vector that the
//! radio scales entry by entry. Flat `f32` loops keep the update a plain slice, need no tensor
//! round trips per client, and are bit-for-bit deterministic on any thread.

use crate::data::mnist::{CLASSES, PIXELS, Split};
use crate::rng::Rng;

/// Which model the clients train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// Multinomial logistic regression: W (10 × 784), b (10).
    Logreg,
    /// 784-H-10 with a ReLU hidden layer: W1 (H × 784), b1, W2 (10 × H), b2.
    Mlp(usize),
}

fn pixels(img: &[u8], out: &mut [f32]) {
    for (o, &p) in out.iter_mut().zip(img) {
        *o = p as f32 / 255.0;
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn softmax(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    for v in z.iter_mut() {
        *v /= s;
    }
}

impl Net {
    /// Number of parameters `d` (the length of every update vector).
    pub fn dim(self) -> usize {
        match self {
            Net::Logreg => CLASSES * PIXELS + CLASSES,
            Net::Mlp(h) => h * PIXELS + h + CLASSES * h + CLASSES,
        }
    }

    /// Initial weights: zeros for logistic regression; He-uniform weights and zero biases for
    /// the MLP.
    pub fn init(self, rng: &mut Rng) -> Vec<f32> {
        let mut w = vec![0.0f32; self.dim()];
        if let Net::Mlp(h) = self {
            let b1 = (6.0 / PIXELS as f32).sqrt();
            for x in &mut w[..h * PIXELS] {
                *x = rng.range_f32(-b1, b1);
            }
            let off = h * PIXELS + h;
            let b2 = (6.0 / h as f32).sqrt();
            for x in &mut w[off..off + CLASSES * h] {
                *x = rng.range_f32(-b2, b2);
            }
        }
        w
    }

    /// Class scores of one image (pixels already scaled), using `hid` as scratch.
    fn logits(self, w: &[f32], x: &[f32], hid: &mut Vec<f32>, z: &mut [f32; CLASSES]) {
        match self {
            Net::Logreg => {
                let bias = &w[CLASSES * PIXELS..];
                for (c, (zc, bc)) in z.iter_mut().zip(bias).enumerate() {
                    *zc = dot(&w[c * PIXELS..(c + 1) * PIXELS], x) + bc;
                }
            }
            Net::Mlp(h) => {
                hid.resize(h, 0.0);
                let (w1, rest) = w.split_at(h * PIXELS);
                let (b1, rest) = rest.split_at(h);
                let (w2, b2) = rest.split_at(CLASSES * h);
                for (j, (hj, bj)) in hid.iter_mut().zip(b1).enumerate() {
                    *hj = (dot(&w1[j * PIXELS..(j + 1) * PIXELS], x) + bj).max(0.0);
                }
                for (c, (zc, bc)) in z.iter_mut().zip(b2).enumerate() {
                    *zc = dot(&w2[c * h..(c + 1) * h], hid) + bc;
                }
            }
        }
    }

    /// Mean cross-entropy over the examples `idx` of `data`; writes its gradient into `g`.
    pub fn grad(self, w: &[f32], data: &Split, idx: &[usize], g: &mut [f32]) -> f32 {
        g.iter_mut().for_each(|x| *x = 0.0);
        let mut x = vec![0.0f32; PIXELS];
        let mut hid = Vec::new();
        let mut z = [0.0f32; CLASSES];
        let mut loss = 0.0;
        let inv = 1.0 / idx.len().max(1) as f32;
        for &i in idx {
            pixels(data.image(i), &mut x);
            self.logits(w, &x, &mut hid, &mut z);
            softmax(&mut z);
            let y = data.labels[i] as usize;
            loss -= z[y].max(1e-12).ln();
            z[y] -= 1.0;
            match self {
                Net::Logreg => {
                    for (c, &zc) in z.iter().enumerate() {
                        let dz = zc * inv;
                        for (gv, &xv) in g[c * PIXELS..(c + 1) * PIXELS].iter_mut().zip(&x) {
                            *gv += dz * xv;
                        }
                        g[CLASSES * PIXELS + c] += dz;
                    }
                }
                Net::Mlp(h) => {
                    let (g1, grest) = g.split_at_mut(h * PIXELS);
                    let (gb1, grest) = grest.split_at_mut(h);
                    let (g2, gb2) = grest.split_at_mut(CLASSES * h);
                    let w2 = &w[h * PIXELS + h..h * PIXELS + h + CLASSES * h];
                    let mut dh = vec![0.0f32; h];
                    for (c, &zc) in z.iter().enumerate() {
                        let dz = zc * inv;
                        gb2[c] += dz;
                        let g2c = &mut g2[c * h..(c + 1) * h];
                        let w2c = &w2[c * h..(c + 1) * h];
                        for (((gv, &hv), dv), &wv) in g2c.iter_mut().zip(&hid).zip(&mut dh).zip(w2c)
                        {
                            *gv += dz * hv;
                            *dv += dz * wv;
                        }
                    }
                    for (j, ((&hv, &dv), gb)) in hid.iter().zip(&dh).zip(gb1.iter_mut()).enumerate()
                    {
                        if hv <= 0.0 {
                            continue;
                        }
                        *gb += dv;
                        for (gv, &xv) in g1[j * PIXELS..(j + 1) * PIXELS].iter_mut().zip(&x) {
                            *gv += dv * xv;
                        }
                    }
                }
            }
        }
        loss * inv
    }

    /// Share of the first `limit` examples of `data` classified correctly.
    pub fn accuracy(self, w: &[f32], data: &Split, limit: usize) -> f64 {
        let n = limit.min(data.len());
        let mut x = vec![0.0f32; PIXELS];
        let mut hid = Vec::new();
        let mut z = [0.0f32; CLASSES];
        let mut right = 0usize;
        for i in 0..n {
            pixels(data.image(i), &mut x);
            self.logits(w, &x, &mut hid, &mut z);
            let best = (0..CLASSES)
                .max_by(|&a, &b| z[a].total_cmp(&z[b]))
                .unwrap_or(0);
            right += usize::from(best == data.labels[i] as usize);
        }
        right as f64 / n.max(1) as f64
    }
}

/// Splits the first `n` of a seeded shuffle of the training examples across `clients`.
///
/// IID: equal contiguous pieces of the shuffle. Non-IID (the shard rule of McMahan et al. 2017):
/// the `n` examples are sorted by label, cut into `clients · shards` equal shards, and each
/// client gets `shards` shards chosen at random, so with 2 shards most clients hold two digits.
pub fn split_clients(
    labels: &[u8],
    n: usize,
    clients: usize,
    non_iid: bool,
    shards: usize,
    rng: &mut Rng,
) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..labels.len()).collect();
    rng.shuffle(&mut idx);
    idx.truncate(n.min(labels.len()));
    if !non_iid {
        let per = idx.len() / clients;
        return (0..clients)
            .map(|k| idx[k * per..(k + 1) * per].to_vec())
            .collect();
    }
    idx.sort_by_key(|&i| labels[i]);
    let total = clients * shards;
    let per = idx.len() / total;
    let mut order: Vec<usize> = (0..total).collect();
    rng.shuffle(&mut order);
    (0..clients)
        .map(|k| {
            order[k * shards..(k + 1) * shards]
                .iter()
                .flat_map(|&s| idx[s * per..(s + 1) * per].iter().copied())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy_split(n: usize, rng: &mut Rng) -> Split {
        Split {
            images: (0..n * PIXELS).map(|_| rng.below(256) as u8).collect(),
            labels: (0..n).map(|i| (i % CLASSES) as u8).collect(),
        }
    }

    /// Both models' gradients agree with central finite differences.
    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = Rng::new(1);
        let data = toy_split(6, &mut rng);
        let idx: Vec<usize> = (0..6).collect();
        for net in [Net::Logreg, Net::Mlp(5)] {
            let mut w = net.init(&mut rng);
            for x in w.iter_mut() {
                *x += rng.range_f32(-0.05, 0.05);
            }
            let mut g = vec![0.0; net.dim()];
            net.grad(&w, &data, &idx, &mut g);
            let mut scratch = vec![0.0; net.dim()];
            for _ in 0..20 {
                let i = rng.below(net.dim());
                let eps = 1e-2;
                let mut wp = w.clone();
                wp[i] += eps;
                let lp = net.grad(&wp, &data, &idx, &mut scratch);
                wp[i] -= 2.0 * eps;
                let lm = net.grad(&wp, &data, &idx, &mut scratch);
                let fd = (lp - lm) / (2.0 * eps);
                assert!(
                    (fd - g[i]).abs() < 2e-3 + 0.05 * g[i].abs(),
                    "{net:?} {i}: {fd} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn non_iid_clients_hold_few_classes_and_iid_all() {
        let labels: Vec<u8> = (0..2000).map(|i| (i % 10) as u8).collect();
        let mut rng = Rng::new(2);
        let non = split_clients(&labels, 2000, 10, true, 2, &mut rng);
        let iid = split_clients(&labels, 2000, 10, false, 2, &mut rng);
        let classes = |c: &Vec<usize>| {
            let mut s: Vec<u8> = c.iter().map(|&i| labels[i]).collect();
            s.sort_unstable();
            s.dedup();
            s.len()
        };
        assert!(non.iter().all(|c| c.len() == 200 && classes(c) <= 2));
        assert!(iid.iter().all(|c| c.len() == 200 && classes(c) == 10));
        // No example is given twice.
        let mut all: Vec<usize> = non.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 2000);
    }
}
