//! Seconds per over-the-air round for each receiver of the OTA-FL lab: channel draw and
//! estimation, combiner and transmit design, and the aggregation of a d-entry update, at the
//! presets' size (L = 16 APs × N = 4, K = 20, τ_p = 10, d = 25,450) and as L and K grow.
//!
//!   cargo run -p trainscope-engine --example otafl_bench [-- ROUNDS]
//!
//! Figures go to the README; nothing here is asserted.

use std::time::Instant;

use trainscope_engine::labs::otafl::radio::{RECEIVERS, Radio, draw_channels};
use trainscope_engine::rng::Rng;
use trainscope_engine::wireless::aircomp::aggregate;
use trainscope_engine::wireless::cellfree::{Drop, RadioConfig};

fn case(aps: usize, clients: usize, rounds: usize, d: usize) {
    let cfg = RadioConfig {
        aps,
        antennas: 4,
        clients,
        side_m: 400.0,
        ap_height_m: 10.0,
        shadowing_db: 4.0,
        asd_deg: 10.0,
        bandwidth_hz: 20e6,
        noise_figure_db: 7.0,
    };
    let mut rng = Rng::new(1);
    let t0 = Instant::now();
    let drop = Drop::new(&cfg, &mut rng);
    let p = 0.01;
    let radio = Radio::new(&drop, 10, p, 32, &mut rng);
    let setup = t0.elapsed().as_secs_f64();
    let s: Vec<Vec<f32>> = (0..clients)
        .map(|_| (0..d).map(|_| rng.normal() as f32).collect())
        .collect();
    let budget = vec![p.sqrt(); clients];
    let mut draw_t = 0.0;
    let mut per = vec![0.0; RECEIVERS.len()];
    for _ in 0..rounds {
        let t = Instant::now();
        let ch = draw_channels(&drop, &radio, &mut rng);
        draw_t += t.elapsed().as_secs_f64();
        for (i, rx) in RECEIVERS.iter().enumerate() {
            let t = Instant::now();
            let des = radio.design(*rx, &ch, &budget, 10.0, drop.noise_w, 2);
            let out = aggregate(&des, &s, true, &mut rng);
            std::hint::black_box(out);
            per[i] += t.elapsed().as_secs_f64();
        }
    }
    let r = rounds as f64;
    print!(
        "L={aps:3} N=4 (M={:3}) K={clients:3} d={d}: setup {:.3} s, channels+estimates {:.4} s/round",
        aps * 4,
        setup,
        draw_t / r
    );
    for (rx, t) in RECEIVERS.iter().zip(&per) {
        print!(", {} {:.4}", rx.stem(), t / r);
    }
    println!(" (s/round)");
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let d = 25_450;
    println!("preset size and 4x the APs:");
    case(16, 20, rounds, d);
    case(64, 20, rounds, d);
    println!("growth with K (L = 16):");
    for k in [10, 40, 80] {
        case(16, k, rounds, d);
    }
    println!("growth with L (K = 20):");
    for l in [8, 32] {
        case(l, 20, rounds, d);
    }
}
