//! The wgpu backend against the CPU backend on the same preset and seed. It passes with a note
//! when the build has no `gpu` feature or no GPU adapter is found, so CI (no GPU) skips it
//! cleanly but still compiles it. Run it on a machine with a GPU:
//! `cargo test --workspace --features trainscope-engine/gpu --test gpu -- --nocapture`.

use trainscope_engine::labs::ff::{FfConfig, FfLab};
use trainscope_engine::labs::glom::GlomLab;
use trainscope_engine::labs::sparrow::SparrowLab;
use trainscope_engine::testing::{metric, run_lab_on};
use trainscope_engine::{Backend, BackendChoice, Lab, Preset, StepReport};

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

/// Every `*loss*` metric that both runs reported at the same step agrees within `rel`; returns
/// how many were compared (so a test can insist that something was).
fn losses_track(cpu: &[StepReport], gpu: &[StepReport], rel: f64) -> usize {
    let mut compared = 0;
    for (i, (c, g)) in cpu.iter().zip(gpu).enumerate() {
        for (name, lc) in c.metrics.iter().filter(|(n, _)| n.contains("loss")) {
            let Some((_, lg)) = g.metrics.iter().find(|(n, _)| n == name) else {
                panic!("step {i}: {name} reported on the CPU only");
            };
            assert!(
                (lc - lg).abs() <= rel * lc.abs().max(1e-3),
                "step {i}: {name} cpu {lc} vs gpu {lg}"
            );
            compared += 1;
        }
    }
    compared
}

/// A preset shrunk by its lab's `TINY` settings and `extra`, as the lab's config.
fn tiny_preset<L: Lab>(name: &str, extra: &[&str]) -> L::Config {
    let mut p = Preset::resolve(name).expect("built-in preset");
    for set in L::TINY.iter().chain(extra) {
        p.apply_set(set).expect("a valid setting");
    }
    p.config.try_into().expect("the lab's config")
}

#[test]
fn glom_on_the_gpu_tracks_the_cpu_run() {
    let Some(gpu) = gpu() else { return };
    let cfg = tiny_preset::<GlomLab>("glom-quick", &["eval_every=0"]);
    let steps = 20;
    let (cpu_r, cpu_fin, _) = run_lab_on::<GlomLab>(cfg.clone(), steps, &Backend::cpu().device);
    let (gpu_r, gpu_fin, _) = run_lab_on::<GlomLab>(cfg, steps, &gpu.device);
    assert!(losses_track(&cpu_r, &gpu_r, 2e-2) >= steps);
    let (c, g) = (metric(&cpu_fin, "acc_attn"), metric(&gpu_fin, "acc_attn"));
    eprintln!("glom acc_attn: cpu {c:.3} gpu {g:.3}");
    assert!((c - g).abs() <= 0.15, "acc_attn: cpu {c} vs gpu {g}");
}

#[test]
fn sparrow_models_train_on_the_gpu_like_on_the_cpu() {
    let Some(gpu) = gpu() else { return };
    // The first tasks: index, retrieval, re-ranker and reader epochs, validation and QA.
    let cfg = tiny_preset::<SparrowLab>("sparrow-eval", &[]);
    let steps = 40;
    let (cpu_r, _, _) = run_lab_on::<SparrowLab>(cfg.clone(), steps, &Backend::cpu().device);
    let (gpu_r, _, _) = run_lab_on::<SparrowLab>(cfg, steps, &gpu.device);
    let compared = losses_track(&cpu_r, &gpu_r, 2e-2);
    eprintln!("sparrow: {compared} losses compared");
    assert!(compared >= 2, "only {compared} losses to compare");
}
