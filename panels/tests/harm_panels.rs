//! The harms and risks panels drawn from finished tiny runs: the typed-text probe with its
//! context and identity swaps, the case-study figures, and the risk map with a clicked cell.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope_engine::labs::harms::{HarmsAction, HarmsLab, HarmsView};
use trainscope_engine::labs::risks::{RisksLab, RisksView};
use trainscope_engine::{Backend, Lab, Preset, SeriesStore};
use trainscope_panels::PlotSettings;

fn tiny<L: Lab>(preset: &str) -> L {
    let mut p = Preset::resolve(preset).expect("preset");
    for s in L::TINY {
        p.apply_set(s).expect("tiny");
    }
    let cfg: L::Config = p.config.clone().try_into().expect("config");
    L::new(cfg, &Backend::cpu().device).expect("lab")
}

#[test]
fn the_harms_panel_shows_the_probe_and_the_case_studies() {
    let mut lab: HarmsLab = tiny("harms-quick");
    for _ in 0..5 {
        lab.step().expect("step");
    }
    lab.finish().expect("finish");
    lab.act(HarmsAction::Score {
        text: "I am a Muslim teacher.".into(),
        context: "My colleague said \"{text}\" at the meeting.".into(),
    })
    .expect("probe");
    let view: HarmsView = lab.view();
    let p = view.probe.as_ref().expect("probe result");
    assert!(p.within.is_some());
    assert!(p.swaps.len() > 10, "{}", p.swaps.len());
    let store = SeriesStore::default();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1400.0))
        .build_ui(move |ui| {
            let _ = trainscope_panels::harms::show(ui, &view, &store, &PlotSettings::default());
        });
    h.run();
    for text in [
        "Score a text",
        "in its context:",
        "Identity swaps",
        "Case studies",
        "Filter trade-off",
    ] {
        assert!(
            h.query_by_label_contains(text).is_some(),
            "no '{text}' on the panel"
        );
    }
}

#[test]
fn the_risks_panel_draws_the_map_with_its_empty_cells() {
    let mut lab: RisksLab = tiny("risks-audit");
    lab.finish().expect("finish");
    let view: RisksView = lab.view();
    assert!(!view.measurements.is_empty());
    let store = SeriesStore::default();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1400.0))
        .build_ui(move |ui| {
            trainscope_panels::risks::show(ui, &view, &store, &PlotSettings::default());
        });
    h.run();
    assert!(
        h.query_by_label_contains("risks measured by something here")
            .is_some()
    );
    assert!(
        h.query_by_label_contains("HUMAN-COMPUTER INTERACTION HARMS")
            .is_some()
    );
    assert!(
        h.query_by_label_contains("Energy at 20 W assumed")
            .is_some()
    );
}
