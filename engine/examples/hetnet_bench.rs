//! Hand-run benchmark of the HetNet lab (not a test: timings depend on the machine):
//! WMMSE and FP solve time for 10 and 20 links (single full-power start, and WMMSE's
//! multi-start reference the lab uses), environment slots per second (the full lab
//! step: both learners plus all references), and one DQN update of an 8→64→64→10 net with the
//! hand-written MLP versus burn's CPU backend (the reason the lab uses the former).
//!
//! `cargo run --release -p trainscope-engine --example hetnet_bench`

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use trainscope_engine::labs::hetnet::mlp::{Adam, Mlp};
use trainscope_engine::labs::hetnet::{HetnetConfig, HetnetLab};
use trainscope_engine::nn::{init_linear_he, matrix};
use trainscope_engine::rng::Rng;
use trainscope_engine::wireless::{
    Fading, Gains, LayoutConfig, drop_users, fp, jakes_rho, multi_start, place_aps, sum_rate,
    wmmse, wmmse_from,
};
use trainscope_engine::{Backend, Lab};

#[derive(Module, Debug)]
struct BurnMlp {
    layers: Vec<burn::nn::Linear>,
}

impl BurnMlp {
    fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        let n = self.layers.len();
        for (i, l) in self.layers.iter().enumerate() {
            x = l.forward(x);
            if i + 1 < n {
                x = relu(x);
            }
        }
        x
    }
}

fn channels(n_links: usize, count: usize, rng: &mut Rng) -> (Vec<Gains>, Vec<f64>) {
    let cfg = LayoutConfig {
        n_small: n_links - 1,
        cell_radius_m: 500.0,
        ap_min_separation_m: 60.0,
        ..LayoutConfig::default()
    };
    let aps = place_aps(&cfg, rng);
    let pmax = aps.iter().map(|a| a.max_power_w).collect();
    let gs = (0..count)
        .map(|_| {
            let users = drop_users(&cfg, &aps, rng);
            let large = Gains::large_scale(&aps, &users, 8.0, rng);
            large.with_fading(&Fading::new(n_links, jakes_rho(10.0, 0.02), rng))
        })
        .collect();
    (gs, pmax)
}

fn main() {
    let mut rng = Rng::new(7);
    let noise = trainscope_engine::wireless::dbm_to_watt(-114.0);
    for n in [5, 10, 20] {
        let (gs, pmax) = channels(n, 300, &mut rng);
        // WMMSE with the lab's tolerance (1e-4 nats) and with Nasir & Guo's (0.01).
        // "multi" = the lab's reference: best of the full-power start and every drop-one start.
        for (name, tol) in [
            ("WMMSE", 1e-4),
            ("WMMSE", 1e-2),
            ("FP", 1e-4),
            ("WMMSE multi", 1e-4),
        ] {
            let t = Instant::now();
            let mut iters = 0;
            let mut rate = 0.0;
            for g in &gs {
                let s = match name {
                    "WMMSE" => wmmse(g, &pmax, noise, 100, tol),
                    "FP" => fp(g, &pmax, noise, 100, tol),
                    _ => multi_start(g, &pmax, noise, |p0| {
                        wmmse_from(g, &pmax, noise, p0, 100, tol)
                    }),
                };
                iters += s.iterations;
                rate += sum_rate(g, &s.p, noise);
            }
            let per = t.elapsed().as_secs_f64() / gs.len() as f64;
            println!(
                "{name:11} tol {tol:.0e} {n:2} links: {:8.3} ms per solve, {:5.1} iterations on average, mean sum rate {:.2} bit/s/Hz",
                per * 1e3,
                iters as f64 / gs.len() as f64,
                rate / gs.len() as f64
            );
        }
    }

    let device = Backend::cpu().device;
    let mut lab = HetnetLab::new(HetnetConfig::default(), &device).expect("lab");
    // Warm past the replay threshold so every slot trains.
    for _ in 0..200 {
        lab.step().expect("step");
    }
    let slots = 3000;
    let t = Instant::now();
    for _ in 0..slots {
        lab.step().expect("step");
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "lab step (1 slot: 2 learners × 5 agents act + train, WMMSE/FP/max/random): {:.0} slots/s",
        slots as f64 / s
    );

    let sizes = [8, 64, 64, 10];
    let batch = 32;
    let x: Vec<f32> = (0..batch * 8).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut mlp = Mlp::new(&sizes, &mut rng);
    let mut adam = Adam::new(&mlp);
    let reps = 2000;
    let t = Instant::now();
    for _ in 0..reps {
        let acts = mlp.forward(&x, batch);
        let d = acts
            .last()
            .map(|q| q.iter().map(|v| v * 0.01).collect())
            .unwrap_or_default();
        let g = mlp.backward(&acts, d, batch);
        adam.step(&mut mlp, &g, 1e-3);
        let _ = mlp.predict(&x[..8]);
    }
    let hand = t.elapsed().as_secs_f64() / reps as f64;
    println!("hand-written MLP: {:.1} µs per update+act", hand * 1e6);

    let ad: Device = if device.is_autodiff() {
        device.clone()
    } else {
        device.clone().autodiff()
    };
    let mut net = BurnMlp {
        layers: (0..3)
            .map(|l| init_linear_he(sizes[l], sizes[l + 1], &mut rng, &ad))
            .collect(),
    };
    let mut opt = AdamConfig::new().init();
    let reps = 300;
    let t = Instant::now();
    for _ in 0..reps {
        let xb = matrix(x.clone(), batch, 8, &ad);
        let q = net.forward(xb);
        let loss = (q.clone() * q).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = opt.step(1e-3, net, grads);
        let one = matrix(x[..8].to_vec(), 1, 8, &ad.clone().without_autodiff());
        let _ = net.valid().forward(one).into_data();
    }
    let burn_t = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "burn (CPU backend): {:.1} µs per update+act, {:.1}× the hand-written MLP",
        burn_t * 1e6,
        burn_t / hand
    );
}
