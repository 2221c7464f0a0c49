//! The HetNet power-control lab: deterministic, λ = 0 makes PQL identical to IDQN, agents learn
//! on a tiny config, artifacts are self-consistent, and the config is validated.

use trainscope_engine::labs::hetnet::{HetnetConfig, HetnetLab, HetnetView, PqlForm};
use trainscope_engine::wireless::{Gains, sum_rate};
use trainscope_engine::{Backend, KnobValue, Lab, StepReport};

fn tiny(seed: u64) -> HetnetConfig {
    HetnetConfig {
        seed,
        n_small: 4,
        episodes: 40,
        slots_per_episode: 25,
        hidden: vec![24, 24],
        replay: 500,
        batch_size: 16,
        target_every: 50,
        probe_size: 16,
        ..HetnetConfig::default()
    }
}

fn run(cfg: HetnetConfig, steps: usize) -> (Vec<StepReport>, StepReport, HetnetView, HetnetLab) {
    let device = Backend::cpu().device;
    let mut lab = HetnetLab::new(cfg, &device).expect("lab builds");
    let reports = (0..steps).map(|_| lab.step().expect("step")).collect();
    let fin = lab.finish().expect("finish");
    let view = lab.view();
    (reports, fin, view, lab)
}

fn series(reports: &[StepReport], name: &str) -> Vec<f64> {
    reports
        .iter()
        .flat_map(|r| r.metrics.iter())
        .filter(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .collect()
}

#[test]
fn same_seed_same_metrics_and_lambda_zero_is_idqn() {
    let cfg = HetnetConfig {
        episodes: 4,
        ..tiny(3)
    };
    let a = run(cfg.clone(), 100);
    let b = run(cfg.clone(), 100);
    assert_eq!(a.0, b.0, "step metrics must match exactly");
    assert_eq!(a.1, b.1);
    assert_eq!(a.2, b.2, "views must match");
    let c = run(
        HetnetConfig {
            seed: 4,
            ..cfg.clone()
        },
        100,
    );
    assert_ne!(a.0, c.0, "another seed gives other channels");
    // λ = 0: PQL is exactly IDQN on the same seed and channels.
    let z = run(HetnetConfig { lambda: 0.0, ..cfg }, 100);
    assert_eq!(
        series(&z.0, "pql_ratio_episode"),
        series(&z.0, "idqn_ratio_episode")
    );
    assert_eq!(
        series(&z.0, "pql_policy_change_episode"),
        series(&z.0, "idqn_policy_change_episode")
    );
    assert_eq!(
        series(&z.0, "pql_policy_change_visited_episode"),
        series(&z.0, "idqn_policy_change_visited_episode")
    );
    assert_eq!(series(&z.0, "pql_ratio_episode").len(), 4);
    // The visited-state drift reports from the second episode on.
    assert_eq!(series(&z.0, "pql_policy_change_visited_episode").len(), 3);
}

#[test]
fn penalty_forms_differ_and_vanish_at_lambda_zero() {
    let cfg = HetnetConfig {
        episodes: 4,
        ..tiny(5)
    };
    let steps = 100;
    let mut pql = Vec::new();
    for form in [PqlForm::Margin, PqlForm::Proximal, PqlForm::ProximalMargin] {
        let on = run(
            HetnetConfig {
                pql_form: form,
                ..cfg.clone()
            },
            steps,
        );
        let off = run(
            HetnetConfig {
                pql_form: form,
                lambda: 0.0,
                ..cfg.clone()
            },
            steps,
        );
        // IDQN is untouched by PQL's form and λ; PQL with λ = 0 is IDQN whatever the form.
        assert_eq!(
            series(&on.0, "idqn_ratio_episode"),
            series(&off.0, "idqn_ratio_episode"),
            "{form:?}"
        );
        assert_eq!(
            series(&off.0, "pql_ratio_episode"),
            series(&off.0, "idqn_ratio_episode"),
            "{form:?}"
        );
        assert_eq!(on.2.pql_form, form.name());
        pql.push(series(&on.0, "pql_td_loss"));
    }
    assert_ne!(pql[0], pql[1], "margin and proximal train differently");
    assert_ne!(pql[1], pql[2], "the margin term changes the proximal form");
}

#[test]
fn agents_learn_from_random_play_toward_wmmse() {
    let steps = 40 * 25;
    let (reports, fin, view, _) = run(tiny(1), steps);
    for stem in ["pql", "idqn"] {
        let r = series(&reports, &format!("{stem}_ratio_episode"));
        assert_eq!(r.len(), 40);
        let early = r[..5].iter().sum::<f64>() / 5.0;
        let late = r[r.len() - 5..].iter().sum::<f64>() / 5.0;
        // Early episodes are near-uniform random play (ε ≈ 1); late ones are mostly greedy.
        assert!(
            late > early + 0.05,
            "{stem}: early {early:.3} late {late:.3}"
        );
        let random = series(&reports, "random_wmmse_ratio");
        let last_random = *random.last().expect("random ratio");
        assert!(late > last_random, "{stem}: {late} vs random {last_random}");
    }
    // Summary series exist and are ratios.
    for s in [
        "pql_wmmse_ratio",
        "idqn_wmmse_ratio",
        "fp_wmmse_ratio",
        "max_wmmse_ratio",
    ] {
        let v = series(&reports, s);
        let last = *v.last().expect("series");
        assert!(last > 0.0 && last < 1.2, "{s} = {last}");
    }
    for s in [
        "pql_policy_change",
        "idqn_policy_change",
        "pql_policy_change_visited",
        "idqn_policy_change_visited",
    ] {
        let v = series(&reports, s);
        assert!(v.iter().all(|x| (0.0..=1.0).contains(x)), "{s}: {v:?}");
    }
    assert!(fin.metrics.iter().any(|(n, _)| n == "pql_episodes_to_90"));
    assert!(
        view.learners[0]
            .policy_change_visited
            .iter()
            .all(|x| x.is_some_and(|x| (0.0..=1.0).contains(&x)))
    );
    assert_eq!(view.aps.len(), 5);
    assert_eq!(view.users.len(), 5);
    assert_eq!(view.slot_methods.len(), 6);
    assert_eq!(view.learners[0].action_counts.len(), 5);
    let per_agent: u32 = view.learners[1].action_counts[0].iter().sum();
    assert_eq!(per_agent, 25, "one action per slot of the last episode");
}

#[test]
fn artifacts_recompute_to_the_reported_sum_rates() {
    let (_, _, _, lab) = run(tiny(2), 60);
    let arts = lab.artifacts();
    assert_eq!(arts.len(), 1);
    let doc = &arts[0].1;
    let noise = doc["noise_w"].as_f64().expect("noise");
    let slots = doc["slots"].as_array().expect("slots");
    assert_eq!(slots.len(), 25, "the last finished episode");
    for s in slots {
        let rows: Vec<Vec<f64>> = serde_json::from_value(s["gains"].clone()).expect("gains");
        let g = Gains::from_rows(&rows);
        for m in ["pql", "idqn", "wmmse", "fp", "max", "random"] {
            let p: Vec<f64> = serde_json::from_value(s["powers_w"][m].clone()).expect("powers");
            let want = s["sum_rate_bps_hz"][m].as_f64().expect("rate");
            assert!((sum_rate(&g, &p, noise) - want).abs() < 1e-9, "{m}");
        }
    }
}

#[test]
fn knobs_and_validation() {
    let device = Backend::cpu().device;
    let mut lab = HetnetLab::new(tiny(1), &device).expect("lab");
    trainscope_engine::DynLab::set_knob(&mut lab, "lambda", KnobValue::Float(0.5)).expect("lambda");
    assert_eq!(lab.view().lambda, 0.5);
    trainscope_engine::DynLab::set_knob(
        &mut lab,
        "reward",
        KnobValue::Choice("own_minus_cost".into()),
    )
    .expect("reward");
    assert_eq!(lab.view().reward, "own_minus_cost");
    for _ in 0..30 {
        lab.step().expect("step with the other reward");
    }
    assert!(trainscope_engine::DynLab::set_knob(&mut lab, "n_small", KnobValue::Int(6)).is_err());
    for bad in [
        HetnetConfig {
            n_small: 0,
            ..tiny(1)
        },
        HetnetConfig {
            power_levels: 1,
            ..tiny(1)
        },
        HetnetConfig {
            lambda: -1.0,
            ..tiny(1)
        },
        HetnetConfig {
            replay: 4,
            ..tiny(1)
        },
        HetnetConfig {
            hidden: vec![],
            ..tiny(1)
        },
    ] {
        assert!(HetnetLab::new(bad, &device).is_err());
    }
    // Another layout size works and gives one agent per AP.
    let mut six = HetnetLab::new(
        HetnetConfig {
            n_small: 6,
            ..tiny(1)
        },
        &device,
    )
    .expect("six");
    six.step().expect("step");
    assert_eq!(six.view().aps.len(), 7);
}
