//! The Forward-Forward lab on small slices of MNIST: it learns, it is deterministic, and its
//! config is validated.

use trainscope_engine::data::mnist;
use trainscope_engine::labs::ff::{FfConfig, FfLab, FfView, Goodness};
use trainscope_engine::{Backend, Lab, StepReport};

fn tiny(seed: u64) -> FfConfig {
    FfConfig {
        seed,
        train_limit: 2000,
        test_limit: 500,
        layers: vec![256, 64],
        goodness: Goodness::Sum,
        threshold: 1.0,
        normalize_input: true,
        batch_size: 50,
        epochs: 3.0,
        lr: 0.003,
        eval_every: 0,
        ..FfConfig::default()
    }
}

fn run(cfg: FfConfig, steps: usize) -> (Vec<StepReport>, StepReport, FfView) {
    trainscope_engine::testing::run_lab::<FfLab>(cfg, steps)
}

use trainscope_engine::testing::metric;

#[test]
fn ff_learns_well_above_chance_on_held_out_digits() {
    let cfg = tiny(1);
    let steps = 120; // 3 epochs of 2000 images
    let (reports, fin, view) = run(cfg, steps);
    let err = metric(&fin, "test_error");
    let bp_err = metric(&fin, "bp_test_error");
    // Chance is 0.9; after 6,000 examples (a second or two) both are far below it. The test
    // digits are never trained on.
    assert!(err < 0.45, "FF test error {err}");
    assert!(bp_err < 0.3, "BP test error {bp_err}");
    // Goodness separates: positives above negatives in the last layer.
    let last = reports.last().expect("reports");
    assert!(metric(last, "goodness_pos_l2") > metric(last, "goodness_neg_l2"));
    assert!(metric(last, "ff_loss") < metric(&reports[0], "ff_loss"));
    assert_eq!(view.layers.len(), 2);
    assert!(!view.layers[0].pos.is_empty());
    assert_eq!(view.samples.len(), 12);
    assert_eq!(view.sizes, (2000, 500));
}

#[test]
fn same_seed_same_metrics_different_seed_different() {
    let a = run(
        FfConfig {
            eval_every: 4,
            ..tiny(5)
        },
        8,
    );
    let b = run(
        FfConfig {
            eval_every: 4,
            ..tiny(5)
        },
        8,
    );
    assert_eq!(a.0, b.0, "step metrics must match exactly");
    assert_eq!(a.1, b.1, "final evaluation must match exactly");
    let c = run(
        FfConfig {
            eval_every: 4,
            ..tiny(6)
        },
        8,
    );
    assert_ne!(a.0, c.0);
}

#[test]
fn bad_configs_are_refused_with_the_key() {
    let device = Backend::cpu().device;
    let cases = [
        (
            FfConfig {
                layers: vec![],
                ..tiny(0)
            },
            "layers",
        ),
        (
            FfConfig {
                threshold: -1.0,
                ..tiny(0)
            },
            "threshold",
        ),
        (FfConfig { lr: 0.0, ..tiny(0) }, "lr"),
        (
            FfConfig {
                train_limit: 70_000,
                ..tiny(0)
            },
            "train_limit",
        ),
        (
            FfConfig {
                data_dir: "/no/such/dir".into(),
                ..tiny(0)
            },
            "/no/such/dir",
        ),
    ];
    for (cfg, key) in cases {
        let msg = FfLab::new(cfg, &device)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains(key),
            "expected an error naming {key}, got {msg:?}"
        );
    }
}

#[test]
fn validation_holds_out_the_last_training_images_and_evaluates_on_them() {
    let cfg = FfConfig {
        validation: 10_000,
        train_limit: 300,
        test_limit: 200,
        layers: vec![32, 32],
        batch_size: 20,
        ..tiny(1)
    };
    let (_, fin, view) = trainscope_engine::testing::run_lab::<FfLab>(cfg.clone(), 3);
    // Trains on the first 50,000 (limited to 300), scores the last 10,000 (limited to 200).
    assert_eq!(view.sizes, (300, 200));
    let data = mnist::load(&mnist::Source::from_config("")).expect("mnist");
    let held_out = &data.train.labels[50_000..50_200];
    let shown: Vec<u8> = view.samples.iter().map(|s| s.label).collect();
    assert_eq!(
        shown,
        held_out[..shown.len()],
        "the samples come from the held-out images"
    );
    assert!(metric(&fin, "test_error").is_finite());
    assert_eq!(metric(&fin, "val_error"), metric(&fin, "test_error"));
    let too_many = FfConfig {
        validation: 60_000,
        ..cfg
    };
    assert!(FfLab::new(too_many, &Backend::cpu().device).is_err());
}
