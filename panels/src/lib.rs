//! Trainscope's egui views: one panel per lab plus the shared widgets (run bar, knob editor,
//! metric plots, histograms, results). Panels only draw and send requests; they never train.
//!
//! Adding a lab's panel is its file and one line in [`PANELS`].

pub mod ff;
mod ff_parts;
pub mod fwl;
pub mod glom;
pub mod gnn;
pub mod harms;
pub mod hetnet;
pub mod lm;
pub mod otafl;
pub mod race;
pub mod results;
pub mod retro;
pub mod risks;
pub mod scoreboard;
pub mod sparrow;
mod sparrow_feedback;
pub mod widgets;

use trainscope_engine::{AnyView, KnobValue, Lab, RunState, SeriesStore};

pub use widgets::{Curve, PlotSettings, knob_editor, metric_curves, metric_plot, run_bar};

/// A [`PanelEntry`] for lab type `$lab` drawn by `$show(ui, &View, &SeriesStore, &PlotSettings)`:
/// the one place a view is downcast.
macro_rules! panel {
    ($lab:ty, $show:path) => {
        PanelEntry {
            lab: <$lab as Lab>::ID,
            show: |ui, view, store, settings| {
                view.downcast_ref::<<$lab as Lab>::View>()
                    .map(|v| PanelOutput::into_requests($show(ui, v, store, settings)))
            },
        }
    };
}

/// The registered panels, one line per lab: the lab type and its `show` function, which takes
/// that lab's own view type (checked at compile time).
static PANELS: &[PanelEntry] = &[
    panel!(trainscope_engine::labs::ff::FfLab, ff::show),
    panel!(trainscope_engine::labs::fwl::FwlLab, fwl::show),
    panel!(trainscope_engine::labs::glom::GlomLab, glom::show),
    panel!(trainscope_engine::labs::gnn::GnnLab, gnn::show),
    panel!(trainscope_engine::labs::harms::HarmsLab, harms::show),
    panel!(trainscope_engine::labs::hetnet::HetnetLab, hetnet::show),
    panel!(trainscope_engine::labs::lm::LmLab, lm::show),
    panel!(trainscope_engine::labs::otafl::OtaflLab, otafl::show),
    panel!(trainscope_engine::labs::retro::RetroLab, retro::show),
    panel!(trainscope_engine::labs::risks::RisksLab, risks::show),
    panel!(trainscope_engine::labs::sparrow::SparrowLab, sparrow::show),
];

/// What a panel's own controls ask the run to do; the app sends each to the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Change a knob (as the knob column would).
    Knob(String, KnobValue),
    /// Carry out one of the lab's typed actions, in its serde form.
    Act(serde_json::Value),
}

impl Request {
    /// A request for a lab's typed action.
    pub fn act(action: &impl serde::Serialize) -> Option<Request> {
        serde_json::to_value(action).ok().map(Request::Act)
    }
}

/// What a lab's `show` function may return: nothing, or the requests its controls made.
pub trait PanelOutput {
    /// The requests, in order.
    fn into_requests(self) -> Vec<Request>;
}

impl PanelOutput for () {
    fn into_requests(self) -> Vec<Request> {
        Vec::new()
    }
}

impl PanelOutput for Vec<Request> {
    fn into_requests(self) -> Vec<Request> {
        self
    }
}

/// A registered panel: the lab it draws and its type-erased drawing function, which returns
/// `None` when the view is not of the lab's view type.
pub struct PanelEntry {
    /// The lab id.
    pub lab: &'static str,
    /// Draws the view; the requests its controls made.
    pub show: fn(&mut egui::Ui, &AnyView, &SeriesStore, &PlotSettings) -> Option<Vec<Request>>,
}

/// Every registered panel.
pub fn panels() -> &'static [PanelEntry] {
    PANELS
}

/// Draws the panel of lab `lab_id` for the run's newest state. Returns the requests the
/// panel's own controls made (e.g. Sparrow's "ask", "mark" and "prefer"), in order; the app
/// sends each to the run. Most panels never make any.
pub fn lab_panel(
    ui: &mut egui::Ui,
    lab_id: &str,
    state: &RunState,
    settings: &PlotSettings,
) -> Vec<Request> {
    let Some(view) = state.view.as_ref() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Loading data and building the model…");
        });
        return Vec::new();
    };
    match PANELS.iter().find(|p| p.lab == lab_id) {
        Some(p) => match (p.show)(ui, view, &state.series, settings) {
            Some(requests) => requests,
            None => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("internal error: the view of lab `{lab_id}` has an unexpected type"),
                );
                Vec::new()
            }
        },
        None => {
            ui.label(format!("No panel is registered for lab `{lab_id}`."));
            Vec::new()
        }
    }
}
