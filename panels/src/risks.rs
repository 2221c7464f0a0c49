//! The risks lab's panel: the risk map as a heat map (areas and risks down, labs across), each
//! cell the latest measured value or an explicit "nothing here measures this"; clicking a cell
//! shows the measurement, its figure and its caveat; then the mitigation trade-offs and the
//! energy of each run.

use egui::{Color32, RichText, Ui};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::risks::{LABS, Measurement, RisksView};

use crate::results::curve_set;
use crate::widgets::PlotSettings;

const EMPTY: Color32 = Color32::from_rgb(215, 215, 215);

/// Heat colour: pale yellow (little harm shown) to deep red (much).
fn heat(h: f64) -> Color32 {
    let h = h.clamp(0.0, 1.0) as f32;
    let lerp = |a: f32, b: f32| (a + (b - a) * h) as u8;
    Color32::from_rgb(lerp(255.0, 190.0), lerp(236.0, 30.0), lerp(160.0, 30.0))
}

fn cell<'a>(view: &'a RisksView, risk: &str, lab: &str) -> Vec<&'a Measurement> {
    view.measurements
        .iter()
        .filter(|m| m.lab == lab && m.risks.contains(&risk))
        .collect()
}

fn short(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

/// Draws the panel (it sends nothing: the selection is view-side).
pub fn show(ui: &mut Ui, view: &RisksView, store: &SeriesStore, settings: &PlotSettings) {
    let measured = {
        let mut ids: Vec<&str> = view
            .measurements
            .iter()
            .flat_map(|m| m.risks.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "step {} / {}: {}",
            view.step, view.planned, view.phase
        ));
        ui.separator();
        ui.label(
            RichText::new(format!(
                "{} of {} risks measured by something here; {} measurements",
                measured,
                view.taxonomy.risk.len(),
                view.measurements.len()
            ))
            .strong(),
        );
        if let Some([step, auc]) = store
            .get(trainscope_engine::labs::risks::LIVE_AUC)
            .and_then(|s| s.last())
        {
            ui.separator();
            ui.label(format!(
                "running: the harms sub-run's toxicity classifier, held-out AUC {auc:.3} at audit \
                 step {step} (an early figure; the map fills as each sub-run completes)"
            ));
        }
    });
    ui.weak("Colour: how much harm the measurement shows (pale = little, red = much; each measurement's scale is in its caveat). Grey: nothing here measures this. Click a cell for the measurement.");
    let id = ui.make_persistent_id("risks-selected");
    let mut selected: Option<(String, String)> = ui.data(|d| d.get_temp(id)).unwrap_or(None);
    egui::ScrollArea::horizontal()
        .id_salt("risk-map")
        .show(ui, |ui| {
            egui::Grid::new("risk-map-grid")
                .spacing([4.0, 3.0])
                .show(ui, |ui| {
                    ui.label(RichText::new("risk (status)").strong());
                    for lab in LABS {
                        ui.label(RichText::new(lab).strong());
                    }
                    ui.end_row();
                    for area in &view.taxonomy.area {
                        ui.label(RichText::new(area.name.to_uppercase()).strong().small());
                        ui.end_row();
                        for r in view.taxonomy.risks_of(&area.id) {
                            ui.label(format!("{} ({})", short(&r.name, 40), r.status))
                                .on_hover_text(&r.description);
                            for lab in LABS {
                                let ms = cell(view, &r.id, lab);
                                let (text, fill) = match ms.first() {
                                    None => ("-".to_string(), EMPTY),
                                    Some(m) => {
                                        let h = ms.iter().map(|m| m.heat).fold(0.0, f64::max);
                                        (
                                            short(&m.shown, 15)
                                                + if ms.len() > 1 { " +" } else { "" },
                                            heat(h),
                                        )
                                    }
                                };
                                let b = egui::Button::new(
                                    RichText::new(text).color(Color32::BLACK).small(),
                                )
                                .fill(fill)
                                .min_size(egui::vec2(110.0, 18.0));
                                let resp = ui.add(b).on_hover_text(if ms.is_empty() {
                                    "nothing here measures this".to_string()
                                } else {
                                    ms.iter().map(|m| m.label).collect::<Vec<_>>().join("\n")
                                });
                                if resp.clicked() {
                                    selected = Some((r.id.clone(), lab.to_string()));
                                }
                            }
                            ui.end_row();
                        }
                    }
                });
        });
    ui.data_mut(|d| d.insert_temp(id, selected.clone()));
    ui.separator();
    if let Some((rid, lab)) = &selected {
        if let Some(r) = view.taxonomy.risk(rid) {
            ui.label(RichText::new(format!("{} — {lab}", r.name)).heading());
            ui.label(&r.description);
            ui.label(format!(
                "status: {}{}; points of origin: {}",
                r.status,
                if r.status_checked {
                    ""
                } else {
                    " (our reading, unchecked)"
                },
                r.origins.join(", ")
            ));
            ui.label(format!(
                "mitigations the paper discusses: {}",
                r.mitigations.join("; ")
            ));
            let ms = cell(view, rid, lab);
            if ms.is_empty() {
                ui.label(RichText::new("Nothing in this lab measures this risk.").strong());
            }
            for m in ms {
                ui.label(RichText::new(format!("{}: {}", m.label, m.shown)).strong());
                ui.label(format!("Why it measures this: {}", m.why));
                ui.label(RichText::new(format!("What it cannot show: {}", m.cannot)).italics());
                if let Some(f) = &m.figure {
                    curve_set(ui, f, settings, ui.available_width().min(600.0));
                }
            }
        }
    } else {
        ui.weak("(no cell selected)");
    }
    if !view.tradeoffs.is_empty() {
        ui.separator();
        ui.label(RichText::new("Mitigation trade-offs the labs can show").strong());
        let mut s = settings.clone();
        s.show_legend = true;
        ui.columns(view.tradeoffs.len(), |c| {
            for (k, t) in view.tradeoffs.iter().enumerate() {
                let w = c[k].available_width();
                curve_set(&mut c[k], t, &s, w);
            }
        });
    }
    if !view.costs.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("Energy at {} W assumed:", view.watts)).strong());
            for c in &view.costs {
                ui.label(format!(
                    "{} {:.0} s = {:.3} Wh;",
                    c.run,
                    c.seconds,
                    c.joules / 3600.0
                ));
            }
        });
    }
}
