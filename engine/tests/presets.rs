//! Every preset builds and runs a few steps headless.

use trainscope_engine::{Backend, Preset};

#[test]
fn every_builtin_preset_builds_and_steps() {
    let device = Backend::cpu().device;
    for mut p in Preset::builtins().expect("presets parse") {
        // Shrink to test size; the keys are the same ones a user would --set, per lab.
        let small: &[&str] = match p.lab.as_str() {
            "glom" => &[
                "batch_size=4",
                "test_images=10",
                "curve_images=4",
                "eval_every=2",
            ],
            "hetnet" => &[
                "episodes=3",
                "slots_per_episode=1",
                "hidden=[8]",
                "batch_size=4",
                "replay=50",
                "probe_size=4",
            ],
            "sparrow" => &[
                "index_dir=\"ram\"",
                "corpus_limit=150",
                "train_questions=120",
                "eval_questions=40",
                "rerank_epochs=1",
                "reader_epochs=2",
                "rm_epochs=4",
                "label_budgets=[4]",
                "pref_questions=10",
                "pref_pairs=4",
                "pref_epochs=2",
                "probe_repeats=1",
                "decide_questions=6",
            ],
            _ => &[
                "train_limit=300",
                "test_limit=100",
                "layers=[32, 32]",
                "batch_size=20",
                "eval_every=2",
            ],
        };
        for &s in small {
            p.apply_set(s).expect(s);
        }
        let mut lab = p
            .build(&device)
            .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..3 {
            let r = lab.step().unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(r.first_non_finite().is_none());
            seen.extend(r.metrics.into_iter().map(|(n, _)| n));
        }
        let fin = lab.finish().expect("finish");
        seen.extend(fin.metrics.into_iter().map(|(n, _)| n));
        // The headline metrics each lab's summary.json must carry after a run.
        let ff_flag = |key: &str| p.config.get(key).and_then(|v| v.as_bool());
        let mut want: Vec<&str> = match p.lab.as_str() {
            "glom" => vec!["acc_attn", "acc_t0", "island_score"],
            "hetnet" => vec!["pql_wmmse_ratio", "idqn_wmmse_ratio"],
            "sparrow" => vec![
                "coverage",
                "sp_rate",
                "violation_rate_rerank",
                "violation_rate_base",
                "auc_rule_conditional",
                "auc_general",
            ],
            _ => vec!["test_error"],
        };
        if p.lab == "ff" && ff_flag("bp") != Some(false) {
            want.push("bp_test_error");
        }
        if p.lab == "ff" && ff_flag("one_pass") == Some(true) {
            want.push("one_pass_test_error");
        }
        for w in &want {
            assert!(
                seen.iter().any(|n| n == w),
                "{}: no {w} after three steps and finish()",
                p.name
            );
        }
    }
}
