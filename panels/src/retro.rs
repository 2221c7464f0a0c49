//! The RETRO panel: a held-out document with each token coloured by how long a run of text
//! ending at it also occurs in the neighbours its chunk attended to; under the cursor, that
//! chunk's neighbours and continuations with their distances; the racing modes' loss curves;
//! a "continue this text" box that shows what the sample retrieved. The neighbour, database
//! and leakage curves are the lab's results, drawn below the panel.

use egui::{Color32, RichText, Sense, Ui};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::retro::{DocView, EvalView, NeighbourView, RetroAction, RetroView};

use crate::Request;
use crate::widgets::{PlotSettings, metric_plot, palette, prompt_box};

/// Tokens of the document drawn (each is its own widget, for hovering).
const SHOWN_TOKENS: usize = 1024;

/// Draws the whole panel; returns the actions its buttons ask for.
pub fn show(
    ui: &mut Ui,
    view: &RetroView,
    store: &SeriesStore,
    settings: &PlotSettings,
) -> Vec<Request> {
    let mut out = Vec::new();
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("step {} / {}", view.step, view.planned));
        ui.separator();
        ui.label(&view.phase);
    });
    ui.weak(&view.data);
    ui.label(format!("retriever: {}", view.retriever));
    match &view.eval {
        Some(e) => summary(ui, e),
        None => {
            ui.weak("Held-out scores appear at the end of the run, or now:");
        }
    }
    ui.horizontal_wrapped(|ui| {
        if ui.button("evaluate held-out documents now").clicked() {
            out.extend(Request::act(&RetroAction::Evaluate));
        }
        ui.weak(format!(
            "evaluation knobs: k = {}, database share {:.0}%, retrieval {}, duplicates {}",
            view.k_eval,
            100.0 * view.db_fraction,
            if view.retrieval_eval { "on" } else { "off" },
            if view.inject_duplicates {
                "injected"
            } else {
                "not injected"
            },
        ));
    });
    ui.add_space(4.0);
    document(ui, view.doc.as_ref());
    ui.add_space(6.0);
    let half = (ui.available_width() / 2.0 - 20.0).max(180.0);
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Training loss (same batches)");
            metric_plot(
                ui,
                "retro_train",
                store,
                &[
                    ("loss_base", "baseline"),
                    ("loss_retro", "RETRO"),
                    ("loss_retrofit", "retrofit"),
                ],
                settings,
                "nats per token",
                170.0,
            );
        });
        ui.vertical(|ui| {
            ui.set_width(half);
            ui.strong("Validation loss (held-out documents)");
            metric_plot(
                ui,
                "retro_valid",
                store,
                &[
                    ("val_base", "baseline"),
                    ("val_retro", "RETRO, retrieval on"),
                    ("val_retro_off", "RETRO, retrieval off"),
                    ("val_retrofit", "retrofit"),
                ],
                settings,
                "nats per token",
                170.0,
            );
        });
    });
    ui.add_space(6.0);
    let label = "Continue this text (RETRO, retrieving at each chunk):";
    if let Some(prompt) = prompt_box(
        ui,
        "retro-prompt",
        label,
        view.temperature,
        view.sample
            .as_ref()
            .map(|s| (s.prompt.clone(), s.text.clone()))
            .as_ref(),
    ) {
        out.extend(Request::act(&RetroAction::Continue { prompt }));
    }
    if let Some(s) = &view.sample {
        egui::CollapsingHeader::new(format!(
            "What the sample retrieved ({} chunks)",
            s.retrieved.len()
        ))
        .id_salt("retro-sample-retrieved")
        .show(ui, |ui| {
            for (chunk, ns) in &s.retrieved {
                ui.label(RichText::new(format!("chunk: {chunk:?}")).monospace());
                neighbours(ui, ns);
            }
        });
    }
    out
}

fn summary(ui: &mut Ui, e: &EvalView) {
    ui.horizontal_wrapped(|ui| {
        for (i, (mode, v)) in e.bpb.iter().enumerate() {
            if i > 0 {
                ui.separator();
            }
            ui.label(
                RichText::new(format!("{mode} {v:.4}"))
                    .strong()
                    .color(palette(i)),
            );
        }
        ui.weak("bits per byte");
    });
    let at = |rows: &[(f64, f64, f64, f64)], a: f64| {
        rows.iter()
            .find(|r| (r.0 - a).abs() < 1e-9)
            .map(|r| (r.1, r.2))
    };
    if let (Some(c), Some(d)) = (at(&e.leakage, 0.125), at(&e.leakage_dup, 1.0)) {
        ui.weak(format!(
            "α = 0.125 (no chunk shares over 12.5% of its tokens with its 10 nearest training chunks): \
             baseline {:.4}, RETRO {:.4}. With duplicates injected, α = 1: baseline {:.4}, RETRO {:.4}.",
            c.0, c.1, d.0, d.1
        ));
    }
    ui.weak(format!(
        "{} held-out documents never trained on, {} chunks scored (step {}).",
        e.docs, e.chunks, e.step
    ));
}

/// Transparent for no overlap; deeper blue for longer runs copied from a neighbour (full at
/// 16 tokens).
fn overlap_color(run: u16) -> Color32 {
    if run < 2 {
        return Color32::TRANSPARENT;
    }
    let a = (run as f32 / 16.0).clamp(0.0, 1.0);
    Color32::from_rgba_unmultiplied(60, 120, 230, (50.0 + 180.0 * a) as u8)
}

/// A squared key distance: three decimals, or three significant digits when it is smaller than
/// that shows (keys that lie close together, such as the cheap retriever's averages).
fn format_dist(d: f32) -> String {
    if d != 0.0 && d.abs() < 0.01 {
        format!("{d:.2e}")
    } else {
        format!("{d:.3}")
    }
}

fn neighbours(ui: &mut Ui, ns: &[NeighbourView]) {
    if ns.is_empty() {
        ui.weak("(no neighbours: the first m−1 tokens of a window attend to none)");
    }
    for (j, n) in ns.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!(
                    "#{} d²={} match {:.0}%{}",
                    j + 1,
                    format_dist(n.dist),
                    100.0 * n.matched,
                    if n.duplicate { " DUPLICATE" } else { "" }
                ))
                .strong(),
            );
            ui.weak(&n.source);
        });
        ui.label(RichText::new(format!("N: {}", n.chunk.replace('\n', " ↵ "))).monospace());
        ui.label(
            RichText::new(format!("F: {}", n.continuation.replace('\n', " ↵ ")))
                .monospace()
                .weak(),
        );
    }
}

fn document(ui: &mut Ui, doc: Option<&DocView>) {
    let Some(doc) = doc else {
        ui.weak("(the coloured held-out document appears after an evaluation)");
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!("Held-out: {}", doc.title));
        if doc.duplicated {
            ui.label(RichText::new("(copies of it are in the database)").color(palette(3)));
        }
        ui.separator();
        ui.label("colour = run of tokens ending here found in the attended neighbours:");
        ui.label(RichText::new(" 2 ").background_color(overlap_color(2)));
        ui.label(RichText::new(" 8 ").background_color(overlap_color(8)));
        ui.label(RichText::new(" 16+ ").background_color(overlap_color(16)));
        ui.weak("(hover a token: its losses and its chunk's neighbours)");
    });
    let id = ui.make_persistent_id("retro-hovered");
    let mut hovered: Option<usize> = ui.data(|d| d.get_temp(id)).unwrap_or(None);
    egui::ScrollArea::vertical()
        .id_salt("retro-doc")
        .max_height(240.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing = egui::vec2(0.0, 2.0);
                let n = doc.pieces.len().min(SHOWN_TOKENS);
                for i in 0..n {
                    let piece = &doc.pieces[i];
                    let lines: Vec<&str> = piece.split('\n').collect();
                    for (k, line) in lines.iter().enumerate() {
                        if k > 0 {
                            ui.end_row();
                        }
                        let shown = if k + 1 < lines.len() {
                            format!("{line}↵")
                        } else if line.is_empty() {
                            continue;
                        } else {
                            line.to_string()
                        };
                        let run = doc.overlap.get(i).copied().unwrap_or(0);
                        let text = RichText::new(shown.replace(' ', "\u{2002}"))
                            .monospace()
                            .background_color(overlap_color(run));
                        let r = ui.add(egui::Label::new(text).sense(Sense::hover()));
                        if r.hovered() {
                            hovered = Some(i);
                        }
                        r.on_hover_ui(|ui| {
                            ui.label(format!(
                                "token {i} {piece:?}\nbaseline {:.2} nats\nRETRO {:.2} nats\nrun found in a neighbour: {run} tokens",
                                doc.base.get(i).copied().unwrap_or(f32::NAN),
                                doc.retro.get(i).copied().unwrap_or(f32::NAN),
                            ));
                        });
                    }
                }
            });
        });
    ui.data_mut(|d| d.insert_temp(id, hovered));
    let i = hovered.unwrap_or(doc.chunk.saturating_sub(1));
    match doc
        .attended(i)
        .and_then(|c| doc.neighbours.get(c).map(|n| (c, n)))
    {
        Some((c, ns)) => {
            ui.strong(format!(
                "Neighbours of input chunk {c}, attended by token {i} (k = {}):",
                ns.len()
            ));
            neighbours(ui, ns);
        }
        None => {
            ui.weak(format!(
                "token {i} attends to no neighbours (the first m−1 = {} tokens of each window)",
                doc.chunk.saturating_sub(1)
            ));
        }
    }
}
