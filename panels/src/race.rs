//! The race view: two runs of the same lab and seed, one with a few settings changed, drawn on
//! shared axes so the effect of the change is visible step by step. Works for every lab, since
//! it only reads the runs' metric series.

use egui::{Color32, RichText, Ui};
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};
use trainscope_engine::series::smoothed;
use trainscope_engine::{RunState, SeriesStore};

use crate::widgets::PlotSettings;

/// Colour of run A (the baseline) in every race plot.
pub const COLOR_A: Color32 = Color32::from_rgb(76, 160, 255);
/// Colour of run B (the variant).
pub const COLOR_B: Color32 = Color32::from_rgb(255, 140, 60);

/// One side of a race.
pub struct RaceSide<'a> {
    /// Short label for legends ("A: baseline").
    pub label: &'a str,
    /// The run's newest state.
    pub state: &'a RunState,
}

/// Series both runs have, in A's order.
pub fn common_series(a: &SeriesStore, b: &SeriesStore) -> Vec<String> {
    a.names()
        .iter()
        .filter(|n| b.get(n).is_some())
        .cloned()
        .collect()
}

/// Draws the comparison. `selected` holds the series the user chose to plot (kept by the
/// caller); `None` until the user picks, meaning [`default_selection`] of what exists now.
pub fn show(
    ui: &mut Ui,
    a: RaceSide<'_>,
    b: RaceSide<'_>,
    selected: &mut Option<Vec<String>>,
    settings: &PlotSettings,
) {
    let common = common_series(&a.state.series, &b.state.series);
    ui.horizontal_wrapped(|ui| {
        for (side, color) in [(&a, COLOR_A), (&b, COLOR_B)] {
            ui.colored_label(color, RichText::new(side.label).strong());
            ui.label(format!(
                "step {} ({:?}, {:.1} steps/s)",
                side.state.step, side.state.status, side.state.steps_per_sec
            ));
            ui.add_space(16.0);
        }
    });
    if common.is_empty() {
        ui.weak("(no metrics from both runs yet: press Play on both, or Play both)");
        return;
    }
    let mut shown = match selected {
        Some(s) => s.iter().filter(|n| common.contains(n)).cloned().collect(),
        None => default_selection(&common),
    };
    ui.label("Series to compare (click to toggle):");
    ui.horizontal_wrapped(|ui| {
        for name in &common {
            let on = shown.contains(name);
            if ui.selectable_label(on, name.as_str()).clicked() {
                if on {
                    shown.retain(|s| s != name);
                } else {
                    shown.push(name.clone());
                }
                *selected = Some(shown.clone());
            }
        }
    });
    ui.separator();
    for (i, name) in shown.iter().enumerate() {
        ui.strong(name);
        race_plot(ui, &format!("race-{i}-{name}"), name, &a, &b, settings);
    }
    ui.collapsing("Last values of every common series", |ui| {
        egui::Grid::new("race-table")
            .num_columns(4)
            .striped(true)
            .show(ui, |ui| {
                ui.strong("series");
                ui.colored_label(COLOR_A, "A");
                ui.colored_label(COLOR_B, "B");
                ui.strong("B - A");
                ui.end_row();
                for name in &common {
                    let va = last(&a.state.series, name);
                    let vb = last(&b.state.series, name);
                    ui.monospace(name);
                    ui.monospace(fmt(va));
                    ui.monospace(fmt(vb));
                    ui.monospace(match (va, vb) {
                        (Some(x), Some(y)) => format!("{:+.4}", y - x),
                        _ => "-".into(),
                    });
                    ui.end_row();
                }
            });
    });
}

/// Up to four series to show first: the ones a reader compares runs by (errors, accuracies,
/// ratios to a reference, then losses), else the first ones.
pub fn default_selection(common: &[String]) -> Vec<String> {
    const RANK: [&str; 5] = ["error", "acc", "ratio", "rate", "loss"];
    let score = |n: &str| {
        RANK.iter()
            .position(|k| n.contains(k))
            .unwrap_or(RANK.len())
    };
    let mut order: Vec<&String> = common.iter().collect();
    // Stable: within a rank, the lab's own order.
    order.sort_by_key(|n| score(n));
    order.into_iter().take(4).cloned().collect()
}

fn last(store: &SeriesStore, name: &str) -> Option<f64> {
    store.get(name).and_then(|s| s.last()).map(|p| p[1])
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.4}"))
}

fn race_plot(
    ui: &mut Ui,
    id: &str,
    series: &str,
    a: &RaceSide<'_>,
    b: &RaceSide<'_>,
    settings: &PlotSettings,
) {
    let mut plot = Plot::new(id)
        .height(170.0)
        .x_axis_label("step")
        .y_axis_label(series)
        .allow_scroll(false);
    if settings.show_legend {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |pui| {
        for (side, color, style) in [
            (a, COLOR_A, LineStyle::Solid),
            (b, COLOR_B, LineStyle::dashed_dense()),
        ] {
            let Some(s) = side.state.series.get(series) else {
                continue;
            };
            let pts = s.points();
            let smooth = settings.smooths(pts.len());
            if settings.show_raw || !smooth {
                let c = if smooth {
                    color.gamma_multiply(0.3)
                } else {
                    color
                };
                let name = if smooth { "" } else { side.label };
                pui.line(
                    Line::new(name, PlotPoints::from(pts.clone()))
                        .color(c)
                        .style(style)
                        .allow_hover(!smooth),
                );
            }
            if smooth {
                pui.line(
                    Line::new(
                        side.label,
                        PlotPoints::from(smoothed(&pts, settings.smoothing)),
                    )
                    .color(color)
                    .style(style)
                    .width(2.0),
                );
            }
        }
    });
}
