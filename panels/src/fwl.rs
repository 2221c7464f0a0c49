//! The Fast Weight Layers panel: a held-out document with each token coloured by how much
//! dynamic evaluation or the FWL lowered its loss against the baseline (hover: the three
//! losses), the improvement by position, validation curves, learned step sizes, inference
//! speed, and a "continue this text" box.

use egui::{Color32, RichText, Sense, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::fwl::{DocView, FwlAction, FwlView, TestView, block::STEP_NAMES};

use crate::Request;
use crate::widgets::{PlotSettings, metric_plot, palette, prompt_box};

/// Tokens of the document drawn (each is its own widget, for hovering).
const SHOWN_TOKENS: usize = 1200;

/// Which method the document's colours compare with the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Compare {
    #[default]
    Fwl,
    Dyneval,
}

/// Draws the whole panel; returns the actions its buttons ask for.
pub fn show(
    ui: &mut Ui,
    view: &FwlView,
    store: &SeriesStore,
    settings: &PlotSettings,
) -> Vec<Request> {
    let mut out = Vec::new();
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("step {} / {}", view.step, view.planned));
        ui.separator();
        ui.label(&view.data);
    });
    match &view.test {
        Some(t) => summary(ui, t),
        None => {
            ui.weak("Held-out scores appear at the end of the run, or now:");
        }
    }
    ui.horizontal(|ui| {
        if ui.button("evaluate held-out documents now").clicked() {
            out.extend(Request::act(&FwlAction::Evaluate));
        }
        ui.weak(format!(
            "dynamic evaluation: lr {:.3}, scope {}; FWL fast weights at evaluation: {}",
            view.dyn_lr,
            view.dyn_scope,
            if view.fwl_eval {
                "on"
            } else {
                "off (slow logits)"
            }
        ));
    });
    ui.add_space(4.0);
    document(ui, view.doc.as_ref());
    ui.add_space(6.0);
    let half = (ui.available_width() / 2.0 - 20.0).max(180.0);
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Validation loss (held-out plays)");
            metric_plot(
                ui,
                "fwl_valid",
                store,
                &[("val_base", "baseline"), ("val_fwl", "FWL")],
                settings,
                "nats per token",
                170.0,
            );
        });
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Improvement against position in the document");
            position_plot(ui, view.test.as_ref(), settings);
        });
    });
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("FWL learned step sizes");
            let names: Vec<String> = STEP_NAMES.iter().map(|n| format!("eta {n}")).collect();
            let series: Vec<(&str, &str)> = names
                .iter()
                .zip(STEP_NAMES)
                .map(|(s, l)| (s.as_str(), l))
                .collect();
            metric_plot(
                ui,
                "fwl_steps",
                store,
                &series,
                settings,
                "step size η",
                170.0,
            );
        });
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Training loss (same batches)");
            metric_plot(
                ui,
                "fwl_train",
                store,
                &[("loss_base", "baseline"), ("loss_fwl", "FWL")],
                settings,
                "nats per token",
                170.0,
            );
        });
    });
    if let Some(t) = &view.test {
        occurrences(ui, t);
    }
    ui.add_space(6.0);
    continue_box(ui, view, &mut out);
    out
}

fn summary(ui: &mut Ui, t: &TestView) {
    let gain = t.ppl[0] - t.ppl[1];
    let share = if gain.abs() > 1e-12 {
        (t.ppl[0] - t.ppl[2]) / gain
    } else {
        f64::NAN
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("baseline ppl {:.3}", t.ppl[0])).strong());
        ui.label(
            RichText::new(format!("+ dynamic evaluation {:.3}", t.ppl[1]))
                .strong()
                .color(palette(1)),
        );
        ui.label(
            RichText::new(format!("FWL {:.3}", t.ppl[2]))
                .strong()
                .color(palette(2)),
        );
        ui.separator();
        ui.label(format!(
            "FWL keeps {:.0}% of dynamic evaluation's gain",
            100.0 * share
        ));
    });
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "counted cost vs baseline: dynamic evaluation {:.2}x, FWL {:.2}x",
            t.cost[0], t.cost[1]
        ));
        ui.separator();
        let [b, d, f] = t.tokens_per_s;
        ui.label(format!(
            "measured tokens/s: baseline {b:.0}, dynamic evaluation {d:.0} ({:.2}x), FWL {f:.0} ({:.2}x)",
            b / d.max(1e-9),
            b / f.max(1e-9)
        ));
    });
    ui.weak(format!(
        "{} held-out documents never trained on, {} tokens scored by each method (step {}); perplexity per token.",
        t.docs, t.tokens, t.step
    ));
}

/// Green where the method lowered the loss, red where it raised it; full colour at 2 nats.
fn delta_color(delta: f32, dark: bool) -> Color32 {
    let a = (delta.abs() / 2.0).clamp(0.0, 1.0);
    let alpha = (40.0 + 200.0 * a) as u8;
    if delta.abs() < 0.02 {
        return Color32::TRANSPARENT;
    }
    let (r, g, b) = if delta > 0.0 {
        (40, 170, 60)
    } else {
        (210, 50, 50)
    };
    let _ = dark;
    Color32::from_rgba_unmultiplied(r, g, b, alpha)
}

fn document(ui: &mut Ui, doc: Option<&DocView>) {
    let Some(doc) = doc else {
        ui.weak("(the coloured held-out document appears after an evaluation)");
        return;
    };
    let id = ui.make_persistent_id("fwl-compare");
    let mut cmp: Compare = ui.data(|d| d.get_temp(id)).unwrap_or_default();
    ui.horizontal(|ui| {
        ui.strong(format!("Held-out: {}", doc.title));
        ui.separator();
        ui.label("colour = baseline loss − loss of");
        ui.selectable_value(&mut cmp, Compare::Fwl, "FWL");
        ui.selectable_value(&mut cmp, Compare::Dyneval, "dynamic evaluation");
        ui.label(RichText::new(" lower ").background_color(delta_color(1.5, true)));
        ui.label(RichText::new(" higher ").background_color(delta_color(-1.5, true)));
        ui.weak("(hover a token for its three losses)");
    });
    ui.data_mut(|d| d.insert_temp(id, cmp));
    let dark = ui.visuals().dark_mode;
    egui::ScrollArea::vertical()
        .id_salt("fwl-doc")
        .max_height(260.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing = egui::vec2(0.0, 2.0);
                let n = doc.pieces.len().min(SHOWN_TOKENS);
                for i in 0..n {
                    let piece = &doc.pieces[i];
                    let other = match cmp {
                        Compare::Fwl => doc.fwl[i],
                        Compare::Dyneval => doc.dyneval[i],
                    };
                    let delta = doc.base[i] - other;
                    let lines: Vec<&str> = piece.split('\n').collect();
                    for (k, line) in lines.iter().enumerate() {
                        if k > 0 {
                            ui.end_row();
                        }
                        // A newline shows as ↵ at the end of its line; nothing starts the next.
                        let shown = if k + 1 < lines.len() {
                            format!("{line}↵")
                        } else if line.is_empty() {
                            continue;
                        } else {
                            line.to_string()
                        };
                        let text = RichText::new(shown.replace(' ', "\u{2002}")).monospace().background_color(delta_color(delta, dark));
                        let r = ui.add(egui::Label::new(text).sense(Sense::hover()));
                        // The tooltip text is only formatted for the hovered token.
                        r.on_hover_ui(|ui| {
                            ui.label(format!(
                                "token {i} {:?}\nbaseline {:.2} nats\ndynamic evaluation {:.2}\nFWL {:.2}",
                                piece, doc.base[i], doc.dyneval[i], doc.fwl[i]
                            ));
                        });
                    }
                }
            });
        });
}

fn position_plot(ui: &mut Ui, test: Option<&TestView>, settings: &PlotSettings) {
    let Some(t) = test else {
        ui.weak("(after an evaluation)");
        return;
    };
    let line = |pts: &[(f64, f64, f64)], pick: fn(&(f64, f64, f64)) -> f64| {
        PlotPoints::from_iter(pts.iter().map(|p| [p.0, pick(p)]))
    };
    let mut plot = Plot::new("fwl_position")
        .height(170.0)
        .x_axis_label("token position in the document (bin start)")
        .y_axis_label("baseline − method, nats/token")
        .allow_scroll(false);
    if settings.show_legend {
        plot = plot.legend(Legend::default());
    }
    plot.show(ui, |p| {
        p.line(Line::new("dynamic evaluation", line(&t.by_position, |p| p.1)).color(palette(1)));
        p.line(Line::new("FWL", line(&t.by_position, |p| p.2)).color(palette(2)));
    });
}

fn occurrences(ui: &mut Ui, t: &TestView) {
    ui.strong(
        "Improvement on first occurrences against repeats (nats per token, higher is better)",
    );
    egui::Grid::new("fwl-occ").striped(true).show(ui, |ui| {
        for h in [
            "tokens in",
            "tokens",
            "baseline loss",
            "dynamic evaluation gain",
            "FWL gain",
        ] {
            ui.strong(h);
        }
        ui.end_row();
        for (label, n, b, g1, g2) in &t.occurrences {
            ui.label(label);
            ui.label(n.to_string());
            ui.label(format!("{b:.3}"));
            ui.label(format!("{g1:+.3}"));
            ui.label(format!("{g2:+.3}"));
            ui.end_row();
        }
    });
}

fn continue_box(ui: &mut Ui, view: &FwlView, out: &mut Vec<Request>) {
    let label = "Continue this text (FWL model):";
    if let Some(prompt) = prompt_box(
        ui,
        "fwl-prompt",
        label,
        view.temperature,
        view.sample.as_ref(),
    ) {
        out.extend(Request::act(&FwlAction::Continue { prompt }));
    }
}
