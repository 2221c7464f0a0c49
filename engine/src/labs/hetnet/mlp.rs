//! A tiny f32 multilayer perceptron with hand-written backprop and Adam.
//!
//! Why not burn: the lab runs 2 learners × (1 + n_small) agents, each acting on one observation
//! and updating on a minibatch every slot, and burn's per-op dispatch dominates such tiny nets.
//! Measured (`examples/hetnet_bench.rs -- mlp`, release, batch 32, one update plus one action,
//! against the shared `nn::Mlp` on burn's CPU backend, 2 otherwise idle cores): at the lab's
//! default 8→32→32→10 this code does about 23,000 per second and burn about 8,600 (burn takes
//! 2.7× as long; 2.0–3.0× on busy cores); at 8→64→64→10 the two are level (6,700–7,000/s).
//! Moving to burn would also change the lab's numbers (another summation order, burn's Adam). So this code stays: it is small, checked against finite differences below, and
//! bit-for-bit deterministic with no global state; the maths is the standard dense-layer chain
//! rule.

use crate::rng::Rng;

/// A fully connected ReLU network (linear output), parameters in one flat vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// Layer widths, input first, output last.
    pub sizes: Vec<usize>,
    /// For each layer `l`: W (out × in, row-major) then b (out).
    pub params: Vec<f32>,
}

/// Adam state for one [`Mlp`].
#[derive(Debug, Clone)]
pub struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Mlp {
    /// He-uniform weights for the ReLU layers, a 10× smaller output layer (Q-values start near
    /// zero), zero biases.
    pub fn new(sizes: &[usize], rng: &mut Rng) -> Mlp {
        let mut params = Vec::new();
        let layers = sizes.len() - 1;
        for l in 0..layers {
            let (i, o) = (sizes[l], sizes[l + 1]);
            let mut bound = (6.0 / i as f32).sqrt();
            if l + 1 == layers {
                bound *= 0.1;
            }
            params.extend((0..i * o).map(|_| rng.range_f32(-bound, bound)));
            params.extend(std::iter::repeat_n(0.0, o));
        }
        Mlp {
            sizes: sizes.to_vec(),
            params,
        }
    }

    fn offsets(&self, l: usize) -> (usize, usize) {
        let mut off = 0;
        for k in 0..l {
            off += self.sizes[k] * self.sizes[k + 1] + self.sizes[k + 1];
        }
        (off, off + self.sizes[l] * self.sizes[l + 1])
    }

    /// Forward pass of `batch` rows of `x`; returns every layer's output (post-ReLU for hidden
    /// layers), the input first.
    pub fn forward(&self, x: &[f32], batch: usize) -> Vec<Vec<f32>> {
        let layers = self.sizes.len() - 1;
        let mut acts = Vec::with_capacity(layers + 1);
        acts.push(x.to_vec());
        for l in 0..layers {
            let (ni, no) = (self.sizes[l], self.sizes[l + 1]);
            let (w0, b0) = self.offsets(l);
            let w = &self.params[w0..w0 + ni * no];
            let b = &self.params[b0..b0 + no];
            let input = &acts[l];
            let mut out = vec![0.0f32; batch * no];
            for r in 0..batch {
                let xr = &input[r * ni..(r + 1) * ni];
                let yr = &mut out[r * no..(r + 1) * no];
                for (o, y) in yr.iter_mut().enumerate() {
                    let wr = &w[o * ni..(o + 1) * ni];
                    let mut s = b[o];
                    for (a, c) in wr.iter().zip(xr) {
                        s += a * c;
                    }
                    *y = if l + 1 < layers { s.max(0.0) } else { s };
                }
            }
            acts.push(out);
        }
        acts
    }

    /// Output of one input row.
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        self.forward(x, 1).pop().unwrap_or_default()
    }

    /// Gradient of a loss w.r.t. the parameters, given the activations of [`Mlp::forward`] and
    /// the loss gradient w.r.t. the output (`batch × out`).
    pub fn backward(&self, acts: &[Vec<f32>], dout: Vec<f32>, batch: usize) -> Vec<f32> {
        let layers = self.sizes.len() - 1;
        let mut grad = vec![0.0f32; self.params.len()];
        let mut delta = dout;
        for l in (0..layers).rev() {
            let (ni, no) = (self.sizes[l], self.sizes[l + 1]);
            let (w0, b0) = self.offsets(l);
            let input = &acts[l];
            for r in 0..batch {
                let xr = &input[r * ni..(r + 1) * ni];
                for o in 0..no {
                    let d = delta[r * no + o];
                    if d == 0.0 {
                        continue;
                    }
                    grad[b0 + o] += d;
                    let gw = &mut grad[w0 + o * ni..w0 + (o + 1) * ni];
                    for (g, x) in gw.iter_mut().zip(xr) {
                        *g += d * x;
                    }
                }
            }
            if l > 0 {
                let w = &self.params[w0..w0 + ni * no];
                let mut prev = vec![0.0f32; batch * ni];
                for r in 0..batch {
                    let pr = &mut prev[r * ni..(r + 1) * ni];
                    for o in 0..no {
                        let d = delta[r * no + o];
                        if d == 0.0 {
                            continue;
                        }
                        for (p, wv) in pr.iter_mut().zip(&w[o * ni..(o + 1) * ni]) {
                            *p += d * wv;
                        }
                    }
                    // ReLU derivative: the stored activation is positive where the unit was on.
                    for (p, a) in pr.iter_mut().zip(&input[r * ni..(r + 1) * ni]) {
                        if *a <= 0.0 {
                            *p = 0.0;
                        }
                    }
                }
                delta = prev;
            }
        }
        grad
    }
}

impl Adam {
    /// Zeroed state for `mlp`.
    pub fn new(mlp: &Mlp) -> Adam {
        Adam {
            m: vec![0.0; mlp.params.len()],
            v: vec![0.0; mlp.params.len()],
            t: 0,
        }
    }

    /// One Adam step (β = 0.9, 0.999, ε = 1e-8) of size `lr` along `grad`.
    pub fn step(&mut self, mlp: &mut Mlp, grad: &[f32], lr: f32) {
        const B1: f32 = 0.9;
        const B2: f32 = 0.999;
        self.t += 1;
        let c1 = 1.0 - B1.powi(self.t);
        let c2 = 1.0 - B2.powi(self.t);
        for (((p, g), m), v) in mlp
            .params
            .iter_mut()
            .zip(grad)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            *m = B1 * *m + (1.0 - B1) * g;
            *v = B2 * *v + (1.0 - B2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(1);
        let mut net = Mlp::new(&[3, 5, 4, 2], &mut rng);
        // Push the output layer up so the check sees well-sized gradients everywhere.
        let x = vec![0.3, -0.7, 1.1, 0.5, 0.2, -0.4];
        // Loss = Σ out · c with fixed c.
        let c = [0.7f32, -1.3, 0.4, 0.9];
        let loss = |n: &Mlp| -> f64 {
            let out = n.forward(&x, 2).pop().expect("output");
            out.iter().zip(&c).map(|(a, b)| (a * b) as f64).sum()
        };
        let acts = net.forward(&x, 2);
        let grad = net.backward(&acts, c.to_vec(), 2);
        for i in (0..net.params.len()).step_by(3) {
            let h = 1e-3;
            let orig = net.params[i];
            net.params[i] = orig + h;
            let up = loss(&net);
            net.params[i] = orig - h;
            let down = loss(&net);
            net.params[i] = orig;
            let fd = (up - down) / (2.0 * h as f64);
            assert!(
                (fd - grad[i] as f64).abs() < 2e-2 * (1.0 + fd.abs()),
                "param {i}: fd {fd} vs backprop {}",
                grad[i]
            );
        }
    }
}
