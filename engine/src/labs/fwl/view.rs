//! What the FWL panel draws.

/// A held-out document's opening with every token's loss under the three methods.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocView {
    /// Title.
    pub title: String,
    /// The text of each scored token (the target), in order.
    pub pieces: Vec<String>,
    /// Baseline loss of each (nats).
    pub base: Vec<f32>,
    /// Dynamic evaluation's loss.
    pub dyneval: Vec<f32>,
    /// FWL's loss.
    pub fwl: Vec<f32>,
}

/// The test results of the last evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TestView {
    /// Step at which it ran.
    pub step: u64,
    /// Held-out perplexities per token: baseline, dynamic evaluation, FWL.
    pub ppl: [f64; 3],
    /// Counted inference cost relative to the baseline: dynamic evaluation, FWL.
    pub cost: [f64; 2],
    /// Measured inference speed, tokens per second: baseline, dynamic evaluation, FWL.
    pub tokens_per_s: [f64; 3],
    /// `(bin start, dyneval gain, fwl gain)` by position in the document (nats per token).
    pub by_position: Vec<(f64, f64, f64)>,
    /// The same by position within the FWL span.
    pub by_span_position: Vec<(f64, f64, f64)>,
    /// `(label, tokens, baseline loss, dyneval gain, fwl gain)` by word occurrence.
    pub occurrences: Vec<(String, usize, f64, f64, f64)>,
    /// Test documents and scored tokens.
    pub docs: usize,
    /// Tokens scored per method.
    pub tokens: usize,
}

/// The FWL lab's view.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FwlView {
    /// Training steps done.
    pub step: u64,
    /// Planned steps.
    pub planned: u64,
    /// Corpus and tokeniser, for the title line.
    pub data: String,
    /// `(step, baseline, FWL)` validation loss (nats per token).
    pub valid: Vec<(u64, f64, f64)>,
    /// `(step, six step sizes)` over training.
    pub steps: Vec<(u64, [f64; 6])>,
    /// The last test evaluation.
    pub test: Option<TestView>,
    /// The coloured document.
    pub doc: Option<DocView>,
    /// The last "continue this text": prompt and continuation.
    pub sample: Option<(String, String)>,
    /// Knob values the panel shows beside the document.
    pub dyn_lr: f64,
    /// Dynamic evaluation's scope.
    pub dyn_scope: String,
    /// FWL fast weights on at evaluation.
    pub fwl_eval: bool,
    /// Sampling temperature.
    pub temperature: f64,
}
