//! The rest of the Forward-Forward paper: unsupervised (hybrid negatives), recurrent top-down
//! FF, the one-pass readout, the ablation knobs and the input builders.

use trainscope_engine::labs::ff::model::SoftmaxReadout;
use trainscope_engine::labs::ff::negatives::{
    hard_wrong, hybrid, hybrid_mask, neighbour_agreement, random_shift, shifted_image,
};
use trainscope_engine::labs::ff::{FfConfig, FfLab, FfView, Goodness, Mode, Negatives, Schedule};
use trainscope_engine::rng::Rng;
use trainscope_engine::{Backend, KnobValue, Lab, StepReport};

fn tiny(mode: Mode, seed: u64) -> FfConfig {
    FfConfig {
        seed,
        mode,
        train_limit: 2000,
        test_limit: 300,
        layers: vec![128, 64],
        batch_size: 50,
        epochs: 3.0,
        eval_every: 0,
        bp: false,
        ..FfConfig::default()
    }
}

fn run(cfg: FfConfig, steps: usize) -> (Vec<StepReport>, StepReport, FfView) {
    trainscope_engine::testing::run_lab::<FfLab>(cfg, steps)
}

use trainscope_engine::testing::metric;

#[test]
fn hybrid_masks_are_binary_and_coherent() {
    let mut rng = Rng::new(3);
    let mut mean = 0.0;
    for _ in 0..20 {
        let m = hybrid_mask(6, &mut rng);
        assert_eq!(m.len(), 784);
        assert!(m.iter().all(|&v| v == 0.0 || v == 1.0));
        let agree = neighbour_agreement(&m);
        assert!(agree > 0.8, "blurred mask agreement {agree}");
        mean += m.iter().sum::<f32>() as f64 / 784.0 / 20.0;
    }
    assert!((0.3..0.7).contains(&mean), "mask mean {mean}");
    // Without blurring the bits are independent: neighbours agree about half the time.
    let raw = hybrid_mask(0, &mut rng);
    let agree = neighbour_agreement(&raw);
    assert!((0.4..0.6).contains(&agree), "raw agreement {agree}");
    let a = vec![1.0f32; 784];
    let b = vec![0.0f32; 784];
    let m = hybrid_mask(6, &mut rng);
    assert_eq!(hybrid(&a, &b, &m), m, "m*1 + (1-m)*0 is the mask");
}

#[test]
fn jitter_shifts_stay_in_bounds_and_move_ink() {
    let mut rng = Rng::new(1);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2000 {
        let (dx, dy) = random_shift(2, &mut rng);
        assert!(dx.abs() <= 2 && dy.abs() <= 2);
        seen.insert((dx, dy));
    }
    assert_eq!(seen.len(), 25, "all 25 shifts of +-2 pixels occur");
    assert_eq!(random_shift(0, &mut rng), (0, 0));
    let data = trainscope_engine::data::mnist::load(
        &trainscope_engine::data::mnist::Source::from_config(""),
    )
    .expect("mnist");
    let plain = shifted_image(&data.train, 0, 0, 0);
    let moved = shifted_image(&data.train, 0, 2, 1);
    assert_eq!(moved.len(), 784);
    assert!(moved.iter().all(|&v| (0.0..=1.0).contains(&v)));
    for y in 1..28 {
        for x in 2..28 {
            assert_eq!(moved[y * 28 + x], plain[(y - 1) * 28 + x - 2]);
        }
    }
}

#[test]
fn hard_negatives_follow_the_scores_and_avoid_the_truth() {
    let mut rng = Rng::new(9);
    let mut scores = [0f32; 10];
    scores[3] = 50.0; // the true label, never drawn
    scores[7] = 2.0; // e^2 ≈ 7.4 times likelier than each other wrong label
    let mut counts = [0usize; 10];
    for _ in 0..4000 {
        counts[hard_wrong(3, &scores, &mut rng)] += 1;
    }
    assert_eq!(counts[3], 0);
    let p7 = counts[7] as f64 / 4000.0;
    let expect = 2f64.exp() / (2f64.exp() + 8.0);
    assert!((p7 - expect).abs() < 0.04, "p7 {p7} vs {expect}");
}

#[test]
fn unsupervised_ff_with_linear_readout_learns() {
    let cfg = FfConfig {
        readout_epochs: 1.0,
        readout_lr: 0.003,
        ..tiny(Mode::Unsupervised, 1)
    };
    let (reports, fin, view) = run(cfg, 160); // 3 FF epochs of 2000 images, then 1 readout epoch
    let err = metric(&fin, "test_error");
    assert!(err < 0.35, "linear readout test error {err}");
    let ff_last = &reports[119];
    assert!(metric(ff_last, "goodness_pos_l1") > metric(ff_last, "goodness_neg_l1"));
    // The readout phase trains only the softmax.
    assert!(reports[150].metrics.iter().all(|(n, _)| n != "ff_loss"));
    assert!(metric(&reports[150], "readout_loss") < metric(&reports[0], "readout_loss"));
    assert!(view.readout_phase);
    assert_eq!(view.negatives.len(), 4);
    assert_eq!(view.receptive_fields.len(), 64);
    assert_eq!(view.receptive_fields[0].len(), 784);
}

#[test]
fn recurrent_ff_learns() {
    let cfg = FfConfig {
        layers: vec![96, 48],
        ..tiny(Mode::Recurrent, 2)
    };
    let (reports, fin, view) = run(cfg, 120);
    let err = metric(&fin, "test_error");
    assert!(err < 0.5, "recurrent test error {err}");
    assert!(metric(&reports[119], "ff_loss") < metric(&reports[0], "ff_loss"));
    let table = view.iterations.expect("per-iteration goodness");
    assert_eq!(table.true_label.len(), 2);
    assert_eq!(
        table.true_label[0].len(),
        9,
        "bottom-up pass + 8 iterations"
    );
    // By the readout iterations the true label beats the best wrong one in the top layer.
    assert!(table.true_label[1][4] > table.best_wrong[1][4]);
}

#[test]
fn one_pass_readout_reports_its_error_and_cost() {
    let cfg = FfConfig {
        one_pass: true,
        readout_lr: 0.003,
        ..tiny(Mode::Supervised, 3)
    };
    let (_, fin, view) = run(cfg, 120);
    let one = metric(&fin, "one_pass_test_error");
    assert!(one < 0.5, "one-pass test error {one}");
    assert!(metric(&fin, "test_error") < 0.5);
    let (all_ms, one_ms) = view.eval_ms.expect("timings");
    assert!(all_ms > 0.0 && one_ms > 0.0);
    // The readout sees every layer but the first: 64 features for [128, 64].
    let device = Backend::cpu().device.without_autodiff();
    let acts = vec![
        burn::tensor::Tensor::<2>::ones([5, 128], &device),
        burn::tensor::Tensor::<2>::ones([5, 64], &device),
    ];
    assert_eq!(SoftmaxReadout::features(&acts, &[1]).dims(), [5, 64]);
    assert_eq!(SoftmaxReadout::features(&acts, &[0, 1]).dims(), [5, 192]);
}

#[test]
fn every_mode_and_ablation_is_deterministic() {
    let variants = [
        tiny(Mode::Supervised, 5),
        FfConfig {
            one_pass: true,
            jitter: 2,
            negatives: Negatives::Hard,
            ..tiny(Mode::Supervised, 5)
        },
        FfConfig {
            goodness: Goodness::NegSum,
            normalize_layers: false,
            schedule: Schedule::Layerwise,
            ..tiny(Mode::Supervised, 5)
        },
        FfConfig {
            readout_epochs: 0.1,
            ..tiny(Mode::Unsupervised, 5)
        },
        FfConfig {
            layers: vec![32, 16],
            negatives: Negatives::Hard,
            ..tiny(Mode::Recurrent, 5)
        },
    ];
    for cfg in variants {
        let a = run(cfg.clone(), 6);
        let b = run(cfg.clone(), 6);
        assert_eq!(a.0, b.0, "{:?}: step metrics must match", cfg.mode);
        assert_eq!(a.1, b.1, "{:?}: final evaluation must match", cfg.mode);
        assert!(a.0.iter().all(|r| r.first_non_finite().is_none()));
    }
}

#[test]
fn ablation_knobs_change_live() {
    let device = Backend::cpu().device;
    let mut lab = FfLab::new(tiny(Mode::Supervised, 7), &device).expect("lab");
    lab.step().expect("step");
    let mut dynlab: Box<dyn trainscope_engine::DynLab> = Box::new(lab);
    for (k, v) in [
        ("goodness", KnobValue::Choice("neg_sum".into())),
        ("negatives", KnobValue::Choice("hard".into())),
        ("normalize_layers", KnobValue::Bool(false)),
        ("schedule", KnobValue::Choice("layerwise".into())),
        ("jitter", KnobValue::Int(2)),
    ] {
        dynlab.set_knob(k, v).expect("knob accepted");
        let r = dynlab.step().expect("step after knob");
        assert!(r.first_non_finite().is_none(), "{k}");
    }
    assert!(
        dynlab
            .set_knob("goodness", KnobValue::Choice("cube".into()))
            .is_err()
    );
}

#[test]
fn mode_specific_keys_are_checked() {
    let device = Backend::cpu().device;
    for (cfg, key) in [
        (
            FfConfig {
                one_pass: true,
                ..tiny(Mode::Recurrent, 0)
            },
            "one_pass",
        ),
        (
            FfConfig {
                iterations: 4,
                ..tiny(Mode::Recurrent, 0)
            },
            "iterations",
        ),
        (
            FfConfig {
                damping: 1.0,
                ..tiny(Mode::Recurrent, 0)
            },
            "damping",
        ),
        (
            FfConfig {
                jitter: 9,
                ..tiny(Mode::Supervised, 0)
            },
            "jitter",
        ),
    ] {
        let err = FfLab::new(cfg, &device)
            .err()
            .unwrap_or_else(|| panic!("{key}: accepted"));
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
}
