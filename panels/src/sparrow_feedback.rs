//! The Sparrow Chat tab's feedback controls: per candidate of a user's own turn, a rule combo
//! with "mark" (breaks it) and "complies" (the model wrongly flags it), and A/B choices with a
//! "prefer A over B" button. They only emit typed actions ([`SparrowAction::Mark`],
//! [`SparrowAction::Prefer`]) addressed by the turn's stable id; the lab records them and
//! retrains its reward models on the runner's thread.

use egui::{RichText, Ui};
use trainscope_engine::labs::sparrow::chat::CandidateRow;
use trainscope_engine::labs::sparrow::{SparrowAction, SparrowView};

use crate::Request;

/// The line above the user's turns: what they contributed and what the last retrain did.
pub(crate) fn summary_line(ui: &mut Ui, view: &SparrowView) {
    let f = &view.feedback;
    if f.status.is_empty() {
        ui.label(
            "Teach the agent: open a turn's candidates, pick a rule and press \"mark\" for a \
             candidate that breaks it (or \"complies\" where the model wrongly flags it), or \
             choose A and B and press \"prefer A over B\". The reward models retrain at once.",
        );
    } else {
        ui.label(RichText::new(format!("Your feedback: {}", f.status)).strong());
    }
    ui.label(
        RichText::new(if f.file.is_empty() {
            "Kept in memory only (set feedback_file in the preset to keep them between runs; \
             an export with --out saves them too)."
                .to_string()
        } else {
            format!("Saved to {} and loaded again at the next start.", f.file)
        })
        .small(),
    );
}

/// The feedback controls of candidate `k` of the asked turn with id `turn` as two grid cells (rule combo
/// with "mark" and "complies"; A and B), for the line under the candidate. The turn's user
/// text is `user`. Choices are remembered per user text and turn id.
pub(crate) fn row_controls(
    ui: &mut Ui,
    turn: u64,
    user: &str,
    k: usize,
    row: &CandidateRow,
    view: &SparrowView,
    out: &mut Vec<Request>,
) {
    // The combo starts at the rule the model flags most for this row, which is the one a
    // "complies" usually corrects.
    let id = egui::Id::unique(("sparrow-judge-rule", user, k));
    let default = row
        .top_rules
        .first()
        .and_then(|(short, _)| view.rules.iter().position(|r| &r.short == short))
        .unwrap_or(0);
    let mut rule: usize = ui.data(|d| d.get_temp(id)).unwrap_or(default);
    ui.horizontal(|ui| {
        let shown = view.rules.get(rule).map_or("", |r| r.short.as_str());
        egui::ComboBox::from_id_salt(("sparrow-rule-combo", turn, k))
            .selected_text(format!("breaks: {shown}"))
            .show_ui(ui, |ui| {
                for (r, info) in view.rules.iter().enumerate() {
                    ui.selectable_value(&mut rule, r, &info.short);
                }
            })
            .response
            .accessible_name(format!("rule for candidate {k}"));
        let id_of = |r: usize| view.rules.get(r).map(|r| r.id.clone());
        let buttons = [
            ("mark", true, "This candidate breaks the chosen rule."),
            (
                "complies",
                false,
                "This candidate keeps the chosen rule (the model wrongly flags it).",
            ),
        ];
        for (label, violates, hover) in buttons {
            if ui.button(label).on_hover_text(hover).clicked()
                && let Some(rid) = id_of(rule)
            {
                out.extend(Request::act(&SparrowAction::Mark {
                    turn,
                    candidate: k,
                    rule: rid,
                    violates,
                }));
            }
        }
    });
    ui.data_mut(|d| d.insert_temp(id, rule));
    // A plain id (not the ui's): the rows and the button below live in different uis.
    let ab_id = egui::Id::unique(("sparrow-ab", user));
    let mut ab: (Option<usize>, Option<usize>) = ui.data(|d| d.get_temp(ab_id)).unwrap_or_default();
    ui.horizontal(|ui| {
        if ui
            .radio(ab.0 == Some(k), "A")
            .on_hover_text("Prefer this one ...")
            .clicked()
        {
            ab.0 = Some(k);
        }
        if ui
            .radio(ab.1 == Some(k), "B")
            .on_hover_text("... over this one.")
            .clicked()
        {
            ab.1 = Some(k);
        }
    });
    ui.data_mut(|d| d.insert_temp(ab_id, ab));
}

/// Below the table: the chosen pair and the "prefer A over B" button.
pub(crate) fn prefer_button(ui: &mut Ui, turn: u64, user: &str, out: &mut Vec<Request>) {
    let ab_id = egui::Id::unique(("sparrow-ab", user));
    let ab: (Option<usize>, Option<usize>) = ui.data(|d| d.get_temp(ab_id)).unwrap_or_default();
    ui.horizontal(|ui| {
        let show = |x: Option<usize>| x.map_or("-".to_string(), |k| k.to_string());
        ui.label(format!("A: {}, B: {}", show(ab.0), show(ab.1)));
        let pair = match ab {
            (Some(a), Some(b)) if a != b => Some((a, b)),
            _ => None,
        };
        if ui
            .add_enabled(pair.is_some(), egui::Button::new("prefer A over B"))
            .on_disabled_hover_text("Choose two different candidates as A and B first.")
            .clicked()
            && let Some((a, b)) = pair
        {
            out.extend(Request::act(&SparrowAction::Prefer {
                turn,
                winner: a,
                loser: b,
            }));
        }
    });
}
