//! The stand-in answerer: a learned re-ranker over BM25's top hits (which paragraph holds the
//! answer?) and a learned yes/no reader (what does that paragraph say?), both burn logistic
//! models over hashed features, plus an extractive fall-back that quotes the best sentence for
//! questions that are not yes/no.

use super::corpus::{Corpus, Paragraph};
use super::search::Hit;
use crate::data::text::{Sparse, content_words, sentence_spans, tokens};

/// Hashed feature width of the reader.
pub const READER_DIM: usize = 1 << 14;
/// Hashed feature width of the re-ranker.
pub const RERANK_DIM: usize = 256;

/// Words that flip the meaning of a sentence; the reader sees whether they occur near the
/// question's words.
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "none", "neither", "nor", "cannot", "without", "unlike", "only",
    "except", "but", "however", "although", "illegal", "banned",
];

/// Words that open a yes/no question.
const YES_NO_OPENERS: &[&str] = &[
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "has",
    "have", "had", "should", "shall", "may", "might", "must", "am",
];

/// Whether a question reads as a yes/no question (opens with an auxiliary verb).
pub fn is_yes_no(question: &str) -> bool {
    tokens(question)
        .first()
        .is_some_and(|w| YES_NO_OPENERS.contains(&w.as_str()))
}

/// The sentence of `text` sharing most content words with the question (first on ties).
pub fn best_sentence<'a>(text: &'a str, q_words: &[String]) -> &'a str {
    let mut best = ("", -1i64);
    for (s, e) in sentence_spans(text) {
        let sent = &text[s..e];
        let words = content_words(sent);
        let n = q_words.iter().filter(|w| words.contains(w)).count() as i64;
        if n > best.1 {
            best = (sent, n);
        }
    }
    best.0
}

fn bucket(x: f32, edges: &[f32]) -> usize {
    edges.iter().take_while(|&&e| x >= e).count()
}

/// Reader features of a question and a paragraph (or none: closed-book, question only).
pub fn reader_features(question: &str, paragraph: Option<&Paragraph>) -> Sparse {
    let d = READER_DIM;
    let mut f = Sparse::default();
    f.add(d, "bias", "", 1.0);
    let q = tokens(question);
    f.add_ngrams(d, "q", &q);
    let opener = q.first().cloned().unwrap_or_default();
    let Some(p) = paragraph else {
        f.add(d, "closed", &opener, 1.0);
        return f;
    };
    let qc = content_words(question);
    let sent = best_sentence(&p.text, &qc);
    let s = tokens(sent);
    f.add_ngrams(d, "s", &s);
    let pw = content_words(&p.text);
    let inside = qc.iter().filter(|w| pw.contains(w)).count();
    let frac = if qc.is_empty() {
        0.0
    } else {
        inside as f32 / qc.len() as f32
    };
    f.add(
        d,
        "cover",
        &bucket(frac, &[0.25, 0.5, 0.75, 0.99]).to_string(),
        1.0,
    );
    // Question words missing from the paragraph hint at "no" (the claim is not there).
    for w in &qc {
        if !pw.contains(w) {
            f.add(d, "missing", w, 0.5);
            f.add(d, "missing-any", "", 0.3);
        }
    }
    for neg in NEGATIONS {
        if s.iter().any(|t| t == neg) {
            f.add(d, "neg", neg, 1.0);
            f.add(d, "neg-opener", &format!("{opener} {neg}"), 1.0);
        }
    }
    f
}

/// Lexical match measures of a paragraph for a question: title words in the question, question
/// words in the title, question words in the paragraph, in its best sentence, and shared
/// question bigrams (capped at 5, scaled to 1).
fn match_measures(question: &str, p: &Paragraph, corpus: &Corpus) -> [f32; 7] {
    let qc = content_words(question);
    let n = qc.len().max(1) as f32;
    let tc = content_words(&p.title);
    let t_in_q = tc.iter().filter(|w| qc.contains(w)).count() as f32 / tc.len().max(1) as f32;
    let q_in_t = qc.iter().filter(|w| tc.contains(w)).count() as f32 / n;
    let pw = content_words(&p.text);
    let cover = qc.iter().filter(|w| pw.contains(w)).count() as f32 / n;
    let sw = content_words(best_sentence(&p.text, &qc));
    let sent_cover = qc.iter().filter(|w| sw.contains(w)).count() as f32 / n;
    let q_bi: Vec<String> = qc
        .windows(2)
        .map(|w| format!("{} {}", w[0], w[1]))
        .collect();
    let p_bi: Vec<String> = pw
        .windows(2)
        .map(|w| format!("{} {}", w[0], w[1]))
        .collect();
    let bi = q_bi.iter().filter(|b| p_bi.contains(b)).count() as f32;
    // The same coverages weighted by inverse document frequency: rare shared words count most.
    let total: f32 = qc.iter().map(|w| corpus.idf(w)).sum::<f32>().max(1e-3);
    let idf_cover = qc
        .iter()
        .filter(|w| pw.contains(w))
        .map(|w| corpus.idf(w))
        .sum::<f32>()
        / total;
    let idf_sent = qc
        .iter()
        .filter(|w| sw.contains(w))
        .map(|w| corpus.idf(w))
        .sum::<f32>()
        / total;
    [
        t_in_q,
        q_in_t,
        cover,
        sent_cover,
        bi.min(5.0) / 5.0,
        idf_cover,
        idf_sent,
    ]
}

const MEASURES: [&str; 7] = [
    "title-in-q",
    "q-in-title",
    "cover",
    "sent-cover",
    "bigrams",
    "idf-cover",
    "idf-sent",
];

/// Re-ranker features of every hit: its rank and BM25 score (absolute, relative to the top, gap
/// to the next), how many other hits come from the same article (BoolQ has several paragraphs
/// per article, and the right one is then harder to tell), and each lexical match measure both
/// as it is and relative to the best hit's, so a pointwise model can compare hits.
pub fn rerank_all(question: &str, corpus: &Corpus, hits: &[Hit]) -> Vec<Sparse> {
    let d = RERANK_DIM;
    let paragraphs = &corpus.paragraphs;
    let m: Vec<[f32; 7]> = hits
        .iter()
        .map(|h| match_measures(question, &paragraphs[h.id], corpus))
        .collect();
    let mut best = [0.0f32; 7];
    for v in &m {
        for k in 0..7 {
            best[k] = best[k].max(v[k]);
        }
    }
    let top = hits.first().map(|h| h.score).unwrap_or(1.0).max(1e-3);
    (0..hits.len())
        .map(|r| {
            let mut f = Sparse::default();
            f.add(d, "bias", "", 1.0);
            f.add(d, "rank", &r.min(9).to_string(), 1.0);
            let score = hits[r].score;
            f.add(d, "rel", "", score / top);
            f.add(d, "score", "", score / 20.0);
            let next = hits.get(r + 1).map(|h| h.score).unwrap_or(0.0);
            f.add(d, "gap-next", "", (score - next) / top);
            let title = &paragraphs[hits[r].id].title;
            let same = hits
                .iter()
                .filter(|h| h.id != hits[r].id && paragraphs[h.id].title == *title)
                .count();
            f.add(d, "same-title", &same.min(4).to_string(), 1.0);
            for k in 0..7 {
                f.add(d, MEASURES[k], "", m[r][k]);
                f.add(d, MEASURES[k], "minus-best", m[r][k] - best[k]);
                f.add(
                    d,
                    MEASURES[k],
                    "is-best",
                    if m[r][k] >= best[k] { 1.0 } else { 0.0 },
                );
                f.add(
                    d,
                    MEASURES[k],
                    "all",
                    if m[r][k] >= 0.999 { 1.0 } else { 0.0 },
                );
            }
            f
        })
        .collect()
}

/// An extractive answer: the paragraph's best sentence for the question.
pub fn extractive_answer(question: &str, p: &Paragraph) -> String {
    best_sentence(&p.text, &content_words(question))
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_no_and_features() {
        assert!(is_yes_no("is the sky blue"));
        assert!(!is_yes_no("who wrote hamlet"));
        let p = Paragraph {
            title: "Sky".into(),
            text: "The sky is blue. Grass is green.".into(),
        };
        assert_eq!(
            extractive_answer("what colour is grass", &p),
            "Grass is green."
        );
        let a = reader_features("is the sky blue", Some(&p));
        assert_eq!(a, reader_features("is the sky blue", Some(&p)));
        assert!(a.idx.iter().all(|&i| (i as usize) < READER_DIM));
    }
}
