//! Session bundles end to end: `run --bundle` then `replay --check` passes; a bundle saved from
//! the window after a knob change mid-run checks too; truncated, edited, newer-format and
//! metric-tampered bundles are refused with a clear message; lessons play headless.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use trainscope::bundle;
use trainscope::gui::{Settings, TrainscopeApp};
use trainscope_engine::{Command as Cmd, KnobValue, Preset, Status};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trainscope"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ts-session-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn tiny_sets() -> Vec<String> {
    trainscope_engine::labs::find("ff")
        .expect("ff")
        .tiny
        .iter()
        .flat_map(|s| ["--set".to_string(), s.to_string()])
        .collect()
}

fn check(path: &std::path::Path) -> std::process::Output {
    bin()
        .args(["replay", "--check", "--quiet"])
        .arg(path)
        .output()
        .expect("runs")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_headless_bundle_round_trips_and_damaged_ones_are_refused() {
    let d = tmp("cli");
    let path = d.join("run.trainscope");
    let o = bin()
        .args(["run", "ff-mnist-quick", "--steps", "4", "--quiet"])
        .args(tiny_sets())
        .arg("--out")
        .arg(d.join("out"))
        .arg("--bundle")
        .arg(&path)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", text(&o));
    let o = check(&path);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("replay check passed"), "{}", text(&o));
    // The log streamed beside metrics.csv checks against every raw point there, and a changed
    // point there is named.
    let log = d.join("out").join("runlog.jsonl");
    let o = check(&log);
    assert!(
        o.status.success() && text(&o).contains("replay check passed"),
        "{}",
        text(&o)
    );
    let csv = d.join("out").join("metrics.csv");
    let rows = std::fs::read_to_string(&csv).expect("csv");
    let first = rows.lines().nth(1).expect("a row").to_string();
    let (head, _) = first.rsplit_once(',').expect("step,series,value");
    std::fs::write(&csv, rows.replacen(&first, &format!("{head},12345"), 1)).expect("write");
    let o = check(&log);
    assert!(
        !o.status.success() && text(&o).contains("differs first at step 1"),
        "{}",
        text(&o)
    );
    let o = bin()
        .args(["open", "--print"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(
        o.status.success() && text(&o).contains("ff-mnist-quick"),
        "{}",
        text(&o)
    );

    let session = bundle::open(&path).expect("opens");
    assert!(
        session.summary.get("test_error").is_some(),
        "{}",
        session.summary
    );
    let raw = std::fs::read(&path).expect("read");

    // Truncated: a clear error, and nothing else is touched.
    let cut = d.join("cut.trainscope");
    std::fs::write(&cut, &raw[..raw.len() / 2]).expect("write");
    let o = check(&cut);
    assert!(!o.status.success());
    assert!(text(&o).contains("truncated"), "{}", text(&o));

    // A member edited behind the manifest's back.
    let files = bundle::members(&session).expect("members");
    let repack = |files: &[(String, Vec<u8>)], name: &str| {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (n, b) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(b.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, n, b.as_slice()).expect("pack");
        }
        let bytes = tar.into_inner().and_then(|g| g.finish()).expect("gzip");
        let p = d.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    };
    let mut edited = files.clone();
    for (n, b) in edited.iter_mut() {
        if n == "notes.md" {
            *b = b"edited".to_vec();
        }
    }
    let o = check(&repack(&edited, "edited.trainscope"));
    assert!(!o.status.success());
    assert!(
        text(&o).contains("notes.md does not match its checksum"),
        "{}",
        text(&o)
    );

    // Written by a newer Trainscope.
    let mut newer = files.clone();
    let m = String::from_utf8(newer[0].1.clone()).expect("utf8");
    newer[0].1 = m.replace("\"format\": 1", "\"format\": 2").into_bytes();
    let o = check(&repack(&newer, "newer.trainscope"));
    assert!(!o.status.success());
    assert!(text(&o).contains("newer Trainscope"), "{}", text(&o));

    // Consistent checksums, but a metric that the run did not produce: the check names it.
    let mut forged = session.clone();
    let (name, points) = forged
        .curves
        .series
        .iter_mut()
        .find(|(n, _)| n == "ff_loss")
        .expect("ff_loss");
    points[1][1] += 1e-9;
    let step = points[1][0];
    let name = name.clone();
    let p = d.join("forged.trainscope");
    bundle::save(&p, &forged).expect("save");
    let o = check(&p);
    assert!(!o.status.success());
    assert!(
        text(&o).contains(&format!("series `{name}` differs first at step {step}")),
        "{}",
        text(&o)
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_session_saved_from_the_window_after_knob_changes_checks_and_reopens() {
    let mut preset = Preset::resolve("ff-mnist-quick").expect("preset");
    for s in trainscope_engine::labs::find("ff").expect("ff").tiny {
        preset.apply_set(s).expect("tiny");
    }
    let ctx = egui::Context::default();
    let runs = tmp("gui-runs");
    let mut app =
        TrainscopeApp::with_runs_dir(&ctx, Settings::default(), Some(preset), Some(runs.clone()));
    let wait = Duration::from_secs(120);
    {
        let r = &app.run().expect("run").runner;
        r.send(Cmd::Step(3));
        assert!(r.wait_until(wait, |s| s.step == 3 && s.status == Status::Paused));
        r.send(Cmd::SetKnob("lr".into(), KnobValue::Float(0.01)));
        r.send(Cmd::SetKnob(
            "normalize_layers".into(),
            KnobValue::Bool(false),
        ));
        r.send(Cmd::Step(3));
        assert!(r.wait_until(wait, |s| s.step == 6 && s.status == Status::Paused));
        assert_eq!(r.read(|s| s.log.events.len()), 2);
    }
    // The window streamed the run's log as it went: both knob changes are on disk already.
    let streamed = trainscope_engine::logstream::list_runs(&runs);
    assert_eq!(streamed.len(), 1, "{streamed:?}");
    let (log, _) = trainscope_engine::logstream::read_file(&streamed[0]).expect("reads");
    assert_eq!(log.events.len(), 2);
    app.set_notes("layer 2 without normalisation");
    let d = tmp("gui");
    let path = d.join("gui.trainscope");
    app.save_session(&path);
    let o = check(&path);
    assert!(o.status.success(), "{}", text(&o));

    // Reopened in the window: the log re-executes to step 6 with the same metrics.
    let saved = bundle::open(&path).expect("opens");
    assert_eq!(saved.notes, "layer 2 without normalisation");
    let recorded = saved.curves.clone();
    app.open_session(saved);
    let r = &app.run().expect("reopened").runner;
    assert!(r.wait_until(wait, |s| s.step == 6
        && s.replaying.is_none()
        && s.status == Status::Paused));
    let now = r.read(|s| trainscope_engine::Curves::of(&s.series));
    assert_eq!(recorded.first_difference(&now), None);
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::remove_dir_all(&runs);
}

#[test]
fn trainscope_lesson_prints_every_card_with_its_metrics() {
    let o = bin()
        .args(["lesson", "ff-normalisation", "--tiny", "6"])
        .output()
        .expect("runs");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    for want in [
        "# Why the second layer needs normalisation",
        "## Card 1/3 at step 0",
        "## Card 3/3 at step 6",
        "- knob: normalize_layers = false",
        "- metrics (run B):",
        "Question:",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    let o = bin()
        .args(["lesson", "no-such-lesson"])
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(text(&o).contains("no built-in lesson"), "{}", text(&o));
}

#[test]
fn the_lesson_player_renders_its_cards_and_plays_to_each_step() {
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    let mut lesson =
        trainscope_engine::lesson::Lesson::resolve("ff-normalisation").expect("lesson");
    for s in lesson.preset.entry().expect("lab").tiny {
        lesson.preset.apply_set(s).expect("tiny");
    }
    lesson.fit(6);
    let ctx = egui::Context::default();
    let mut app =
        TrainscopeApp::with_runs_dir(&ctx, Settings::default(), Some(lesson.preset.clone()), None);
    app.open_lesson(lesson);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut TrainscopeApp| app.draw(ui), app);
    let settle = |harness: &mut Harness<'_, TrainscopeApp>,
                  done: &dyn Fn(&TrainscopeApp) -> bool| {
        for _ in 0..600 {
            // Frames one at a time: the running lab keeps asking for repaints, so `run()`
            // (which waits for the UI to settle) may not return cleanly.
            harness.step();
            if done(harness.state()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    };
    assert!(settle(&mut harness, &|a| a
        .lesson()
        .is_some_and(|p| p.applied == 1)));
    assert!(
        harness
            .query_all_by_label_contains("Two runs, one difference")
            .next()
            .is_some()
    );
    assert!(
        harness
            .query_all_by_label_contains("card 1 of 3")
            .next()
            .is_some()
    );
    // The first card's race branched run B from step 0 with normalisation on.
    assert!(harness.state().race().is_some());
    // Both runs idle before the click: while run B is still settling after its start, the
    // window's layout can move under the button between finding it and the click landing.
    let idle = |a: &TrainscopeApp| {
        a.run()
            .is_some_and(|r| r.runner.snapshot().status == Status::Paused)
            && a.race()
                .is_some_and(|r| r.runner.snapshot().status == Status::Paused)
    };
    assert!(settle(&mut harness, &idle));
    harness.step();
    harness.step();
    harness.get_by_label("Play to next card").click();
    assert!(settle(&mut harness, &|a| a
        .lesson()
        .is_some_and(|p| p.applied == 2)));
    harness.step();
    let step = harness.state().run().expect("run").runner.read(|s| s.step);
    assert_eq!(step, 3, "the run stops exactly at the second card's step");
    assert!(
        harness
            .query_all_by_label_contains("What does layer 2 see?")
            .next()
            .is_some()
    );
    assert!(
        harness
            .query_all_by_label_contains("Question:")
            .next()
            .is_some()
    );
    // As above: both runs idle first, and the click retried should it land on a layout that
    // was still moving (the runs publish their last state a frame or two after they pause).
    assert!(settle(&mut harness, &idle));
    let mut back = false;
    for _ in 0..5 {
        harness.step();
        harness.get_by_label("Back").click();
        if settle(&mut harness, &|a| a.lesson().is_some_and(|p| p.shown == 0)) {
            back = true;
            break;
        }
    }
    assert!(back, "Back returns to the first card");
    harness.step();
    assert!(
        harness
            .query_all_by_label_contains("card 1 of 3")
            .next()
            .is_some()
    );
}
