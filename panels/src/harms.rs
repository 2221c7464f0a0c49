//! The harms lab's panel: the typed-text probe (alone, in a context, with identity swaps), the
//! case-study numbers with the identity-gap and filter trade-off figures, and the
//! six-characteristics cards with their gaps. The other figures are in the results below.

use egui::{Color32, RichText, Ui};
use egui_plot::{Bar, BarChart, Plot};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::harms::data::ATTRIBUTES;
use trainscope_engine::labs::harms::{HarmsAction, HarmsView};
use trainscope_engine::results::{CurveSet, Line};

use crate::Request;
use crate::results::curve_set;
use crate::widgets::PlotSettings;

const FLAG: Color32 = Color32::from_rgb(200, 60, 50);
const PASS: Color32 = Color32::from_rgb(40, 140, 70);

fn verdict(ui: &mut Ui, score: f32, threshold: f64) {
    if score as f64 >= threshold {
        ui.label(
            RichText::new(format!("{score:.2} flagged"))
                .color(FLAG)
                .strong(),
        );
    } else {
        ui.label(
            RichText::new(format!("{score:.2} passes"))
                .color(PASS)
                .strong(),
        );
    }
}

fn probe(ui: &mut Ui, view: &HarmsView, out: &mut Vec<Request>) {
    ui.heading("Score a text");
    let id = ui.make_persistent_id("harms-probe");
    let (mut text, mut context): (String, String) =
        ui.data(|d| d.get_temp(id)).unwrap_or_else(|| {
            (
                "I am a gay man and proud of it.".to_string(),
                "Someone wrote \"{text}\" on my wall and I reported it.".to_string(),
            )
        });
    let mut changed = false;
    egui::Grid::new("harms-probe-grid")
        .num_columns(2)
        .show(ui, |ui| {
            let label = ui.label("text:").id;
            changed |= ui
                .add(
                    egui::TextEdit::singleline(&mut text)
                        .char_limit(2000)
                        .desired_width(520.0),
                )
                .labelled_by(label)
                .changed();
            ui.end_row();
            let label = ui.label("context:").id;
            changed |= ui
                .add(
                    egui::TextEdit::singleline(&mut context)
                        .char_limit(2000)
                        .desired_width(520.0),
                )
                .labelled_by(label)
                .changed();
            ui.end_row();
        });
    ui.weak("{text} in the context marks where the text goes (else the context is put in front). Scores update as you type; swaps replace a group term found in the text.");
    let asked = view
        .probe
        .as_ref()
        .map(|p| (p.text.as_str(), p.context.as_str()));
    if changed || (asked.is_none() && view.step > 0) {
        out.extend(Request::act(&HarmsAction::Score {
            text: text.clone(),
            context: context.clone(),
        }));
    }
    ui.data_mut(|d| d.insert_temp(id, (text, context)));
    let Some(p) = &view.probe else {
        ui.weak("(the probe scores once the classifier has trained a step)");
        return;
    };
    let h = view.head;
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("{} alone:", ATTRIBUTES[h]));
        verdict(ui, p.alone[h], view.threshold);
        if let Some(w) = p.within {
            ui.separator();
            ui.label("in its context:");
            verdict(ui, w[h], view.threshold);
            ui.label(format!("(shift {:+.2})", w[h] - p.alone[h]));
        }
        ui.separator();
        let used = match (view.use_context, p.within) {
            (true, Some(w)) => w[h],
            _ => p.alone[h],
        };
        ui.label(format!(
            "verdict used ({}):",
            if view.use_context {
                "with context"
            } else {
                "context off"
            }
        ));
        verdict(ui, used, view.threshold);
    });
    egui::Grid::new("harms-probe-attrs")
        .striped(true)
        .show(ui, |ui| {
            ui.label(RichText::new("attribute").strong());
            for a in ATTRIBUTES {
                ui.label(RichText::new(a.replace('_', " ")).strong());
            }
            ui.end_row();
            ui.label("alone");
            for s in p.alone {
                ui.label(format!("{s:.2}"));
            }
            ui.end_row();
            if let Some(w) = p.within {
                ui.label("in context");
                for s in w {
                    ui.label(format!("{s:.2}"));
                }
                ui.end_row();
            }
        });
    if p.swaps.is_empty() {
        ui.weak("No group term in the text, so no identity swaps (try 'gay', 'Muslim', 'Black', 'deaf', ...).");
    } else {
        ui.label(RichText::new(format!("Identity swaps ({}):", ATTRIBUTES[h])).strong());
        egui::Grid::new("harms-swaps").striped(true).show(ui, |ui| {
            for (k, (g, t, s)) in p.swaps.iter().enumerate() {
                ui.label(if k == 0 {
                    format!("{g} (typed)")
                } else {
                    g.clone()
                });
                ui.label(t);
                verdict(ui, s[h], view.threshold);
                ui.end_row();
            }
        });
    }
}

/// Draws the panel; returns the probe action when the text or context changed.
pub fn show(
    ui: &mut Ui,
    view: &HarmsView,
    _store: &SeriesStore,
    settings: &PlotSettings,
) -> Vec<Request> {
    let mut out = Vec::new();
    ui.horizontal_wrapped(|ui| {
        let phase = if view.step < view.clf_steps {
            "training the classifier"
        } else if view.step < view.planned {
            "training the probe LM"
        } else {
            "trained"
        };
        ui.label(format!("step {} / {} ({phase})", view.step, view.planned));
        ui.separator();
        ui.weak(&view.data);
    });
    ui.columns(2, |c| {
        let xy = |v: &[(u64, f64)]| -> (Vec<f64>, Vec<f64>) {
            v.iter().map(|&(s, y)| (s as f64, y)).unzip()
        };
        let (lx, ly) = xy(&view.clf_curve);
        let (ax, ay) = xy(&view.auc_curve);
        let (mx, my) = xy(&view.lm_curve);
        let clf = CurveSet {
            name: "harms-clf".into(),
            title: "Classifier: training loss and held-out ROC AUC".into(),
            x_label: "classifier step".into(),
            y_label: "loss / AUC".into(),
            lines: vec![
                Line {
                    label: "masked cross-entropy".into(),
                    x: lx,
                    y: ly,
                },
                Line {
                    label: "held-out AUC".into(),
                    x: ax,
                    y: ay,
                },
            ],
        };
        let lm = CurveSet {
            name: "harms-lm".into(),
            title: "Probe LM (LM core): training loss".into(),
            x_label: "LM step".into(),
            y_label: "nats per character".into(),
            lines: vec![Line {
                label: "training batch".into(),
                x: mx,
                y: my,
            }],
        };
        let mut s = settings.clone();
        s.show_legend = true;
        let w = c[0].available_width();
        curve_set(&mut c[0], &clf, &s, w);
        curve_set(&mut c[1], &lm, &s, w);
    });
    probe(ui, view, &mut out);
    ui.separator();
    let Some(d) = &view.derived else {
        ui.label("The case studies are measured when training ends (finish).");
        cards(ui, view);
        return out;
    };
    ui.heading(format!(
        "Case studies ({}, threshold {:.2})",
        d.attribute, d.threshold
    ));
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("Spearman vs Perspective {:.3}", d.spearman)).strong());
        ui.label(format!(
            "on {} held-out scored texts;",
            d.perspective_held_out
        ));
        ui.label(RichText::new(format!("ROC AUC toxic vs benign {:.3}", d.auc)).strong());
        ui.label(format!(
            "on {} held-out texts; calibration error {:.3}",
            d.held_out, d.ece
        ));
    });
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!(
                "Context: {:.0}% of {} pairs flip",
                100.0 * d.flip_rate,
                d.context_pairs
            ))
            .strong(),
        );
        for (k, v) in &d.flip_by_kind {
            ui.label(format!("{k} {:.0}%", 100.0 * v));
        }
        ui.label(format!("mean shift {:+.2}", d.mean_shift));
    });
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("Distributional: the LM prefers the stereotyping sentence in {:.0}% of {} CrowS-Pairs and {:.0}% of {} StereoSet pairs (50% = no preference)", 100.0 * d.crows_lm, d.pairs.0, 100.0 * d.stereoset_lm, d.pairs.1)).strong());
        ui.label(format!("; the classifier flags {:.0}% / {:.0}% of the stereotyping sentences", 100.0 * d.crows_clf_flag, 100.0 * d.stereoset_clf_flag));
    });
    ui.columns(2, |c| {
        let ui = &mut c[0];
        ui.label(RichText::new(format!("Identity terms: mean score of benign sentences per group (largest gap {:.2})", d.identity_max_gap)).strong());
        let bars: Vec<Bar> = d.groups.iter().enumerate().map(|(i, g)| Bar::new(i as f64, g.1).name(format!("{}: FPR {:.0}%", g.0, 100.0 * g.2)).width(0.7)).collect();
        let names: Vec<String> = d.groups.iter().map(|g| g.0.clone()).collect();
        Plot::new("harms-groups")
            .height(200.0)
            .allow_scroll(false)
            .y_axis_label(format!("mean {} score", d.attribute))
            .x_axis_formatter(move |m, _| {
                let i = m.value.round();
                if (m.value - i).abs() < 0.01 && i >= 0.0 { names.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
            })
            .show(ui, |p| p.bar_chart(BarChart::new("mean score", bars).color(Color32::from_rgb(90, 120, 200))));
        let ui = &mut c[1];
        let f = &d.filter;
        let set = CurveSet {
            name: "harms-filter".into(),
            title: format!(
                "Filter trade-off: at {:.2} it removes {:.0}% of toxic texts and {:.0}% of benign identity sentences",
                d.threshold,
                100.0 * d.filter_at.toxic_removed,
                100.0 * d.filter_at.identity_removed
            ),
            x_label: "threshold".into(),
            y_label: "share removed".into(),
            lines: vec![
                Line { label: "toxic held-out".into(), x: f.iter().map(|p| p.threshold).collect(), y: f.iter().map(|p| p.toxic_removed).collect() },
                Line { label: "benign identity sentences".into(), x: f.iter().map(|p| p.threshold).collect(), y: f.iter().map(|p| p.identity_removed).collect() },
                Line { label: "other benign held-out".into(), x: f.iter().map(|p| p.threshold).collect(), y: f.iter().map(|p| p.benign_removed).collect() },
            ],
        };
        let w = ui.available_width();
        let mut s = settings.clone();
        s.show_legend = true;
        curve_set(ui, &set, &s, w);
    });
    cards(ui, view);
    out
}

fn cards(ui: &mut Ui, view: &HarmsView) {
    egui::CollapsingHeader::new("Six-characteristics cards and gaps")
        .default_open(false)
        .show(ui, |ui| {
            ui.weak("The characteristic names are reconstructed from secondary notes on Rauh et al. 2022.");
            egui::Grid::new("harms-cards").striped(true).show(ui, |ui| {
                for h in ["benchmark", "type", "instance/distr.", "context", "recipient", "groups"] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for c in view.cards.iter() {
                    ui.label(&c.name).on_hover_text(&c.harm_definition);
                    ui.label(c.harm_types.join(", "));
                    ui.label(c.scope.join(", "));
                    ui.label(c.context.join(", "));
                    ui.label(c.recipients.join(", "));
                    ui.label(if c.groups.is_empty() { "-".to_string() } else { c.groups.join(", ") });
                    ui.end_row();
                }
            });
            let gaps: Vec<String> = view.coverage.iter().filter(|c| c.2 == 0).map(|c| format!("{}: {}", c.0, c.1)).collect();
            ui.label(RichText::new(format!("No card covers: {}", if gaps.is_empty() { "-".to_string() } else { gaps.join("; ") })).strong());
        });
}
