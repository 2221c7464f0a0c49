use burn::tensor::{Device, Tensor, TensorData};

use super::*;
use crate::backend::Backend;
use crate::nn::to_vec;

fn cpu() -> Device {
    Backend::cpu().device
}

fn cfg() -> GnnConfig {
    GnnConfig {
        k_train: 8,
        hidden: 8,
        batch_size: 8,
        val_layouts: 8,
        eval_every: 0,
        eval_ks: vec![8],
        test_layouts: 4,
        test_layouts_large: 2,
        mlp_hidden: 16,
        air_snrs_db: vec![0.0],
        timing: false,
        k_view: 8,
        ..GnnConfig::default()
    }
}

#[test]
fn the_loss_is_the_wireless_cores_sum_rate() {
    let dev = cpu();
    for channel in [Channel::D2d, Channel::Gaussian] {
        let c = GnnConfig { channel, ..cfg() };
        let nets = draw_set(&c, 7, 5, &mut Rng::new(3));
        let mut rng = Rng::new(9);
        let p: Vec<f32> = (0..5 * 7).map(|_| rng.uniform() as f32).collect();
        let batch = GraphBatch::new(&nets, &dev);
        let t = Tensor::<2>::from_data(TensorData::new(p.clone(), [5, 7]), &dev);
        let ours = to_vec(sum_rate(&batch, t)).expect("read");
        for (b, net) in nets.iter().enumerate() {
            let frac: Vec<f64> = p[b * 7..(b + 1) * 7].iter().map(|&x| x as f64).collect();
            let core = crate::wireless::sum_rate(&net.gains, &net.watts(&frac), net.noise);
            let rel = (ours[b] as f64 - core).abs() / core;
            assert!(rel < 1e-5, "{channel:?} network {b}: {} vs {core}", ours[b]);
        }
    }
}

#[test]
fn permuting_the_links_permutes_the_powers() {
    let dev = cpu();
    let c = cfg();
    let gnn = Gnn::new(16, Aggregation::Max, &mut Rng::new(5), &dev);
    let twin = Gnn::new(16, Aggregation::Mean, &mut Rng::new(6), &dev);
    let net = draw(&c, 12, &mut Rng::new(7));
    let mut perm: Vec<usize> = (0..12).collect();
    Rng::new(8).shuffle(&mut perm);
    let moved = net.permuted(&perm);
    for m in [&gnn, &twin] {
        let a = eval::gnn_powers(m, std::slice::from_ref(&net), 3, None, &dev).expect("a");
        let b = eval::gnn_powers(m, std::slice::from_ref(&moved), 3, None, &dev).expect("b");
        for (i, &src) in perm.iter().enumerate() {
            assert!(
                (b[0][i] - a[0][src]).abs() < 1e-5,
                "link {i}: {} vs {}",
                b[0][i],
                a[0][src]
            );
        }
        // And the powers are not all the same (the test would otherwise be empty).
        let spread =
            a[0].iter().cloned().fold(0.0, f64::max) - a[0].iter().cloned().fold(1.0, f64::min);
        assert!(spread > 1e-4, "{:?}", a[0]);
    }
    let rate_a = net.sum_rate(
        &eval::gnn_powers(&gnn, std::slice::from_ref(&net), 3, None, &dev).expect("a")[0],
    );
    let rate_b = moved.sum_rate(
        &eval::gnn_powers(&gnn, std::slice::from_ref(&moved), 3, None, &dev).expect("b")[0],
    );
    assert!((rate_a - rate_b).abs() < 1e-6 * rate_a);
}

#[test]
fn the_same_weights_apply_at_any_k_and_the_mlp_does_not() {
    let dev = cpu();
    let c = cfg();
    let gnn = Gnn::new(8, Aggregation::Max, &mut Rng::new(1), &dev);
    let params = gnn.params();
    // (4·8 + 8) + (8·8 + 8) + (10·8 + 8) + (8 + 1) = 209 for width 8.
    assert_eq!(params, 209);
    for k in [2, 5, 33, 120] {
        let nets = draw_set(&c, k, 2, &mut Rng::new(k as u64));
        let p = eval::gnn_powers(&gnn, &nets, 3, None, &dev).expect("powers");
        assert_eq!(p.len(), 2);
        assert!(
            p.iter()
                .all(|r| r.len() == k && r.iter().all(|x| (0.0..=1.0).contains(x)))
        );
    }
    let mlp = MlpPower::new(8, 16, &mut Rng::new(2), &dev);
    let at8 = draw_set(&c, 8, 2, &mut Rng::new(1));
    let at9 = draw_set(&c, 9, 2, &mut Rng::new(1));
    assert!(eval::mlp_powers(&mlp, &at8, &dev).expect("8").is_some());
    assert!(eval::mlp_powers(&mlp, &at9, &dev).expect("9").is_none());
    // Default width: a couple of thousand weights.
    let big = Gnn::new(32, Aggregation::Max, &mut Rng::new(1), &dev);
    assert_eq!(big.params(), 4 * 32 + 32 + 32 * 32 + 32 + 34 * 32 + 32 + 33);
}

#[test]
fn over_the_air_messages_tend_to_clean_ones_at_high_snr() {
    let dev = cpu();
    let twin = Gnn::new(16, Aggregation::Mean, &mut Rng::new(6), &dev);
    let nets = draw_set(&cfg(), 10, 4, &mut Rng::new(2));
    let clean = eval::gnn_powers(&twin, &nets, 3, None, &dev).expect("clean");
    let gap = |snr_db: f64| {
        let mut rng = Rng::new(4);
        let p = eval::gnn_powers(&twin, &nets, 3, Some((db_to_lin(snr_db), &mut rng)), &dev)
            .expect("air");
        p.iter()
            .flatten()
            .zip(clean.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
    };
    // Fading still scales each message, so even noiseless air differs from the clean mean a
    // little; noise makes it worse.
    assert!(gap(60.0) < gap(-10.0), "{} vs {}", gap(60.0), gap(-10.0));
    assert!(gap(-10.0) > 1e-3);
}

#[test]
fn training_raises_the_validation_sum_rate() {
    let c = GnnConfig {
        k_train: 8,
        hidden: 16,
        batch_size: 16,
        lr: 0.005,
        mlp: false,
        air: false,
        ..cfg()
    };
    let mut lab = GnnLab::new(c, &cpu()).expect("lab");
    let mut r = StepReport::default();
    lab.evaluate(&mut r).expect("eval");
    let before = lab.val_ratio.expect("ratio");
    for _ in 0..80 {
        lab.step().expect("step");
    }
    lab.evaluate(&mut r).expect("eval");
    let after = lab.val_ratio.expect("ratio");
    assert!(after > before + 0.02, "{before} -> {after}");
}

#[test]
fn the_k_knob_draws_a_new_network_of_that_size() {
    use crate::lab::{DynLab, KnobValue};
    let mut lab = GnnLab::new(cfg(), &cpu()).expect("lab");
    assert_eq!(Lab::view(&lab).network.expect("net").k, 8);
    DynLab::set_knob(&mut lab, "k_view", KnobValue::Int(30)).expect("knob");
    let v = Lab::view(&lab);
    let net = v.network.expect("net");
    assert_eq!(net.k, 30);
    assert_eq!(net.tx.len(), 30);
    let names: Vec<&str> = net.methods.iter().map(|m| m.name.as_str()).collect();
    assert!(names.starts_with(&["GNN"]) && names.contains(&"WMMSE") && names.contains(&"FP"));
    assert!(!names.contains(&"MLP"), "the MLP cannot run at K = 30");
    let before = net.methods[0].powers.clone();
    Lab::act(&mut lab, GnnAction::NewNetwork).expect("act");
    let after = Lab::view(&lab).network.expect("net");
    assert_eq!(after.draw, 1);
    assert_ne!(after.methods[0].powers, before);
}
