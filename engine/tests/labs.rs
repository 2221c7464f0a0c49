//! One generic test over every registered lab: its presets run headless with its tiny
//! settings and report its headline metrics, the same seed gives the same metrics, and its
//! knobs agree with its config's validation. A new lab is covered by registering it.

use trainscope_engine::labs::{self, LabEntry};
use trainscope_engine::{Backend, KnobKind, Preset, StepReport};

/// The lab's presets, shrunk with its tiny settings.
fn tiny_presets(entry: &LabEntry) -> Vec<Preset> {
    let mut out = Vec::new();
    for mut p in Preset::builtins().expect("presets parse") {
        if p.lab != entry.id {
            continue;
        }
        for s in entry.tiny {
            p.apply_set(s)
                .unwrap_or_else(|e| panic!("{}: tiny setting {s}: {e}", p.name));
        }
        out.push(p);
    }
    out
}

/// Three steps and the final evaluation; every metric point in order.
fn run(p: &Preset) -> Vec<(String, f64)> {
    let device = Backend::cpu().device;
    let mut lab = p
        .build(&device)
        .unwrap_or_else(|e| panic!("{}: {e}", p.name));
    let mut all: Vec<(String, f64)> = Vec::new();
    for i in 0..3 {
        let r: StepReport = lab
            .step()
            .unwrap_or_else(|e| panic!("{} step {i}: {e}", p.name));
        assert!(
            r.first_non_finite().is_none(),
            "{}: non-finite {:?}",
            p.name,
            r.first_non_finite()
        );
        all.extend(r.metrics);
    }
    let fin = lab
        .finish()
        .unwrap_or_else(|e| panic!("{} finish: {e}", p.name));
    all.extend(fin.metrics);
    // Every knob takes its own current value back through the typed round trip.
    for k in lab.knobs() {
        lab.set_knob(&k.name, k.value.clone())
            .unwrap_or_else(|e| panic!("{}: knob {} = {}: {e}", p.name, k.name, k.value));
    }
    all
}

#[test]
fn every_preset_belongs_to_a_registered_lab_by_its_name() {
    for p in Preset::builtins().expect("presets parse") {
        let entry = labs::find(&p.lab).expect("registered");
        assert!(
            p.name.starts_with(&format!("{}-", entry.id)),
            "preset {} of lab {} must be named {}-*.toml",
            p.name,
            p.lab,
            entry.id
        );
    }
}

#[test]
fn every_preset_runs_tiny_and_reports_its_headline_metrics() {
    for entry in labs::all() {
        let presets = tiny_presets(entry);
        assert!(!presets.is_empty(), "lab {} has no preset", entry.id);
        for p in &presets {
            let seen = run(p);
            for h in (entry.headline)(&p.config) {
                assert!(
                    seen.iter().any(|(n, _)| n == h),
                    "{}: no headline metric {h} after three steps and finish()",
                    p.name
                );
            }
        }
    }
}

#[test]
fn same_seed_same_metrics_for_every_lab() {
    for entry in labs::all() {
        let p = &tiny_presets(entry)[0];
        let a = run(p);
        let b = run(p);
        assert!(!a.is_empty(), "{}: no metrics", p.name);
        assert_eq!(a, b, "{}: the same seed gave different metrics", p.name);
    }
}

/// A value just outside a range's bound, or `None` when the bound is the type's own limit.
fn outside(kind: &KnobKind, low: bool) -> Option<toml::Value> {
    match *kind {
        KnobKind::Float { min, max, .. } => Some(toml::Value::Float(if low {
            min - (min.abs() * 1e-3 + 1e-6)
        } else {
            max + (max.abs() * 1e-3 + 1e-6)
        })),
        KnobKind::Int { min, max } => {
            let v = if low {
                min.checked_sub(1)?
            } else {
                max.checked_add(1)?
            };
            // Unsigned config fields cannot hold -1: deserialising rejects it anyway.
            Some(toml::Value::Integer(v))
        }
        KnobKind::Choice(_) => (!low).then(|| toml::Value::String("no-such-choice".into())),
        KnobKind::Bool => None,
    }
}

fn inside(kind: &KnobKind, low: bool) -> Option<toml::Value> {
    match *kind {
        KnobKind::Float { min, max, .. } => Some(toml::Value::Float(if low { min } else { max })),
        KnobKind::Int { min, max } => Some(toml::Value::Integer(if low { min } else { max })),
        KnobKind::Choice(o) => o
            .get(if low { 0 } else { o.len().saturating_sub(1) })
            .map(|s| toml::Value::String(s.to_string())),
        KnobKind::Bool => None,
    }
}

#[test]
fn knob_ranges_agree_with_config_validation() {
    for entry in labs::all() {
        let default = (entry.normalize)(toml::Table::new())
            .unwrap_or_else(|e| panic!("{}: the default config is invalid: {e}", entry.id));
        for r in entry.ranges {
            // The key is one the config has (an unset `Option` is absent from the default
            // table, so ask the config itself: an unknown key fails deserialisation).
            if let Some(v) = inside(&r.kind, true) {
                let mut t = default.clone();
                t.insert(r.key.into(), v);
                if let Err(e) = (entry.normalize)(t) {
                    assert!(
                        !e.to_string().contains("unknown field"),
                        "{}: range for `{}`, which the config does not have: {e}",
                        entry.id,
                        r.key
                    );
                }
            }
            for low in [true, false] {
                if let Some(v) = outside(&r.kind, low) {
                    let mut t = default.clone();
                    t.insert(r.key.into(), v.clone());
                    assert!(
                        (entry.normalize)(t).is_err(),
                        "{}: `{} = {v}` is outside its range but validates",
                        entry.id,
                        r.key
                    );
                }
            }
        }
        for k in (entry.knobs)() {
            let range = entry.ranges.iter().find(|r| r.key == k.key);
            match range {
                Some(r) => {
                    // Both ends of a knob's control are values the config accepts whole.
                    for low in [true, false] {
                        if let Some(v) = inside(&r.kind, low) {
                            let mut t = default.clone();
                            t.insert(k.key.into(), v.clone());
                            (entry.normalize)(t).unwrap_or_else(|e| {
                                panic!(
                                    "{}: knob `{}` offers {v}, which the config rejects: {e}",
                                    entry.id, k.key
                                )
                            });
                        }
                    }
                    if let KnobKind::Choice(options) = r.kind {
                        for o in options {
                            let mut t = default.clone();
                            t.insert(k.key.into(), toml::Value::String(o.to_string()));
                            (entry.normalize)(t).unwrap_or_else(|e| {
                                panic!("{}: choice {o} of `{}`: {e}", entry.id, k.key)
                            });
                        }
                    }
                }
                None => assert!(
                    matches!(default.get(k.key), Some(toml::Value::Boolean(_))),
                    "{}: knob `{}` has no range in the config's RANGES (only booleans need none)",
                    entry.id,
                    k.key
                ),
            }
        }
    }
}
