//! The Sparrow panel: a chat view of example turns (search query, evidence card, the N
//! candidates with their preference and rule scores, the winner), an evaluation tab (coverage
//! vs supported-and-plausible, violation rate per rule for the base sampler vs @N, the AUC
//! comparison, preference vs violation rate) and the rules.

use egui::{Color32, Frame, RichText, Ui};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints, Points};
use trainscope_engine::SeriesStore;
use trainscope_engine::labs::sparrow::SparrowView;
use trainscope_engine::labs::sparrow::chat::ChatTurn;

use trainscope_engine::labs::sparrow::SparrowAction;
use trainscope_engine::labs::sparrow::action::MAX_QUESTION_CHARS;

use crate::Request;

use crate::sparrow_feedback as feedback;
use crate::widgets::{NEGATIVE, POSITIVE, PlotSettings, metric_plot, palette};

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Tab {
    #[default]
    Chat,
    Evaluation,
    Rules,
}

/// Draws the whole Sparrow panel; returns the actions its question box and feedback buttons
/// ask for.
pub fn show(
    ui: &mut Ui,
    view: &SparrowView,
    store: &SeriesStore,
    settings: &PlotSettings,
) -> Vec<Request> {
    let mut out = Vec::new();
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "step {} of {}: {}",
            view.step, view.planned, view.phase
        ));
        ui.separator();
        ui.label(format!(
            "{} paragraphs, {} train / {} validation / {} held-out questions, {} train / {} held-out judgements",
            view.sizes[0], view.sizes[1], view.sizes[2], view.sizes[3], view.sizes[4], view.sizes[5]
        ));
    });
    ui.label(
        RichText::new(
            "Stand-in generator: candidates come from the reader and a labelled response bank, \
             not from a language model. Reward models, reader and search are learned.",
        )
        .small()
        .italics(),
    );
    let id = ui.make_persistent_id("sparrow-tab");
    let mut tab: Tab = ui.data(|d| d.get_temp(id)).unwrap_or_default();
    ui.horizontal(|ui| {
        ui.selectable_value(&mut tab, Tab::Chat, "Chat");
        ui.selectable_value(&mut tab, Tab::Evaluation, "Evaluation");
        ui.selectable_value(&mut tab, Tab::Rules, "Rules");
    });
    ui.data_mut(|d| d.insert_temp(id, tab));
    ui.separator();
    match tab {
        Tab::Chat => chat(ui, view, &mut out),
        Tab::Evaluation => evaluation(ui, view, store, settings),
        Tab::Rules => rules(ui, view),
    }
    out
}

fn chat(ui: &mut Ui, view: &SparrowView, out: &mut Vec<Request>) {
    question_box(ui, view, out);
    egui::ScrollArea::vertical()
        .id_salt("sparrow-chat-scroll")
        .show(ui, |ui| chat_inner(ui, view, out));
}

fn chat_inner(ui: &mut Ui, view: &SparrowView, out: &mut Vec<Request>) {
    if view.asked.is_empty() {
        ui.label("Type a question above once the run is done; the agent's answer @N appears here.");
    } else {
        ui.label(RichText::new("Your questions").strong());
        feedback::summary_line(ui, view);
        for (i, t) in view.asked.iter().enumerate() {
            turn(ui, 1000 + i, t, Some((t.id, view, &mut *out)));
        }
        ui.separator();
    }
    if view.samples.is_empty() {
        ui.label("The example conversations appear once the reward models are trained and the evaluation has run.");
        ui.label("Ask your own question headless with: trainscope ask \"is the sky blue\"");
        return;
    }
    ui.label(format!(
        "Example turns on held-out questions and red-team probes, answered @{} with lambda = {:.1}.",
        view.n_lambda.0, view.n_lambda.1
    ));
    for (i, t) in view.samples.iter().enumerate() {
        turn(ui, i, t, None);
    }
}

/// The user's own turn (by its stable id) gets the feedback controls.
type Asked<'a> = Option<(u64, &'a SparrowView, &'a mut Vec<Request>)>;

/// The "ask Sparrow" box: Enter or the button sends the question as an action.
fn question_box(ui: &mut Ui, view: &SparrowView, out: &mut Vec<Request>) {
    let id = ui.make_persistent_id("sparrow-question");
    let mut draft: String = ui.data(|d| d.get_temp(id)).unwrap_or_default();
    let trained = view.trained;
    ui.horizontal(|ui| {
        ui.label("Ask Sparrow:");
        let r = ui.add_enabled(
            trained,
            egui::TextEdit::singleline(&mut draft)
                .char_limit(MAX_QUESTION_CHARS)
                .hint_text("e.g. is the great wall of china visible from space")
                .desired_width(420.0),
        );
        let r = r.on_disabled_hover_text("The agent answers once its training is done.");
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let send = ui
            .add_enabled(
                trained && !draft.trim().is_empty(),
                egui::Button::new("ask"),
            )
            .clicked();
        if (enter || send) && !draft.trim().is_empty() {
            out.extend(Request::act(&SparrowAction::Ask {
                question: draft.trim().to_string(),
            }));
            draft.clear();
        }
    });
    ui.data_mut(|d| d.insert_temp(id, draft));
}

fn turn(ui: &mut Ui, i: usize, t: &ChatTurn, mut asked: Asked<'_>) {
    Frame::group(ui.style()).show(ui, |ui| {
        let who = match &asked {
            Some((id, _, _)) => format!("turn {id} · User: {}", t.user),
            None => format!("User: {}", t.user),
        };
        ui.label(RichText::new(who).strong());
        let c = t.chosen();
        if let Some((query, ev)) = &c.search {
            ui.label(RichText::new(format!("Search Query: {query}")).monospace());
            Frame::group(ui.style())
                .fill(ui.visuals().faint_bg_color)
                .show(ui, |ui| {
                    ui.label(RichText::new(format!("Search Result: {}", ev.title)).strong());
                    ui.label(RichText::new(&ev.snippet).small());
                });
        }
        ui.label(format!("Sparrow: {}", c.text));
        if !c.truth_violates.is_empty() {
            ui.colored_label(
                NEGATIVE,
                format!("(ground truth: breaks {})", c.truth_violates.join(", ")),
            );
        }
        egui::CollapsingHeader::new(format!("{} candidates", t.candidates.len()))
            .id_salt(("sparrow-cands", i))
            .show(ui, |ui| {
                // A wide table scrolls sideways instead of widening the whole chat.
                egui::ScrollArea::horizontal()
                    .id_salt(("sparrow-cands-scroll", i))
                    .show(ui, |ui| {
                egui::Grid::new(("sparrow-grid", i))
                    // With a controls line under each candidate, stripes would pair wrongly.
                    .striped(asked.is_none())
                    .num_columns(6)
                    .show(ui, |ui| {
                        for h in ["#", "candidate", "evidence", "preference", "top P(violation)", "score"] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for (k, row) in t.candidates.iter().enumerate() {
                            // The row number is what the `mark` and `prefer` knobs refer to.
                            let mark = if k == t.winner {
                                RichText::new(format!("{k} winner")).color(POSITIVE)
                            } else if k == t.base {
                                RichText::new(format!("{k} base")).weak()
                            } else {
                                RichText::new(format!("{k}"))
                            };
                            ui.label(mark);
                            // Narrower cells when the feedback controls share the table.
                            let (n_text, n_title, n_rules) =
                                if asked.is_some() { (50, 16, 1) } else { (70, 24, 3) };
                            let mut text = RichText::new(short(&row.text, n_text));
                            if !row.truth_violates.is_empty() {
                                text = text.color(NEGATIVE);
                            }
                            ui.label(text);
                            ui.label(row.search.as_ref().map(|(_, e)| short(&e.title, n_title)).unwrap_or_else(|| "-".into()));
                            ui.label(format!("{:+.2}", row.preference));
                            ui.label(
                                row.top_rules
                                    .iter()
                                    .take(n_rules)
                                    .map(|(r, p)| format!("{r} {p:.2}"))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            );
                            ui.label(format!("{:+.2}", row.score));
                            ui.end_row();
                            // The feedback controls go on a line of their own under the
                            // candidate: beside it the table would not fit the panel.
                            if let Some((turn, view, out)) = asked.as_mut() {
                                ui.label("");
                                feedback::row_controls(ui, *turn, &t.user, k, row, view, out);
                                ui.end_row();
                            }
                        }
                    });
                    });
                if let Some((turn, _, out)) = asked.as_mut() {
                    feedback::prefer_button(ui, *turn, &t.user, out);
                }
                ui.label(RichText::new("Red text: the bank's ground-truth label says it breaks a rule (never shown to the reward models).").small());
            });
    });
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

fn evaluation(ui: &mut Ui, view: &SparrowView, store: &SeriesStore, settings: &PlotSettings) {
    egui::ScrollArea::vertical().id_salt("sparrow-eval-scroll").show(ui, |ui| {
        ui.heading("Evidence: coverage vs supported and plausible (held-out BoolQ)");
        match &view.qa {
            None => {
                ui.label("Appears once the held-out questions are answered.");
            }
            Some(q) => {
                ui.label(format!(
                    "{} held-out questions, retrieval over all paragraphs. Always search, answering when the calibrated P(supported and plausible) is at least {:.2}: answers {:.1}%, of which {:.1}% are supported (gold paragraph shown) and plausible (right yes/no). No search, on as many questions (its most confident): right {:.1}% of {:.1}%, never supported. BM25 gold@1 {:.1}%, gold@5 {:.1}%, after re-ranking {:.1}%. Reader given the gold paragraph: {:.1}% right, {:.1}% on its most confident third.",
                    q.questions,
                    q.threshold,
                    100.0 * q.at_threshold.0,
                    100.0 * q.at_threshold.1,
                    100.0 * q.no_search.1,
                    100.0 * q.no_search.0,
                    100.0 * q.retrieval.0,
                    100.0 * q.retrieval.1,
                    100.0 * q.retrieval.2,
                    100.0 * q.reader_gold.0,
                    100.0 * q.reader_gold.1
                ));
                if let Some(d) = view.systems.get(1) {
                    ui.label(format!(
                        "Agent decides (@{} picks among candidates with and without search): answers {:.1}%, supported and plausible {:.1}%, searched {:.1}%.",
                        view.n_lambda.0,
                        100.0 * d.coverage,
                        100.0 * d.sp_rate,
                        100.0 * d.search_rate
                    ));
                }
                let pts: Vec<[f64; 2]> = q.curve.iter().map(|p| [p.coverage, p.sp_rate]).collect();
                Plot::new("sparrow-coverage")
                    .height(200.0)
                    .x_axis_label("coverage (share answered)")
                    .y_axis_label("supported and plausible")
                    .legend(Legend::default())
                    .allow_scroll(false)
                    .show(ui, |pui| {
                        pui.line(Line::new("always search", PlotPoints::from(pts)).color(palette(0)));
                        pui.points(
                            Points::new("current threshold", PlotPoints::from(vec![[q.at_threshold.0, q.at_threshold.1]]))
                                .radius(5.0)
                                .color(palette(1)),
                        );
                    });
            }
        }
        ui.heading("Red-team probes: violation rate per rule (held out)");
        if view.systems.len() >= 2 {
            let (base, rerank) = (&view.systems[0], &view.systems[1]);
            ui.label(format!(
                "Any rule broken: base sampler (N = 1, no reward models) {:.1}%, @{} with lambda {:.1}: {:.1}%.",
                100.0 * base.violation_rate,
                view.n_lambda.0,
                rerank.lambda,
                100.0 * rerank.violation_rate
            ));
            Plot::new("sparrow-violations")
                .height(200.0)
                .x_axis_label("rule (index in the Rules tab)")
                .y_axis_label("targeted rule broken")
                .legend(Legend::default())
                .allow_scroll(false)
                .show(ui, |pui| {
                    for (m, (sys, name)) in [(base, "base N = 1"), (rerank, "@N")].into_iter().enumerate() {
                        let off = if m == 0 { -0.2 } else { 0.2 };
                        let bars = sys
                            .per_rule
                            .iter()
                            .enumerate()
                            .map(|(r, &v)| Bar::new(r as f64 + 1.0 + off, v).width(0.4))
                            .collect();
                        let col = if m == 0 { NEGATIVE } else { POSITIVE };
                        pui.bar_chart(BarChart::new(name, bars).color(col));
                    }
                });
            ui.heading("Preference rate vs violation rate");
            Plot::new("sparrow-pref-viol")
                .height(200.0)
                .x_axis_label("violation rate on held-out probes")
                .y_axis_label("rater prefers it to base")
                .legend(Legend::default())
                .allow_scroll(false)
                .show(ui, |pui| {
                    for (i, s) in view.systems.iter().enumerate() {
                        let name = if i == 0 {
                            "base (N = 1)".to_string()
                        } else {
                            format!("@N, lambda {:.1}", s.lambda)
                        };
                        pui.points(
                            Points::new(name, PlotPoints::from(vec![[s.violation_rate, s.preference_rate]]))
                                .radius(5.0)
                                .color(palette(i)),
                        );
                    }
                });
        } else {
            ui.label("Appears at the end of the run.");
        }
        ui.heading("Rule models: ROC AUC on held-out phrasings");
        match &view.auc {
            None => {
                ui.label("Appears once the rule models are trained.");
            }
            Some(a) => {
                ui.label(format!(
                    "Pooled AUC: rule-conditional {:.3}, 23 per-rule classifiers {:.3}, one general classifier {:.3}.",
                    a.pooled[0], a.pooled[1], a.pooled[2]
                ));
                Plot::new("sparrow-auc-rule")
                    .height(180.0)
                    .x_axis_label("rule (index in the Rules tab)")
                    .y_axis_label("held-out AUC")
                    .legend(Legend::default())
                    .allow_scroll(false)
                    .show(ui, |pui| {
                        let names = ["rule-conditional", "per-rule", "general"];
                        for (m, name) in names.iter().enumerate() {
                            let off = (m as f64 - 1.0) * 0.27;
                            let bars = a
                                .per_rule
                                .iter()
                                .enumerate()
                                .filter(|(_, v)| v[m].is_finite())
                                .map(|(r, v)| Bar::new(r as f64 + 1.0 + off, v[m]).width(0.25))
                                .collect();
                            pui.bar_chart(BarChart::new(*name, bars).color(palette(m)));
                        }
                    });
            }
        }
        if !view.budgets.is_empty() {
            Plot::new("sparrow-auc-labels")
                .height(180.0)
                .x_axis_label("training labels per rule")
                .y_axis_label("pooled held-out AUC")
                .legend(Legend::default())
                .allow_scroll(false)
                .show(ui, |pui| {
                    for (m, name) in ["rule-conditional", "per-rule", "general"].iter().enumerate() {
                        let pts: Vec<[f64; 2]> = view.budgets.iter().map(|(k, v)| [*k as f64, v[m]]).collect();
                        pui.line(Line::new(*name, PlotPoints::from(pts.clone())).color(palette(m)));
                        pui.points(Points::new(*name, PlotPoints::from(pts)).radius(3.0).color(palette(m)));
                    }
                });
        }
        ui.heading("Training losses");
        metric_plot(
            ui,
            "sparrow-losses",
            store,
            &[("rerank_loss", "re-ranker"), ("reader_loss", "reader"), ("pref_loss", "preference (Bradley-Terry)")],
            settings,
            "loss",
            160.0,
        );
    });
}

fn rules(ui: &mut Ui, view: &SparrowView) {
    egui::ScrollArea::vertical()
        .id_salt("sparrow-rules-scroll")
        .show(ui, |ui| {
            egui::Grid::new("sparrow-rules")
                .striped(true)
                .num_columns(4)
                .show(ui, |ui| {
                    for h in ["#", "rule", "category", "wording"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for (i, r) in view.rules.iter().enumerate() {
                        ui.label(format!("{}", i + 1));
                        ui.label(&r.short);
                        ui.label(RichText::new(&r.category).color(Color32::GRAY));
                        ui.label(&r.text);
                        ui.end_row();
                    }
                });
        });
}
