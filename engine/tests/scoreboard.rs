//! Every registered lab has a paper scoreboard file that parses, whose entries name metrics the
//! lab actually reports (in its tiny runs or among its presets' headline keys) and whose
//! reference results name a shipped preset of the lab.

use std::collections::BTreeSet;

use trainscope_engine::labs;
use trainscope_engine::{Backend, Preset, scoreboard};

/// Every metric name one tiny run of `p` reports in three steps and its final evaluation.
fn tiny_metrics(p: &Preset, tiny: &[&str]) -> BTreeSet<String> {
    let mut p = p.clone();
    for s in tiny {
        p.apply_set(s)
            .unwrap_or_else(|e| panic!("{}: tiny setting {s}: {e}", p.name));
    }
    let device = Backend::cpu().device;
    let mut lab = p
        .build(&device)
        .unwrap_or_else(|e| panic!("{}: {e}", p.name));
    let mut names = BTreeSet::new();
    for i in 0..3 {
        let r = lab
            .step()
            .unwrap_or_else(|e| panic!("{} step {i}: {e}", p.name));
        names.extend(r.metrics.into_iter().map(|(n, _)| n));
    }
    let fin = lab
        .finish()
        .unwrap_or_else(|e| panic!("{} finish: {e}", p.name));
    names.extend(fin.metrics.into_iter().map(|(n, _)| n));
    names
}

#[test]
fn every_lab_has_a_scoreboard_naming_metrics_it_reports() {
    let presets = Preset::builtins().expect("presets parse");
    for entry in labs::all() {
        let board = scoreboard::for_lab(entry.id)
            .unwrap_or_else(|| {
                panic!(
                    "lab {} has no {}",
                    entry.id,
                    scoreboard::file_name(entry.id)
                )
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!board.entry.is_empty(), "{}: empty scoreboard", entry.id);
        let own: Vec<&Preset> = presets.iter().filter(|p| p.lab == entry.id).collect();
        // What the lab reports: its presets' headline keys at their full size, and every
        // metric of its default (first) preset's tiny run.
        let mut reported: BTreeSet<String> = own
            .iter()
            .flat_map(|p| (entry.headline)(&p.config))
            .map(str::to_string)
            .collect();
        reported.extend(tiny_metrics(own[0], entry.tiny));
        for e in &board.entry {
            assert!(
                reported.contains(&e.metric),
                "{}: entry \"{}\" names metric {} that the lab does not report",
                scoreboard::file_name(entry.id),
                e.what,
                e.metric
            );
            assert!(
                own.iter().any(|p| p.name == e.reference.preset),
                "{}: reference preset {} is not a preset of lab {}",
                scoreboard::file_name(entry.id),
                e.reference.preset,
                entry.id
            );
        }
    }
    // And no file for a lab that is not registered.
    for id in scoreboard::labs() {
        assert!(
            labs::find(id).is_some(),
            "scoreboard file for unknown lab {id}"
        );
    }
}
