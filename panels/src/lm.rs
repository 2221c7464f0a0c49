//! The language-model core's panel: training and validation loss, and a "continue this text"
//! box sampling from the current model.

use egui::{RichText, Ui};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::lm::{LmAction, LmView};

use crate::Request;
use crate::widgets::{PlotSettings, metric_plot, prompt_box};

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
        } else if let Some([step, v]) = store.get("val_loss_est").and_then(|s| s.last()) {
            ui.label(
                RichText::new(format!(
                    "validation loss ~{v:.3} nats/char (estimate: a fixed sample of validation \
                     windows, step {step})"
                ))
                .strong(),
            )
            .on_hover_text(
                "A running estimate on a small fixed set of windows of the held-out plays; the \
                 full validation comes at `eval_every` steps.",
            );
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
            ("val_loss_est", "validation estimate (fixed windows)"),
        ],
        settings,
        "nats per character",
        220.0,
    );
    let label = "Continue this text:";
    if let Some(prompt) = prompt_box(
        ui,
        "lm-prompt",
        label,
        view.temperature,
        view.sample.as_ref(),
    ) {
        out.extend(Request::act(&LmAction::Continue { prompt }));
    }
    out
}
