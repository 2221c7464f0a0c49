//! What kind of user turn is this: a factual question (evidence helps) or a request, remark or
//! provocation (a quoted encyclopaedia paragraph does not)? A logistic regression over the user
//! turn's words, trained on the training questions (label 0) and the user turns of the
//! training judgement groups, the training red-team probes (label 1), with open questions
//! (NQ-open, never used elsewhere) among the factual ones. Its probability is an
//! input of the preference model ([`super::generate::pref_features_of`]), crossed with whether a
//! candidate searched, so the choice to answer with a search result can depend on it.
//!
//! It reads lower-cased word tokens only: BoolQ's questions are lower case without a question
//! mark and the authored probes are not, and a classifier that keyed on that would say nothing
//! about a question a user types.

use super::reader::is_yes_no;
use crate::data::text::{Sparse, tokens};

/// Hashed feature width of the turn-kind classifier.
pub const KIND_DIM: usize = 1 << 12;

/// Features of a user turn: its word unigrams and bigrams, its first word, and its length.
pub fn turn_features(user: &str) -> Sparse {
    let d = KIND_DIM;
    let mut f = Sparse::default();
    f.add(d, "bias", "", 1.0);
    let t = tokens(user);
    f.add_ngrams(d, "u", &t);
    if let Some(first) = t.first() {
        f.add(d, "first", first, 1.0);
    }
    f.add(d, "yes-no", &format!("{}", is_yes_no(user)), 1.0);
    f.add(d, "len", &format!("{}", t.len().min(16) / 4), 1.0);
    f
}

/// Training negatives per positive at most (an evenly spread subset of the training
/// questions); the positives are weighted so both classes count alike.
pub const NEGATIVES_PER_POSITIVE: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_ignore_case_and_punctuation() {
        assert_eq!(
            turn_features("Is the sky blue?"),
            turn_features("is the sky blue")
        );
        assert_ne!(
            turn_features("is the sky blue"),
            turn_features("write a poem")
        );
    }
}
