//! The whole app window, driven headless with egui_kittest.

use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope::gui::{Settings, TrainscopeApp};
use trainscope_engine::{Preset, Status};

#[test]
fn app_opens_a_preset_steps_it_and_shows_the_panel() {
    let mut preset = Preset::resolve("ff-mnist-quick").expect("built-in preset");
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
    let app = TrainscopeApp::new(&ctx, Settings::default(), Some(preset));
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
    assert!(harness.query_by_label_contains("ff-mnist-quick").is_some());
    assert!(
        harness
            .query_all_by_label_contains("FF learning rate")
            .next()
            .is_some()
    );
}
