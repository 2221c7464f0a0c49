//! Trainscope's egui views: one panel per lab plus the shared widgets (run bar, knob editor,
//! metric plots, histograms). Panels only draw and send commands; they never train.

pub mod ff;
mod ff_parts;
pub mod glom;
pub mod hetnet;
pub mod race;
pub mod sparrow;
mod sparrow_feedback;
pub mod widgets;

use trainscope_engine::{KnobValue, RunState};

pub use widgets::{Curve, PlotSettings, knob_editor, metric_curves, metric_plot, run_bar};

/// Draws the panel of lab `lab_id` for the run's newest state. Returns the knob changes the
/// panel's own controls asked for (e.g. Sparrow's "mark" and "prefer" buttons), in order; the
/// app sends each to the run as the knob column would. Most panels never ask for any.
pub fn lab_panel(
    ui: &mut egui::Ui,
    lab_id: &str,
    state: &RunState,
    settings: &PlotSettings,
) -> Vec<(String, KnobValue)> {
    let Some(view) = state.view.as_ref() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Loading data and building the model…");
        });
        return Vec::new();
    };
    match lab_id {
        "ff" => match view.downcast_ref::<trainscope_engine::labs::ff::FfView>() {
            Some(v) => ff::show(ui, v, &state.series, settings),
            None => wrong_view(ui, lab_id),
        },
        "glom" => match view.downcast_ref::<trainscope_engine::labs::glom::GlomView>() {
            Some(v) => glom::show(ui, v, &state.series, settings),
            None => wrong_view(ui, lab_id),
        },
        "hetnet" => match view.downcast_ref::<trainscope_engine::labs::hetnet::HetnetView>() {
            Some(v) => hetnet::show(ui, v, &state.series, settings),
            None => wrong_view(ui, lab_id),
        },
        "sparrow" => match view.downcast_ref::<trainscope_engine::labs::sparrow::SparrowView>() {
            Some(v) => return sparrow::show(ui, v, &state.series, settings),
            None => wrong_view(ui, lab_id),
        },
        other => {
            ui.label(format!("No panel is registered for lab `{other}`."));
        }
    }
    Vec::new()
}

fn wrong_view(ui: &mut egui::Ui, lab_id: &str) {
    ui.colored_label(
        ui.visuals().error_fg_color,
        format!("internal error: the view of lab `{lab_id}` has an unexpected type"),
    );
}
