//! Text utilities shared by the search index, the reader and the reward models: tokenising,
//! stable hashing and hashed sparse features ("the hashing trick").

/// FNV-1a, 64 bit: a stable hash (independent of Rust's randomised `HashMap` seed) so that
/// feature indices and data splits are identical on every run and machine.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Words too common to carry meaning for retrieval overlap features.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "by", "with", "and", "or", "is", "are",
    "was", "were", "be", "been", "do", "does", "did", "has", "have", "had", "it", "its", "this",
    "that", "as", "from", "there", "can", "will", "any", "same", "s",
];

/// Whether `w` (lower-case) is a stop word.
pub fn is_stopword(w: &str) -> bool {
    STOPWORDS.contains(&w)
}

/// Lower-case alphanumeric tokens of `text`.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
        .collect()
}

/// Content words: tokens that are not stop words.
pub fn content_words(text: &str) -> Vec<String> {
    tokens(text)
        .into_iter()
        .filter(|t| !is_stopword(t))
        .collect()
}

/// A sparse feature vector: parallel index and value lists (indices may repeat; they add up).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse {
    /// Feature indices in `0..dim`.
    pub idx: Vec<u32>,
    /// Their values.
    pub val: Vec<f32>,
}

impl Sparse {
    /// Adds `value` to the hashed slot of `(namespace, key)` in a space of `dim` features.
    pub fn add(&mut self, dim: usize, namespace: &str, key: &str, value: f32) {
        let h = fnv1a(namespace.as_bytes()) ^ fnv1a(key.as_bytes()).rotate_left(17);
        self.idx.push((h % dim as u64) as u32);
        self.val.push(value);
    }

    /// Adds unigrams and bigrams of `words` under `namespace`, each weighted `1/sqrt(len)` so
    /// long texts do not swamp short ones.
    pub fn add_ngrams(&mut self, dim: usize, namespace: &str, words: &[String]) {
        if words.is_empty() {
            return;
        }
        let w = 1.0 / (words.len() as f32).sqrt();
        for t in words {
            self.add(dim, namespace, t, w);
        }
        for pair in words.windows(2) {
            self.add(dim, namespace, &format!("{} {}", pair[0], pair[1]), w);
        }
    }

    /// Writes this vector densely into `row` (length `dim`).
    pub fn write_dense(&self, row: &mut [f32]) {
        for (&i, &v) in self.idx.iter().zip(&self.val) {
            row[i as usize] += v;
        }
    }
}

/// The sentences of a paragraph, as byte ranges, split after `.`, `?` or `!` followed by a
/// space (good enough for encyclopaedic prose).
pub fn sentence_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'?' | b'!') && bytes.get(i + 1) == Some(&b' ') {
            spans.push((start, i + 1));
            start = i + 2;
        }
    }
    if start < text.len() {
        spans.push((start, text.len()));
    }
    spans
}

/// The largest char boundary of `s` at or below `i`.
pub fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_sentences() {
        assert_eq!(tokens("Is it, the SAME?"), vec!["is", "it", "the", "same"]);
        assert_eq!(content_words("is it the same car"), vec!["car"]);
        let s = "One. Two words? Three";
        let spans = sentence_spans(s);
        assert_eq!(spans.len(), 3);
        assert_eq!(&s[spans[1].0..spans[1].1], "Two words?");
    }

    #[test]
    fn hashing_is_stable() {
        let mut a = Sparse::default();
        a.add(64, "q", "word", 1.0);
        let mut b = Sparse::default();
        b.add(64, "q", "word", 1.0);
        assert_eq!(a, b);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
