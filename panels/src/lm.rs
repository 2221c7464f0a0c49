//! The language-model core's panel: training and validation loss, and a "continue this text"
//! box sampling from the current model.

use egui::{RichText, Ui};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::lm::{LmAction, LmView};

use crate::Request;
use crate::widgets::{PlotSettings, metric_plot};

/// Draws the panel; returns the "continue" action when asked.
pub fn show(
    ui: &mut Ui,
    view: &LmView,
    store: &SeriesStore,
    settings: &PlotSettings,
) -> Vec<Request> {
    let mut out = Vec::new();
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("step {} / {}", view.step, view.planned));
        ui.separator();
        ui.label(&view.data);
    });
    ui.horizontal_wrapped(|ui| {
        if let Some((_, v)) = view.valid.last() {
            ui.label(RichText::new(format!("validation loss {v:.3} nats/char")).strong());
        }
        if let Some(t) = view.test {
            ui.label(RichText::new(format!("test loss {t:.3} nats/char")).strong());
        }
        ui.weak("(nanoGPT's recipe reaches about 1.88 on its own tiny-Shakespeare split)");
    });
    metric_plot(
        ui,
        "lm_loss",
        store,
        &[
            ("loss", "training batch"),
            ("val_loss", "validation (held-out plays)"),
        ],
        settings,
        "nats per character",
        220.0,
    );
    let id = ui.make_persistent_id("lm-prompt");
    let mut draft: String = ui
        .data(|d| d.get_temp(id))
        .unwrap_or_else(|| "ROMEO.\n".to_string());
    ui.horizontal(|ui| {
        let label = ui.label("Continue this text:");
        ui.add(
            egui::TextEdit::singleline(&mut draft)
                .char_limit(2000)
                .desired_width(360.0),
        )
        .labelled_by(label.id);
        if ui.button("continue").clicked() {
            out.extend(Request::act(&LmAction::Continue {
                prompt: draft.clone(),
            }));
        }
        ui.weak(format!("temperature {:.2} (a knob)", view.temperature));
    });
    ui.data_mut(|d| d.insert_temp(id, draft));
    if let Some((p, t)) = &view.sample {
        ui.label(RichText::new(format!("{p}{t}")).monospace());
    }
    out
}
