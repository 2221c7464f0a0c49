//! Steps per second of the Forward-Forward training step (FF and its backprop twin) on burn's
//! CPU backends: `flex` (always) and `ndarray` (with `--features ndarray`). Alternates the two
//! so background load hits both alike.
//!
//! `cargo run --release -p trainscope-engine --features ndarray --example bench_backends -- 200`

use std::time::Instant;

use trainscope_engine::labs::ff::{FfConfig, FfLab};
use trainscope_engine::{Backend, BackendChoice, Lab};

fn steps_per_sec(choice: BackendChoice, steps: u32) -> Result<(String, f64), String> {
    let backend = Backend::select(choice);
    if let Some(n) = backend.notice {
        return Err(n);
    }
    let cfg = FfConfig {
        eval_every: 0,
        ..FfConfig::default()
    };
    let mut lab = FfLab::new(cfg, &backend.device).map_err(|e| e.to_string())?;
    for _ in 0..5 {
        lab.step().map_err(|e| e.to_string())?;
    }
    let t0 = Instant::now();
    for _ in 0..steps {
        lab.step().map_err(|e| e.to_string())?;
    }
    Ok((backend.name, steps as f64 / t0.elapsed().as_secs_f64()))
}

fn main() {
    let steps: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    for round in 1..=3 {
        for choice in [BackendChoice::Cpu, BackendChoice::Ndarray] {
            match steps_per_sec(choice, steps) {
                Ok((name, rate)) => println!(
                    "round {round}: {name}: {rate:.1} steps/s (784-500-500, batch 100, FF + BP)"
                ),
                Err(e) => println!("round {round}: {choice:?}: skipped ({e})"),
            }
        }
    }
}
