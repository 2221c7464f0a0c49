//! The evidence corpus and the questions: BoolQ's 12,271 Wikipedia paragraphs with titles, its
//! 12,697 labelled yes/no questions, and NQ-open's questions (whose answers may not be in the
//! corpus). Shipped in `assets/sparrow/` (see `assets/PROVENANCE.md`) and embedded; an assets
//! folder can override them (see [`crate::assets`]).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::assets::{Asset, Loaded};
use crate::data::text::{
    fnv1a, gunzip_text, idf_table, in_hashed_share, line_error, tokens, tsv_fields,
};
use crate::error::LabError;

const fn sparrow_asset(name: &'static str, path: &'static str, bytes: &'static [u8]) -> Asset {
    Asset {
        name,
        path,
        fetched_by: "scripts/fetch_sparrow_data.sh",
        embedded: Some(bytes),
    }
}

/// BoolQ's paragraphs: `id<TAB>title<TAB>text`, ids counting up from 0.
pub static PARAGRAPHS: Asset = sparrow_asset(
    "Sparrow's evidence paragraphs (BoolQ)",
    "sparrow/paragraphs.tsv.gz",
    include_bytes!("../../../../assets/sparrow/paragraphs.tsv.gz"),
);
/// BoolQ's questions: `label<TAB>paragraph id<TAB>question`.
pub static BOOLQ: Asset = sparrow_asset(
    "Sparrow's yes/no questions (BoolQ)",
    "sparrow/boolq.tsv.gz",
    include_bytes!("../../../../assets/sparrow/boolq.tsv.gz"),
);
/// NQ-open's questions: `question<TAB>answer | answer ...`.
pub static NQ: Asset = sparrow_asset(
    "Sparrow's open questions (NQ-open)",
    "sparrow/nq.tsv.gz",
    include_bytes!("../../../../assets/sparrow/nq.tsv.gz"),
);

/// Share of gold paragraphs (by hash) whose questions are held out.
pub const HELD_OUT_SHARE: f64 = 0.2;

/// A Wikipedia paragraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Paragraph {
    /// Article title.
    pub title: String,
    /// Paragraph text.
    pub text: String,
}

/// A labelled BoolQ question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The question, lower-case as in BoolQ.
    pub text: String,
    /// The yes/no answer.
    pub answer: bool,
    /// Index of its gold paragraph in [`Corpus::paragraphs`].
    pub gold: usize,
    /// Whether it is held out (never trained on).
    pub held_out: bool,
}

/// Paragraphs and questions.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// All paragraphs (the search corpus).
    pub paragraphs: Vec<Paragraph>,
    /// Labelled BoolQ questions.
    pub questions: Vec<Question>,
    /// NQ-open questions with their accepted answers.
    pub open_questions: Vec<(String, Vec<String>)>,
    /// Inverse document frequency of each paragraph word, computed on first use.
    pub idf: OnceLock<HashMap<String, f32>>,
}

impl Corpus {
    /// Parses the three TSV files (already decompressed), naming them in errors as the shipped
    /// files.
    pub fn parse(paragraphs: &str, boolq: &str, nq: &str) -> Result<Corpus, LabError> {
        let names = [PARAGRAPHS.path, BOOLQ.path, NQ.path].map(|p| format!("assets/{p}"));
        Corpus::parse_named(paragraphs, boolq, nq, &names)
    }

    /// [`Corpus::parse`] with the names to give the files in errors (where they were read from).
    pub fn parse_named(
        paragraphs: &str,
        boolq: &str,
        nq: &str,
        names: &[String; 3],
    ) -> Result<Corpus, LabError> {
        let [p_name, b_name, n_name] = names.each_ref().map(String::as_str);
        let mut ps = Vec::new();
        for (n, line) in paragraphs.lines().enumerate() {
            let Some([id, title, text]) = tsv_fields::<3>(line) else {
                return Err(line_error(p_name, n, "expected id, title, text"));
            };
            if id.parse::<usize>().ok() != Some(ps.len()) {
                return Err(line_error(p_name, n, "ids must count up from 0"));
            }
            ps.push(Paragraph {
                title: title.to_string(),
                text: text.to_string(),
            });
        }
        let held_hash: Vec<bool> = ps.iter().map(|p| is_held_out(&p.text)).collect();
        let mut qs = Vec::new();
        for (n, line) in boolq.lines().enumerate() {
            let Some([label, pid, text]) = tsv_fields::<3>(line) else {
                return Err(line_error(
                    b_name,
                    n,
                    "expected label, paragraph id, question",
                ));
            };
            let answer = match label {
                "1" => true,
                "0" => false,
                _ => return Err(line_error(b_name, n, "label must be 0 or 1")),
            };
            let gold = pid
                .parse::<usize>()
                .ok()
                .filter(|&g| g < ps.len())
                .ok_or_else(|| line_error(b_name, n, "paragraph id out of range"))?;
            qs.push(Question {
                text: text.to_string(),
                answer,
                gold,
                held_out: held_hash[gold],
            });
        }
        let mut open = Vec::new();
        for (n, line) in nq.lines().enumerate() {
            let Some([q, a]) = tsv_fields::<2>(line) else {
                return Err(line_error(n_name, n, "expected question, answers"));
            };
            open.push((q.to_string(), a.split(" | ").map(str::to_string).collect()));
        }
        Ok(Corpus {
            paragraphs: ps,
            questions: qs,
            open_questions: open,
            idf: OnceLock::new(),
        })
    }

    /// ln(N / document frequency) of a word over the paragraphs (titles included); unseen
    /// words get the largest value.
    pub fn idf(&self, word: &str) -> f32 {
        let table = self.idf.get_or_init(|| {
            idf_table(self.paragraphs.iter().map(|p| {
                let mut words = tokens(&p.title);
                words.extend(tokens(&p.text));
                words
            }))
        });
        table
            .get(word)
            .copied()
            .unwrap_or_else(|| (self.paragraphs.len().max(1) as f32).ln())
    }

    /// Train questions.
    pub fn train(&self) -> impl Iterator<Item = &Question> {
        self.questions.iter().filter(|q| !q.held_out)
    }

    /// Held-out questions.
    pub fn held_out(&self) -> impl Iterator<Item = &Question> {
        self.questions.iter().filter(|q| q.held_out)
    }
}

/// The split rule: a question is held out when its gold paragraph's hash falls in the top
/// [`HELD_OUT_SHARE`] of the range, so held-out paragraphs are never seen in training.
pub fn is_held_out(paragraph_text: &str) -> bool {
    in_hashed_share(paragraph_text, "", HELD_OUT_SHARE)
}

/// The validation rule, within the training split: a question is a validation question when
/// its gold paragraph's salted hash falls in the top `share` of the range. The salt makes this
/// split independent of the held-out one, and whole paragraphs go one way, so validation
/// paragraphs are unseen by the models calibrated on them.
pub fn is_validation(paragraph_text: &str, share: f64) -> bool {
    in_hashed_share(paragraph_text, "validation", share)
}

/// The shipped corpus files, read once per process (through the asset folders, else the
/// embedded copies).
fn shipped_files() -> Result<&'static [Loaded; 3], LabError> {
    static FILES: OnceLock<[Loaded; 3]> = OnceLock::new();
    if let Some(f) = FILES.get() {
        return Ok(f);
    }
    let files = [PARAGRAPHS.load()?, BOOLQ.load()?, NQ.load()?];
    Ok(FILES.get_or_init(|| files))
}

/// The shipped corpus, parsed once per process. (The name is historical: an assets folder may
/// override the embedded files, see [`crate::assets`].)
pub fn embedded() -> Result<Arc<Corpus>, LabError> {
    static CACHE: OnceLock<Arc<Corpus>> = OnceLock::new();
    if let Some(c) = CACHE.get() {
        return Ok(c.clone());
    }
    let files = shipped_files()?;
    let names = files.each_ref().map(Loaded::shown);
    let [p, b, n] = files.each_ref().map(|f| gunzip_text(&f.bytes, &f.shown()));
    let c = Arc::new(Corpus::parse_named(&p?, &b?, &n?, &names)?);
    Ok(CACHE.get_or_init(|| c).clone())
}

/// A fingerprint of the shipped paragraphs file as read, naming the on-disk index cache so a
/// changed (or overridden) corpus never reuses a stale index.
pub fn embedded_fingerprint() -> Result<u64, LabError> {
    Ok(fnv1a(&shipped_files()?[0].bytes))
}
