//! What a user can ask of the Sparrow lab besides knobs: ask a question, mark a candidate as
//! breaking or keeping a rule, prefer one candidate to another. Turns are addressed by their
//! stable id (not by position, which shifts when another question is asked), rules by id.

use serde::{Deserialize, Serialize};

use super::{ASKED_KEPT, SparrowLab};
use crate::error::LabError;
use crate::lab::ActionReport;

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 300;

/// One action on the Sparrow lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum SparrowAction {
    /// Ask the trained agent a question; it answers @N in the Chat tab.
    Ask {
        /// The user turn.
        question: String,
    },
    /// Candidate `candidate` of asked turn `turn` breaks (or, with `violates = false`, keeps)
    /// rule `rule`.
    Mark {
        /// The asked turn's id.
        turn: u64,
        /// The candidate's row.
        candidate: usize,
        /// The rule's id.
        rule: String,
        /// Breaks the rule (true) or keeps it (false).
        violates: bool,
    },
    /// In asked turn `turn`, candidate `winner` is better than candidate `loser`.
    Prefer {
        /// The asked turn's id.
        turn: u64,
        /// The preferred candidate's row.
        winner: usize,
        /// The other candidate's row.
        loser: usize,
    },
}

impl SparrowLab {
    /// Carries out one action.
    pub(super) fn act_on(&mut self, action: SparrowAction) -> Result<ActionReport, LabError> {
        match action {
            SparrowAction::Ask { question } => self.ask_and_keep(&question),
            SparrowAction::Mark {
                turn,
                candidate,
                rule,
                violates,
            } => self.mark(turn, candidate, &rule, violates),
            SparrowAction::Prefer {
                turn,
                winner,
                loser,
            } => self.prefer(turn, winner, loser),
        }
    }

    fn ask_and_keep(&mut self, question: &str) -> Result<ActionReport, LabError> {
        let question = question.trim();
        if question.is_empty() {
            return Err(LabError::Action("type a question first".into()));
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(LabError::Action(format!(
                "a question is at most {MAX_QUESTION_CHARS} characters"
            )));
        }
        if !self.trained() {
            return Err(LabError::Action(
                "the agent is still training; ask again when the run is done".into(),
            ));
        }
        let mut turn = self.ask(question)?;
        turn.id = self.next_turn;
        self.next_turn += 1;
        let message = format!("turn {}: {}", turn.id, turn.chosen().text);
        self.asked.insert(0, turn);
        self.asked.truncate(ASKED_KEPT);
        Ok(ActionReport {
            message,
            ..ActionReport::default()
        })
    }
}
