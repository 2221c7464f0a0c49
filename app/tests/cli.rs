//! The headless command line, run as a user would.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trainscope"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ts-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The `--set`s that shrink a preset of lab `lab` to seconds: the lab's own tiny settings.
fn small_for(lab: &str) -> Vec<String> {
    let entry = trainscope_engine::labs::find(lab).expect("registered lab");
    entry
        .tiny
        .iter()
        .flat_map(|s| ["--set".to_string(), s.to_string()])
        .collect()
}

/// [`small_for`] the lab of a built-in preset.
fn small(preset: &str) -> Vec<String> {
    small_for(
        &trainscope_engine::Preset::resolve(preset)
            .expect("preset")
            .lab,
    )
}

#[test]
fn every_preset_runs_headless_and_writes_metrics_and_summary() {
    let presets =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../presets")).expect("presets dir");
    let mut ran = 0;
    for entry in presets.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let out = tmp(&format!("run-{ran}"));
        let o = bin()
            .arg("run")
            .arg(&path)
            .args(["--steps", "3", "--quiet", "--set", "seed=4"])
            .args(small(&path.display().to_string()))
            .arg("--out")
            .arg(&out)
            .output()
            .expect("runs");
        assert!(
            o.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("backend: cpu"),
            "backend is reported: {stderr}"
        );
        let csv = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
        assert!(csv.starts_with("step,series,value\n"));
        assert!(csv.lines().count() > 10);
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("summary.json")).expect("summary"),
        )
        .expect("json");
        assert_eq!(summary["steps"], 3);
        assert_eq!(
            summary["config"]["seed"], 4,
            "--set reaches the effective config"
        );
        // The lab's headline metrics, for the config that ran (the preset with the lab's tiny
        // settings, which may change what is headlined), are numbers in summary.json.
        let mut preset = trainscope_engine::Preset::load(&path).expect("preset");
        let entry = trainscope_engine::labs::find(&preset.lab).expect("lab");
        for s in entry.tiny {
            preset.apply_set(s).expect("tiny setting");
        }
        for key in (entry.headline)(&preset.config) {
            let v = summary[key].as_f64().unwrap_or(f64::NAN);
            assert!(v.is_finite(), "{stem}: {key} in summary.json");
        }
        assert!(
            summary["backend"]
                .as_str()
                .is_some_and(|b| b.starts_with("cpu"))
        );
        assert!(summary["wall_seconds"].as_f64().is_some());
        let _ = std::fs::remove_dir_all(&out);
        ran += 1;
    }
    assert!(ran >= 2, "ran {ran} presets");
}

#[test]
fn bad_presets_and_overrides_exit_nonzero_with_a_clear_message() {
    let dir = tmp("bad");
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "lab = \"ff\"\ntitle = \"x\"\nseed = 1\n[config]\nlayres = [3]\n",
    )
    .expect("write");
    let o = bin()
        .arg("run")
        .arg(&bad)
        .arg("--quiet")
        .output()
        .expect("runs");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml:5:") && err.contains("layres"),
        "{err}"
    );

    let o = bin()
        .args(["run", "ff-mnist-quick", "--quiet", "--set", "lr=fast"])
        .output()
        .expect("runs");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--set lr=fast"), "{err}");

    let o = bin()
        .args(["run", "no-such-preset"])
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-preset"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_shows_labs_and_presets() {
    let o = bin().arg("list").output().expect("runs");
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Forward-Forward")
            && text.contains("ff-mnist-quick")
            && text.contains("ff-mnist-paper")
    );
}

#[test]
fn race_runs_both_variants_on_the_same_seed_and_compares_them() {
    let dir = tmp("race");
    let sets = small("ff-mnist-quick");
    let o = bin()
        .args(["race", "ff-mnist-quick", "--quiet", "--steps", "4"])
        .args(&sets)
        .args(["--vary", "lr=0.02"])
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |p: PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&p).expect("file")).expect("json")
    };
    let race = read(dir.join("race.json"));
    let a = read(dir.join("a/summary.json"));
    let b = read(dir.join("b/summary.json"));
    assert_eq!(a["config"]["lr"], serde_json::json!(0.003));
    assert_eq!(b["config"]["lr"], serde_json::json!(0.02));
    assert_eq!(a["seed"], b["seed"]);
    let row = &race["metrics"]["ff_loss"];
    let (ra, rb) = (row["a"].as_f64().expect("a"), row["b"].as_f64().expect("b"));
    assert_eq!(ra, a["ff_loss"].as_f64().expect("summary a"));
    assert!((row["b_minus_a"].as_f64().expect("diff") - (rb - ra)).abs() < 1e-12);
    // A learning rate 7x larger changes the training: the race must show it.
    assert_ne!(ra, rb);

    // Run A, raced on a thread beside B, equals a plain run of the same preset and seed.
    let solo = tmp("race-solo");
    let o = bin()
        .args(["run", "ff-mnist-quick", "--quiet", "--steps", "4"])
        .args(&sets)
        .arg("--out")
        .arg(&solo)
        .output()
        .expect("runs");
    assert!(o.status.success());
    let s = read(solo.join("summary.json"));
    for key in ["ff_loss", "test_error", "goodness_pos_l1"] {
        assert_eq!(s[key], a[key], "{key}");
    }

    let o = bin()
        .args(["race", "ff-mnist-quick", "--quiet", "--vary", "lr_typo=1"])
        .output()
        .expect("runs");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("lr_typo"), "{err}");
}

#[test]
fn ask_prints_the_search_query_evidence_and_answer() {
    let o = bin()
        .args(["ask", "is the sky blue during the day"])
        .args(small("sparrow-eval"))
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Whether the chosen candidate searched depends on the (tiny) models; the always-search
    // answer quotes its evidence title in brackets either way.
    for part in [
        "User: is the sky blue",
        "Search Query:",
        "chosen @",
        "Always-search answer:",
        "[",
    ] {
        assert!(out.contains(part), "{part} missing in:\n{out}");
    }
    let o = bin()
        .args(["ask", "anything", "--preset", "ff-mnist-quick"])
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs a Sparrow preset"));
}
