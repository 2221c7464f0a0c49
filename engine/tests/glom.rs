//! The GLOM lab on tiny configs: the world is well formed, runs are deterministic, the model
//! learns, and a trained model's islands sharpen over iterations on held-out images.

use trainscope_engine::labs::glom::world::{
    CLASSES, DISTRACTOR, FEATURES, PARTS, WorldParams, draw_image, draw_images,
    draw_training_images,
};
use trainscope_engine::labs::glom::{GlomConfig, GlomLab, GlomView};
use trainscope_engine::rng::Rng;
use trainscope_engine::{Backend, Lab, StepReport};

fn tiny(seed: u64) -> GlomConfig {
    GlomConfig {
        seed,
        ambiguity: 0.25,
        lr: 0.01,
        dim: 16,
        hidden: 32,
        iterations: 2,
        batch_size: 12,
        steps: 400,
        test_images: 30,
        curve_images: 8,
        eval_every: 0,
        ..GlomConfig::default()
    }
}

fn run(cfg: GlomConfig, steps: usize) -> (Vec<StepReport>, StepReport, GlomView) {
    trainscope_engine::testing::run_lab::<GlomLab>(cfg, steps)
}

use trainscope_engine::testing::metric;

fn mean(reports: &[StepReport], name: &str) -> f64 {
    reports.iter().map(|r| metric(r, name)).sum::<f64>() / reports.len() as f64
}

#[test]
fn images_are_well_formed() {
    let p = WorldParams {
        grid: 8,
        ambiguity: 0.5,
        two_objects: 1.0,
        distractors: 2,
        max_rotation_deg: 30.0,
        noise: 0.0,
        ood: 0.0,
    };
    let mut rng = Rng::new(3);
    for _ in 0..50 {
        let im = draw_image(&p, &mut rng);
        assert_eq!(im.features.len(), 64 * FEATURES);
        for obj in 0..2 {
            let cells: Vec<usize> = (0..64).filter(|&c| im.object[c] == obj).collect();
            // A second object may not fit; when present, it has all its parts and one class.
            if obj == 0 || !cells.is_empty() {
                assert_eq!(cells.len(), PARTS, "object {obj}");
                let class = im.label[cells[0]];
                assert!((0..CLASSES as i32).contains(&class));
                assert!(cells.iter().all(|&c| im.label[c] == class));
            }
        }
        for c in 0..64 {
            let occupied = im.features[c * FEATURES] == 1.0;
            assert_eq!(occupied, im.label[c] >= 0);
            if im.label[c] == DISTRACTOR as i32 {
                assert_eq!(im.object[c], -1);
            }
        }
    }
    // Same stream, same images.
    assert_eq!(
        draw_image(&p, &mut Rng::new(9)),
        draw_image(&p, &mut Rng::new(9))
    );
}

#[test]
fn ambiguity_merges_part_shapes() {
    // Spread of the log-aspect feature over many parts: full ambiguity pulls every prototype
    // towards the mean, so the spread between prototypes shrinks relative to ambiguity 0.
    let spread = |a: f64| {
        let p = WorldParams {
            grid: 8,
            ambiguity: a,
            two_objects: 0.0,
            distractors: 0,
            max_rotation_deg: 0.0,
            noise: 0.0,
            ood: 0.0,
        };
        let mut rng = Rng::new(1);
        let mut by_class = vec![Vec::new(); CLASSES];
        for _ in 0..200 {
            let im = draw_image(&p, &mut rng);
            for c in 0..64 {
                if im.label[c] >= 0 {
                    by_class[im.label[c] as usize].push(im.features[c * FEATURES + 4] as f64);
                }
            }
        }
        let means: Vec<f64> = by_class
            .iter()
            .map(|v| v.iter().sum::<f64>() / v.len() as f64)
            .collect();
        let m = means.iter().sum::<f64>() / means.len() as f64;
        means.iter().map(|x| (x - m).abs()).sum::<f64>()
    };
    assert!(
        spread(1.0) < 0.5 * spread(0.0),
        "{} vs {}",
        spread(1.0),
        spread(0.0)
    );
}

#[test]
fn same_seed_same_metrics_different_seed_different() {
    let cfg = |s| GlomConfig {
        eval_every: 3,
        ..tiny(s)
    };
    let a = run(cfg(5), 6);
    let b = run(cfg(5), 6);
    assert_eq!(a.0, b.0, "step metrics must match exactly");
    assert_eq!(a.1, b.1, "final evaluation must match exactly");
    assert_eq!(a.2, b.2, "views must match exactly");
    let c = run(cfg(6), 6);
    assert_ne!(a.0, c.0);
}

#[test]
fn learns_and_islands_sharpen_over_iterations_on_held_out_images() {
    let (reports, fin, view) = run(tiny(2), 400);
    let early = mean(&reports[..20], "loss");
    let late = mean(&reports[380..], "loss");
    assert!(late < early - 0.1, "loss {early} -> {late}");
    eprintln!(
        "loss {early} -> {late}, train acc {}",
        mean(&reports[380..], "train_acc")
    );
    // Chance at object locations is 1/5; the tiny run is short, so ask only for progress.
    let (a0, a1) = (
        mean(&reports[..20], "train_acc"),
        mean(&reports[380..], "train_acc"),
    );
    assert!(a1 > a0 + 0.05, "train accuracy {a0} -> {a1}");
    let i0 = metric(&fin, "island_score_iter0");
    let it = metric(&fin, "island_score");
    assert!(it > i0, "island score {i0} at iteration 0, {it} after T");
    assert_eq!(view.island_by_iter.len(), 3);
    let sample = view.sample.expect("sample after finish");
    assert_eq!(sample.colors.len(), 2);
    assert_eq!(sample.colors[0].len(), 3);
    assert_eq!(sample.sim[0].len(), 64 * 64);
    let curves = view.curves.expect("curves after finish");
    assert_eq!(curves.ambiguity.attn.len(), 5);
    assert_eq!(curves.noise.t0.len(), 5);
    for name in ["acc_attn", "acc_t0", "island_score", "curve_ood_100_attn"] {
        assert!(metric(&fin, name).is_finite(), "{name}");
    }
}

#[test]
fn training_noise_perturbs_only_the_part_features_and_is_bit_identical_when_off() {
    let p = WorldParams {
        grid: 8,
        ambiguity: 0.5,
        two_objects: 0.5,
        distractors: 2,
        max_rotation_deg: 30.0,
        noise: 0.0,
        ood: 0.0,
    };
    let clean = draw_images(&p, 20, &mut Rng::new(4).fork(2));
    // Off: exactly the clean images, and the σ stream is not touched.
    let mut sigma = Rng::new(4).fork(6);
    let off = draw_training_images(&p, 20, 0.0, &mut Rng::new(4).fork(2), &mut sigma);
    assert_eq!(off, clean);
    assert_eq!(sigma.state(), Rng::new(4).fork(6).state());
    // On: the same images (classes, poses, labels), noisy part features only.
    let draw = || {
        draw_training_images(
            &p,
            20,
            0.6,
            &mut Rng::new(4).fork(2),
            &mut Rng::new(4).fork(6),
        )
    };
    let on = draw();
    assert_eq!(on, draw(), "seeded streams: same draws, same noise");
    let mut sigmas = Vec::new();
    for (a, b) in clean.iter().zip(&on) {
        assert_eq!(
            (&a.parts, &a.label, &a.object),
            (&b.parts, &b.label, &b.object)
        );
        let mut sq = (0.0f64, 0usize);
        for c in 0..64 {
            let (ra, rb) = (
                &a.features[c * FEATURES..(c + 1) * FEATURES],
                &b.features[c * FEATURES..(c + 1) * FEATURES],
            );
            // Occupancy and the cell's position code are never perturbed; neither are empty cells.
            assert_eq!(ra[..3], rb[..3]);
            if a.label[c] < 0 {
                assert_eq!(ra, rb);
                continue;
            }
            for k in 3..FEATURES {
                let d = (rb[k] - ra[k]) as f64;
                sq.0 += d * d;
                sq.1 += 1;
            }
        }
        sigmas.push((sq.0 / sq.1 as f64).sqrt());
    }
    // Each image has its own σ in [0, 0.6]: some nearly clean, some clearly noisy, none beyond.
    let lo = sigmas.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = sigmas.iter().copied().fold(0.0, f64::max);
    assert!(
        lo < 0.2 && hi > 0.35 && hi < 0.9,
        "per-image noise {sigmas:?}"
    );
}

#[test]
fn training_noise_changes_the_run_and_stays_deterministic() {
    let cfg = |train_noise| GlomConfig {
        eval_every: 3,
        train_noise,
        ..tiny(5)
    };
    let clean = run(cfg(0.0), 6);
    let a = run(cfg(0.5), 6);
    let b = run(cfg(0.5), 6);
    assert_eq!(a.0, b.0, "step metrics must match exactly");
    assert_eq!(a.1, b.1, "final evaluation must match exactly");
    assert_ne!(a.0, clean.0, "noisy training batches train differently");
}

#[test]
fn validation_images_are_not_the_test_images_and_training_is_the_same() {
    let cfg = |validation, relative_pose| GlomConfig {
        eval_every: 3,
        validation,
        relative_pose,
        ..tiny(5)
    };
    let series = |r: &[StepReport], name: &str| -> Vec<f64> {
        r.iter()
            .flat_map(|s| s.metrics.iter().filter(|(n, _)| n == name).map(|(_, v)| *v))
            .collect()
    };
    let test = run(cfg(false, true), 6);
    let valid = run(cfg(true, true), 6);
    assert_eq!(series(&test.0, "loss"), series(&valid.0, "loss"));
    assert_ne!(
        series(&test.0, "island_score"),
        series(&valid.0, "island_score"),
        "validation must draw its own images"
    );
    // The first version's absolute features still run, and train differently.
    let absolute = run(cfg(false, false), 6);
    assert_ne!(series(&test.0, "loss"), series(&absolute.0, "loss"));
    assert!(metric(&absolute.1, "acc_attn").is_finite());
}

#[test]
fn bad_configs_are_refused_with_the_key() {
    let device = Backend::cpu().device;
    let cases = [
        (
            GlomConfig {
                levels: 4,
                ..tiny(0)
            },
            "levels",
        ),
        (
            GlomConfig {
                ambiguity: 1.5,
                ..tiny(0)
            },
            "ambiguity",
        ),
        (GlomConfig { grid: 3, ..tiny(0) }, "grid"),
        (
            GlomConfig {
                w_prev: 0.0,
                w_bu: 0.0,
                w_td: 0.0,
                w_att: 0.0,
                ..tiny(0)
            },
            "w_prev",
        ),
    ];
    for (cfg, key) in cases {
        let msg = GlomLab::new(cfg, &device)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains(key),
            "expected an error naming {key}, got {msg:?}"
        );
    }
}
