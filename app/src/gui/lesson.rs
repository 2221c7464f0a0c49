//! The lesson player: a card pane over the running lab with Back / Next and "Show me". The
//! run is brought to each card's step exactly (the player asks for that many steps; a run that
//! was played past a card is rewound to it), the card's knob changes are made there (logged
//! like any change, so a lesson run replays exactly), the run pauses at pause points, a card's
//! race branches run B from its step, and its `look` series are drawn in the card.

use trainscope_engine::lesson::{Card, Lesson};
use trainscope_engine::{Command, RunState, Status};
use trainscope_panels::metric_plot;

use super::TrainscopeApp;

/// A lesson being played over the active run.
pub struct LessonPlayer {
    /// The lesson.
    pub lesson: Lesson,
    /// The card on screen.
    pub shown: usize,
    /// How many cards have been applied to the run (their knobs, races and pauses).
    pub applied: usize,
    /// Whether the player is moving the run on to the next card.
    pub playing: bool,
}

impl LessonPlayer {
    /// A player at the lesson's start (no card applied yet).
    pub fn new(lesson: Lesson) -> LessonPlayer {
        LessonPlayer {
            lesson,
            shown: 0,
            applied: 0,
            playing: false,
        }
    }

    /// The step card `i` belongs to, for a run of `planned` steps.
    fn step_of(&self, i: usize, planned: Option<u64>) -> Option<u64> {
        let card = self.lesson.cards.get(i)?;
        Some(self.lesson.step_of(card, planned))
    }

    /// The card on screen.
    pub fn card(&self) -> Option<&Card> {
        self.lesson.cards.get(self.shown)
    }
}

/// Renders the short Markdown of a card: `#` headings, `-` bullets, `**bold**` and `*italic*`
/// spans, `code` spans, paragraphs.
fn markdown(ui: &mut egui::Ui, text: &str) {
    for para in text.split("\n\n") {
        let line = para.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            continue;
        }
        if let Some(h) = line.strip_prefix("# ") {
            ui.heading(h);
            continue;
        }
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 0.0;
            let body = match line.strip_prefix("- ") {
                Some(rest) => {
                    ui.label("• ");
                    rest
                }
                None => line.as_str(),
            };
            let mut rest = body;
            while !rest.is_empty() {
                let next = ["**", "*", "`"]
                    .iter()
                    .filter_map(|m| rest.find(m).map(|i| (i, *m)))
                    .min_by_key(|(i, m)| (*i, usize::MAX - m.len()));
                let Some((i, mark)) = next else {
                    ui.label(rest);
                    break;
                };
                let after = &rest[i + mark.len()..];
                let Some(j) = after.find(mark) else {
                    ui.label(rest);
                    break;
                };
                if i > 0 {
                    ui.label(&rest[..i]);
                }
                let span = egui::RichText::new(&after[..j]);
                ui.label(match mark {
                    "**" => span.strong(),
                    "*" => span.italics(),
                    _ => span.code(),
                });
                rest = &after[j + mark.len()..];
            }
        });
        ui.add_space(4.0);
    }
}

impl TrainscopeApp {
    /// Starts (or resumes) moving the run to the next card.
    pub fn lesson_play(&mut self) {
        if let Some(p) = self.lesson.as_mut() {
            p.playing = true;
        }
    }

    /// Applies card `i` at the run's current step: its knob changes, its race, its pause.
    fn apply_card(&mut self, i: usize, state: &RunState) {
        let Some(p) = self.lesson.as_mut() else {
            return;
        };
        let Some(card) = p.lesson.cards.get(i).cloned() else {
            return;
        };
        p.applied = i + 1;
        p.shown = i;
        if card.pause || i + 1 == p.lesson.cards.len() {
            p.playing = false;
        }
        let Some(run) = &self.run else { return };
        for (name, value) in &card.knobs {
            run.runner
                .send(Command::SetKnob(name.clone(), value.clone()));
        }
        if !card.race.is_empty() {
            let changes: Vec<String> = card.race.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if let Err(e) = self.start_branch(state.step, &changes.join("\n")) {
                self.notice = Some((format!("lesson race: {e:#}"), true));
            }
            // The branch plays both runs; the player steps both card by card instead.
            if let Some(run) = &self.run {
                run.runner.send(Command::Pause);
            }
            if let Some(race) = &self.race {
                race.runner.send(Command::Pause);
            }
        }
    }

    /// Each frame: applies the next card when the run has reached its step, moves the run on
    /// towards it while playing, and rewinds a run that was played past it.
    pub(super) fn lesson_tick(&mut self) {
        let (Some(p), Some(run)) = (&self.lesson, &self.run) else {
            return;
        };
        let state = run.runner.snapshot();
        if matches!(state.status, Status::Loading | Status::Failed) || state.replaying.is_some() {
            return;
        }
        let next = p.applied;
        let Some(at) = p.step_of(next, state.planned_steps) else {
            return;
        };
        let idle = state.status != Status::Running;
        if state.step == at && idle {
            self.apply_card(next, &state);
            if let Some(p) = &self.lesson
                && p.playing
            {
                self.lesson_step_on(&state);
            }
        } else if state.step > at {
            // Played past the card (the run bar's Play): back to it, exactly.
            run.runner.send(Command::Pause);
            run.runner.send(Command::Rewind(at));
        } else if idle && p.playing {
            run.runner.send(Command::Step(at - state.step));
            if let Some(race) = &self.race {
                race.runner.send(Command::Step(at - state.step));
            }
        }
    }

    fn lesson_step_on(&self, state: &RunState) {
        let (Some(p), Some(run)) = (&self.lesson, &self.run) else {
            return;
        };
        if let Some(at) = p.step_of(p.applied, state.planned_steps)
            && at > state.step
        {
            run.runner.send(Command::Step(at - state.step));
            if let Some(race) = &self.race {
                race.runner.send(Command::Step(at - state.step));
            }
        }
    }

    /// "Show me": brings the run to the shown card's step (forward by stepping, back by
    /// rewinding).
    fn show_me(&mut self) {
        let (Some(p), Some(run)) = (&mut self.lesson, &self.run) else {
            return;
        };
        let state = run.runner.snapshot();
        let Some(at) = p.step_of(p.shown, state.planned_steps) else {
            return;
        };
        if at < state.step {
            // Cards up to this one stay applied (their changes are in the log up to `at`).
            p.applied = p.shown + 1;
            p.playing = false;
            self.race = None;
            run.runner.send(Command::Rewind(at));
        } else {
            p.playing = true;
        }
    }

    /// The card pane.
    pub(super) fn lesson_window(&mut self, ctx: &egui::Context) {
        let Some(p) = &self.lesson else { return };
        let Some(run) = &self.run else { return };
        let state = run.runner.snapshot();
        let n = p.lesson.cards.len();
        let shown = p.shown;
        let Some(card) = p.card().cloned() else {
            return;
        };
        let at = p.step_of(shown, state.planned_steps).unwrap_or(0);
        let title = p.lesson.title.clone();
        let (applied, playing) = (p.applied, p.playing);
        let race = self.race.as_ref().map(|r| r.runner.snapshot());
        let settings = self.settings.plot.clone();
        let mut action = None;
        let mut open = true;
        egui::Window::new(format!("Lesson: {title}"))
            .open(&mut open)
            .default_pos(ctx.content_rect().right_top() + egui::vec2(-720.0, 90.0))
            .default_width(420.0)
            .show(ctx, |ui| {
                ui.weak(format!("card {} of {n} · step {at}", shown + 1));
                ui.heading(&card.title);
                if applied <= shown {
                    ui.weak(format!("(the run reaches this card at step {at})"));
                }
                markdown(ui, &card.text);
                for (k, v) in &card.knobs {
                    ui.monospace(format!("knob: {k} = {v}"));
                }
                if !card.race.is_empty() {
                    let c: Vec<String> =
                        card.race.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    ui.monospace(format!("race: run B branches here with {}", c.join(", ")));
                }
                if let Some(q) = &card.question {
                    ui.add_space(4.0);
                    ui.label(egui::RichText::new(format!("Question: {q}")).strong());
                }
                if !card.look.is_empty() {
                    let names: Vec<(&str, &str)> =
                        card.look.iter().map(|s| (s.as_str(), s.as_str())).collect();
                    ui.label("Look at (run A):");
                    metric_plot(
                        ui,
                        "lesson-look",
                        &state.series,
                        &names,
                        &settings,
                        "value",
                        150.0,
                    );
                    if let Some(b) = &race {
                        ui.label("and run B:");
                        metric_plot(
                            ui,
                            "lesson-look-b",
                            &b.series,
                            &names,
                            &settings,
                            "value",
                            150.0,
                        );
                    }
                }
                ui.separator();
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(shown > 0, egui::Button::new("Back"))
                        .clicked()
                    {
                        action = Some("back");
                    }
                    if ui
                        .button("Show me")
                        .on_hover_text("Bring the run to this card's step")
                        .clicked()
                    {
                        action = Some("show");
                    }
                    let label = if playing {
                        "Playing…"
                    } else {
                        "Play to next card"
                    };
                    if ui
                        .add_enabled(!playing && applied < n, egui::Button::new(label))
                        .clicked()
                    {
                        action = Some("play");
                    }
                    if ui
                        .add_enabled(shown + 1 < n, egui::Button::new("Next"))
                        .clicked()
                    {
                        action = Some("next");
                    }
                });
            });
        match action {
            Some("back") => {
                if let Some(p) = self.lesson.as_mut() {
                    p.shown = p.shown.saturating_sub(1);
                }
            }
            Some("next") => {
                if let Some(p) = self.lesson.as_mut() {
                    if p.shown + 1 < p.applied {
                        p.shown += 1;
                    } else {
                        p.playing = true;
                    }
                }
            }
            Some("play") => self.lesson_play(),
            Some("show") => self.show_me(),
            _ => {}
        }
        if !open {
            self.lesson = None;
        }
    }
}
