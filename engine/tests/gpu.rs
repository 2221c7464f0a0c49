//! The wgpu backend against the CPU backend on the same preset and seed. It passes with a note
//! when the build has no `gpu` feature or no GPU adapter is found, so CI (no GPU) skips it
//! cleanly but still compiles it. Run it on a machine with a GPU:
//! `cargo test --workspace --features trainscope-engine/gpu --test gpu -- --nocapture`.

use trainscope_engine::labs::ff::{FfConfig, FfLab};
use trainscope_engine::testing::{metric, run_lab_on};
use trainscope_engine::{Backend, BackendChoice};

/// The GPU device, or `None` (with a note on stderr) when this machine has no usable adapter.
fn gpu() -> Option<Backend> {
    let b = Backend::select(BackendChoice::Gpu);
    match &b.notice {
        Some(why) => {
            eprintln!("skipped: {why}");
            None
        }
        None => Some(b),
    }
}

fn tiny() -> FfConfig {
    FfConfig {
        seed: 3,
        train_limit: 1000,
        test_limit: 500,
        layers: vec![128, 64],
        batch_size: 50,
        epochs: 1.0,
        eval_every: 0,
        ..FfConfig::default()
    }
}

#[test]
fn ff_on_the_gpu_tracks_the_cpu_run() {
    let Some(gpu) = gpu() else { return };
    let steps = 20;
    let (cpu_r, cpu_fin, _) = run_lab_on::<FfLab>(tiny(), steps, &Backend::cpu().device);
    let (gpu_r, gpu_fin, _) = run_lab_on::<FfLab>(tiny(), steps, &gpu.device);
    // Same data, same initial weights (drawn on the host): only floating-point summation order
    // differs, so the loss curves agree closely step by step.
    for (i, (c, g)) in cpu_r.iter().zip(&gpu_r).enumerate() {
        let (lc, lg) = (metric(c, "ff_loss"), metric(g, "ff_loss"));
        assert!(
            (lc - lg).abs() <= 1e-2 * lc.abs().max(1e-3),
            "step {i}: ff_loss cpu {lc} vs gpu {lg}"
        );
    }
    for name in ["test_error", "bp_test_error"] {
        let (c, g) = (metric(&cpu_fin, name), metric(&gpu_fin, name));
        eprintln!("{name}: cpu {c:.4} gpu {g:.4}");
        assert!((c - g).abs() <= 0.03, "{name}: cpu {c} vs gpu {g}");
    }
}
