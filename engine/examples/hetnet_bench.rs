//! Hand-run benchmark of the HetNet lab (not a test: timings depend on the machine):
//! WMMSE and FP solve time for 10 and 20 links (single full-power start, and WMMSE's
//! multi-start reference the lab uses), environment slots per second (the full lab
//! step: both learners plus all references), and one DQN update plus one action of the lab's
//! 8→32→32→10 net (and an 8→64→64→10 one) with the hand-written MLP versus the shared burn MLP
//! on burn's CPU backend.
//!
//! `cargo run --release -p trainscope-engine --example hetnet_bench` (append `-- mlp` for the MLP
//! comparison alone)

use std::time::Instant;

use burn::module::Module;
use burn::optim::AdamConfig;
use trainscope_engine::labs::hetnet::mlp::{Adam, Mlp};
use trainscope_engine::labs::hetnet::{HetnetConfig, HetnetLab};
use trainscope_engine::nn::{self, autodiff_device, descend, matrix};
use trainscope_engine::rng::Rng;
use trainscope_engine::wireless::{
    Fading, Gains, LayoutConfig, drop_users, fp, jakes_rho, multi_start, place_aps, sum_rate,
    wmmse, wmmse_from,
};
use trainscope_engine::{Backend, Lab};

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
    let device = Backend::cpu().device;
    if std::env::args().any(|a| a == "mlp") {
        for hidden in [32, 64] {
            mlp_race(&[8, hidden, hidden, 10], 32, &device, &mut rng);
        }
        return;
    }
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

    // The lab's default net (8→32→32→10) and the wider one measured first.
    for hidden in [32, 64] {
        mlp_race(&[8, hidden, hidden, 10], 32, &device, &mut rng);
    }
}

/// One DQN-style update (forward, backward, Adam) on a batch plus one greedy action, timed for
/// the hand-written MLP and for the shared burn MLP (`nn::Mlp`) on the CPU backend.
fn mlp_race(sizes: &[usize], batch: usize, device: &burn::tensor::Device, rng: &mut Rng) {
    let d_in = sizes[0];
    let x: Vec<f32> = (0..batch * d_in).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut mlp = Mlp::new(sizes, rng);
    let mut adam = Adam::new(&mlp);
    let mut hand_step = || {
        let acts = mlp.forward(&x, batch);
        let d = acts
            .last()
            .map(|q| q.iter().map(|v| v * 0.01).collect())
            .unwrap_or_default();
        let g = mlp.backward(&acts, d, batch);
        adam.step(&mut mlp, &g, 1e-3);
        let _ = mlp.predict(&x[..d_in]);
    };
    let hand = time_per_call(&mut hand_step, 200, 4000);

    let ad = autodiff_device(device);
    let inference = ad.clone().without_autodiff();
    let mut net = Some(nn::Mlp::he(sizes, rng, &ad));
    let mut opt = AdamConfig::new().init();
    let mut burn_step = || {
        let Some(n) = net.take() else { return };
        let q = n.forward(matrix(x.clone(), batch, d_in, &ad));
        let loss = (q.clone() * q).mean();
        let n = descend(n, loss, &mut opt, 1e-3);
        let one = matrix(x[..d_in].to_vec(), 1, d_in, &inference);
        let _ = n.valid().forward(one).into_data();
        net = Some(n);
    };
    let burn_t = time_per_call(&mut burn_step, 50, 600);
    println!(
        "MLP {sizes:?}, batch {batch}, one update + one action: hand-written {:.1} µs ({:.0}/s), \
         burn CPU {:.1} µs ({:.0}/s): burn takes {:.2}× as long",
        hand * 1e6,
        1.0 / hand,
        burn_t * 1e6,
        1.0 / burn_t,
        burn_t / hand
    );
}

/// Seconds per call of `f`, after `warm` untimed calls.
fn time_per_call(f: &mut impl FnMut(), warm: usize, reps: usize) -> f64 {
    for _ in 0..warm {
        f();
    }
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    t.elapsed().as_secs_f64() / reps as f64
}
