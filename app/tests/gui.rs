//! The whole app window, driven headless with egui_kittest.

use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope::gui::{Settings, TrainscopeApp};
use trainscope_engine::{Preset, Status};

#[test]
fn app_opens_a_preset_steps_it_and_shows_the_panel() {
    open_and_step("ff-mnist-quick", "Goodness per layer");
}

#[test]
fn the_other_ff_modes_open_and_step_in_the_app() {
    open_and_step("ff-mnist-unsupervised", "hybrids");
    open_and_step("ff-mnist-recurrent", "Goodness per iteration");
    open_and_step("ff-mnist-race", "one-pass");
}

/// Opens a built-in FF preset shrunk to test size, steps it once (with an evaluation) and looks
/// for `expect` in the panel.
fn open_and_step(name: &str, expect: &str) {
    let mut preset = Preset::resolve(name).expect("built-in preset");
    for s in [
        "train_limit=300",
        "test_limit=100",
        "layers=[16,16]",
        "batch_size=20",
        "eval_every=1",
    ] {
        preset.apply_set(s).expect(s);
    }
    let ctx = egui::Context::default();
    let app = TrainscopeApp::with_runs_dir(&ctx, Settings::default(), Some(preset), None);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut TrainscopeApp| app.draw(ui), {
            let run = app.run().expect("a run is open");
            assert!(
                run.runner
                    .wait_until(Duration::from_secs(60), |s| s.status == Status::Paused)
            );
            app
        });
    harness.run();
    harness.get_by_label("Step").click();
    harness.run();
    let ok = harness
        .state()
        .run()
        .expect("run")
        .runner
        .wait_until(Duration::from_secs(60), |s| {
            s.step == 1 && s.status == Status::Paused
        });
    assert!(ok);
    harness.run();
    assert!(harness.query_by_label_contains("step 1").is_some());
    assert!(
        harness
            .query_by_label_contains("Goodness per layer")
            .is_some()
    );
    assert!(harness.query_all_by_label_contains(name).next().is_some());
    assert!(
        harness.query_all_by_label_contains(expect).next().is_some(),
        "{name}: {expect}"
    );
    assert!(
        harness
            .query_all_by_label_contains("FF learning rate")
            .next()
            .is_some()
    );
}

#[test]
fn a_race_runs_a_variant_beside_the_run_and_compares_them() {
    let mut preset = Preset::resolve("ff-mnist-quick").expect("built-in preset");
    for s in [
        "train_limit=300",
        "test_limit=100",
        "layers=[16,16]",
        "batch_size=20",
        "eval_every=1",
        "epochs=0.2",
    ] {
        preset.apply_set(s).expect(s);
    }
    let ctx = egui::Context::default();
    let mut app = TrainscopeApp::with_runs_dir(&ctx, Settings::default(), Some(preset), None);
    // A bad line is reported with its number and starts nothing.
    let err = app
        .start_race("lr=0.01\nlr_typo=2")
        .expect_err("unknown key");
    assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    assert!(app.race().is_none());
    assert!(app.start_race("  \n# only a comment").is_err());
    // lr=0.003 is the preset's own value: B would repeat A.
    let same = app.start_race("lr=0.003").expect_err("no-op change");
    assert!(format!("{same:#}").contains("repeat run A"), "{same:#}");

    app.start_race("# faster\nlr=0.01").expect("race starts");
    let race = app.race().expect("race on");
    assert_eq!(race.changes, vec!["lr=0.01".to_string()]);
    assert_eq!(
        race.preset.config.get("lr"),
        Some(&toml::Value::Float(0.01))
    );
    let done = |s: &trainscope_engine::RunState| s.status == Status::Finished;
    assert!(race.runner.wait_until(Duration::from_secs(60), done));
    let run = app.run().expect("run A");
    assert!(run.runner.wait_until(Duration::from_secs(60), done));
    let (a, b) = (
        run.runner.read(|s| s.series.last_values()),
        race.runner.read(|s| s.series.last_values()),
    );
    let get = |v: &[(String, f64)], k: &str| v.iter().find(|(n, _)| n == k).map(|p| p.1);
    assert_ne!(get(&a, "ff_loss"), get(&b, "ff_loss"));

    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut TrainscopeApp| app.draw(ui), app);
    harness.run();
    assert!(harness.query_by_label("Compare A and B").is_some());
    assert!(
        harness
            .query_all_by_label_contains("B: lr=0.01")
            .next()
            .is_some()
    );
    harness.get_by_label("Panel of B").click();
    harness.run();
    assert!(
        harness
            .query_by_label_contains("Goodness per layer")
            .is_some()
    );
}
