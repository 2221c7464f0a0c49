//! What the RETRO panel draws.

/// One retrieved neighbour, for people.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NeighbourView {
    /// The neighbour chunk N.
    pub chunk: String,
    /// Its continuation F.
    pub continuation: String,
    /// Squared L2 distance of the keys.
    pub dist: f32,
    /// Title of the document it came from.
    pub source: String,
    /// An injected duplicate of held-out text.
    pub duplicate: bool,
    /// Its match share: the share of the retrieving chunk's positions where the neighbour
    /// chunk holds the same token (what the match gate reads, [`super::model::match_shares`]).
    pub matched: f32,
}

/// A held-out document scored with retrieval: each target token with its losses and its
/// overlap with the neighbours its chunk attended to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocView {
    /// Title.
    pub title: String,
    /// Whether copies of this document were in the database.
    pub duplicated: bool,
    /// Chunk length m.
    pub chunk: usize,
    /// Text of each scored (target) token.
    pub pieces: Vec<String>,
    /// Baseline loss of each (nats).
    pub base: Vec<f32>,
    /// RETRO's loss of each (with the evaluation knobs in force).
    pub retro: Vec<f32>,
    /// Length of the longest run of tokens ending at this one that also occurs in a neighbour
    /// (chunk + continuation) its chunk attended to (0: none).
    pub overlap: Vec<u16>,
    /// Sequence length T of the scored windows (the document is scored window by window).
    pub context: usize,
    /// The neighbours of each input chunk of the document, in order (k each).
    pub neighbours: Vec<Vec<NeighbourView>>,
}

impl DocView {
    /// The chunk whose neighbours position `i` attends to (its target is `pieces[i]`): within
    /// a window, chunk u's neighbours serve positions u·m+m−1 … u·m+2m−2; `None` for the
    /// first m−1 positions of each window.
    pub fn attended(&self, i: usize) -> Option<usize> {
        let m = self.chunk.max(1);
        let t = self.context.max(m);
        let p = i % t;
        (p + 1).checked_sub(m).map(|j| (i / t) * (t / m) + j / m)
    }
}

/// The held-out numbers of the last evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvalView {
    /// Step at which it ran.
    pub step: u64,
    /// `(mode, bits per byte)` with the evaluation knobs in force.
    pub bpb: Vec<(String, f64)>,
    /// `(k, RETRO bpb)` over neighbours at evaluation.
    pub by_k: Vec<(f64, f64)>,
    /// `(database fraction, RETRO bpb)`.
    pub by_db: Vec<(f64, f64)>,
    /// `(α, baseline, RETRO, retrofit)` bpb(α) without injected duplicates.
    pub leakage: Vec<(f64, f64, f64, f64)>,
    /// The same with duplicates of held-out text injected.
    pub leakage_dup: Vec<(f64, f64, f64, f64)>,
    /// Share of the scored bytes at each α (clean, duplicates).
    pub kept: Vec<(f64, f64, f64)>,
    /// Test documents and scored chunks.
    pub docs: usize,
    /// Chunks scored.
    pub chunks: usize,
}

/// The RETRO lab's view.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RetroView {
    /// Steps done (training, then retrofitting).
    pub step: u64,
    /// Planned steps.
    pub planned: u64,
    /// What is happening now.
    pub phase: String,
    /// Corpus, tokeniser, database size.
    pub data: String,
    /// The retriever in use, and why when it is the fallback.
    pub retriever: String,
    /// `(step, baseline, RETRO on, RETRO off)` validation loss (nats per token).
    pub valid: Vec<(u64, f64, f64, f64)>,
    /// `(retrofit step, retrofit on)` validation loss.
    pub retrofit: Vec<(u64, f64)>,
    /// The last evaluation.
    pub eval: Option<EvalView>,
    /// The coloured document.
    pub doc: Option<DocView>,
    /// The last "continue this text": prompt, continuation, and the neighbours retrieved for
    /// each chunk of the text (chunk text, its neighbours).
    pub sample: Option<SampleView>,
    /// Evaluation knobs, shown beside the document.
    pub k_eval: usize,
    /// Database share searched.
    pub db_fraction: f64,
    /// Retrieval on at evaluation.
    pub retrieval_eval: bool,
    /// Duplicates injected.
    pub inject_duplicates: bool,
    /// Sampling temperature.
    pub temperature: f64,
}

/// A sampled continuation and what it retrieved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SampleView {
    /// The prompt.
    pub prompt: String,
    /// The continuation.
    pub text: String,
    /// `(chunk text, neighbours)` for each complete chunk of prompt + continuation.
    pub retrieved: Vec<(String, Vec<NeighbourView>)>,
}
