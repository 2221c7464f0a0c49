//! The paper scoreboard widget: for the current run, each of the lab's headline figures as
//! paper value — this run's live value (the latest point of the mapped series, with its step) —
//! the project's reference result. Data from `trainscope_engine::scoreboard`; nothing trains here.

use egui::{RichText, Ui};
use trainscope_engine::SeriesStore;
use trainscope_engine::scoreboard::{self, Entry};

/// A value in an entry's unit, with as many decimals as the unit usually needs.
pub fn format_value(value: f64, unit: &str) -> String {
    let digits = if value.abs() >= 100.0 {
        1
    } else if value.abs() >= 1.0 {
        2
    } else {
        3
    };
    let sep = if unit == "%" { "" } else { " " };
    format!("{value:.digits$}{sep}{unit}")
}

/// This run's value of `entry`: `(value in the entry's unit, step, is an estimate)` from the
/// mapped series, or from its running estimate `<metric>_est` while the full one is not out yet.
pub fn live_value(entry: &Entry, store: &SeriesStore) -> Option<(f64, f64, bool)> {
    let full = store.get(&entry.metric).and_then(|s| s.last());
    let (point, est) = match full {
        Some(p) => (p, false),
        None => (store.get(&format!("{}_est", entry.metric))?.last()?, true),
    };
    let [step, v] = point;
    Some((v * entry.scale, step, est))
}

/// Draws lab `lab`'s scoreboard for the run whose metrics are `store`.
pub fn show(ui: &mut Ui, lab: &str, store: &SeriesStore) {
    let board = match scoreboard::for_lab(lab) {
        None => {
            ui.weak(format!("No scoreboard for lab {lab}."));
            return;
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
            return;
        }
        Some(Ok(b)) => b,
    };
    egui::Grid::new(("scoreboard", lab))
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            ui.label(RichText::new("figure").strong());
            ui.label(RichText::new("paper").strong());
            ui.label(RichText::new("this run (live)").strong());
            ui.label(RichText::new("our reference").strong());
            ui.end_row();
            for e in &board.entry {
                let better = if e.lower_is_better {
                    "lower is better"
                } else {
                    "higher is better"
                };
                ui.label(&e.what)
                    .on_hover_text(format!("metric `{}`; {better}", e.metric));
                match e.paper.value {
                    Some(v) => ui
                        .label(format_value(v, &e.unit))
                        .on_hover_text(format!("{}; source: {}", e.paper.setting, e.paper.source)),
                    None => ui.weak("no number").on_hover_text(format!(
                        "{} (source: {})",
                        e.paper.note.as_deref().unwrap_or(""),
                        e.paper.source
                    )),
                };
                match live_value(e, store) {
                    Some((v, step, est)) => {
                        let shown = format!("{} at step {step:.0}", format_value(v, &e.unit));
                        if est {
                            ui.label(format!("{shown} (estimate)")).on_hover_text(
                                "running estimate on a small held-out subset, until the full \
                                 evaluation reports",
                            )
                        } else {
                            ui.label(shown)
                        }
                    }
                    None => ui.weak(format!("not reported yet (`{}`)", e.metric)),
                };
                ui.label(format_value(e.reference.value, &e.unit))
                    .on_hover_text(format!(
                        "{} (`{}`); reproduce: {}",
                        e.reference.setting, e.reference.preset, e.reference.command
                    ));
                ui.end_row();
            }
        });
    ui.weak("Hover a cell for the paper's setting and source, the metric key, and the preset and command that reproduce our reference.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_value_is_the_latest_point_scaled() {
        let board = scoreboard::for_lab("ff")
            .expect("ff has a scoreboard")
            .expect("parses");
        let e = &board.entry[0];
        let mut store = SeriesStore::new();
        assert_eq!(live_value(e, &store), None);
        store.push(&format!("{}_est", e.metric), 200.0, 0.2);
        let (v, step, est) = live_value(e, &store).expect("an estimate");
        assert!(
            est && (v - 20.0).abs() < 1e-9 && step == 200.0,
            "{v} {step} {est}"
        );
        store.push(&e.metric, 100.0, 0.5);
        store.push(&e.metric, 400.0, 0.031);
        let (v, step, est) = live_value(e, &store).expect("a point");
        assert!(!est && (v - 3.1).abs() < 1e-9, "{v}");
        assert_eq!(step, 400.0);
        assert_eq!(format_value(3.1, "%"), "3.10%");
        assert_eq!(format_value(0.813, "AUC"), "0.813 AUC");
    }
}
