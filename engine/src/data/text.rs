//! Text corpora, lab-agnostic: tokenising, stable hashing, hashed sparse features ("the hashing
//! trick"), hash-based document splits, gzipped TSV files and document frequencies.
//!
//! Sparrow's search index, reader and reward models grew these; the language-model labs read
//! their corpora with the same pieces, so a split or a token means the same thing everywhere.

use std::collections::HashMap;
use std::io::Read;

use flate2::read::GzDecoder;

use crate::error::LabError;

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

/// Where `bytes` fall in [0, 1] by their [`fnv1a`] hash: a stable, uniform-looking position.
pub fn hash_unit(bytes: &[u8]) -> f64 {
    fnv1a(bytes) as f64 / u64::MAX as f64
}

/// The split rule for documents: whether `doc` falls in the top `share` of the hash range.
///
/// Whole documents go one way, so a held-out document is never seen in training, and the split
/// is the same on every run and machine. An empty `salt` hashes the document itself; another
/// salt hashes `"{salt}|{doc}"`, giving a second split independent of the first (a validation
/// split inside the training split, say).
///
/// Meant for documents, not for ids: FNV-1a's top bits depend only weakly on the last few
/// bytes, so keys that differ only in a trailing counter ("doc 1", "doc 2", ...) do not spread
/// evenly over the range.
pub fn in_hashed_share(doc: &str, salt: &str, share: f64) -> bool {
    let unit = if salt.is_empty() {
        hash_unit(doc.as_bytes())
    } else {
        hash_unit(format!("{salt}|{doc}").as_bytes())
    };
    unit >= 1.0 - share
}

/// Decompresses gzipped UTF-8 text; `shown` names the source in the error.
pub fn gunzip_text(bytes: &[u8], shown: &str) -> Result<String, LabError> {
    let mut s = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut s)
        .map_err(|e| LabError::data(shown, e.to_string()))?;
    Ok(s)
}

/// The `N` tab-separated fields of a TSV line, the last one taking the rest of the line (so it
/// may contain tabs); `None` with fewer than `N` fields.
pub fn tsv_fields<const N: usize>(line: &str) -> Option<[&str; N]> {
    let mut parts = line.splitn(N, '\t');
    let mut out = [""; N];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    Some(out)
}

/// An error at line `index + 1` (counting from 1, as editors do) of the file shown as `file`.
pub fn line_error(file: &str, index: usize, message: &str) -> LabError {
    LabError::data(format!("{file} line {}", index + 1), message)
}

/// ln(N / document frequency) of every token over `docs` (each document given as its tokens,
/// repeats allowed), N being the number of documents (at least 1).
pub fn idf_table(docs: impl Iterator<Item = Vec<String>>) -> HashMap<String, f32> {
    let mut df: HashMap<String, f32> = HashMap::new();
    let mut n = 0usize;
    for mut words in docs {
        n += 1;
        words.sort_unstable();
        words.dedup();
        for w in words {
            *df.entry(w).or_insert(0.0) += 1.0;
        }
    }
    let n = n.max(1) as f32;
    df.into_iter().map(|(w, d)| (w, (n / d).ln())).collect()
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
        assert!((0.0..=1.0).contains(&hash_unit(b"a")));
    }

    #[test]
    fn hashed_shares_are_stable_sized_and_salted_apart() {
        // Random "documents": FNV-1a's top bits mix the last bytes only weakly, so keys that
        // differ in a trailing counter alone would not spread evenly (see `in_hashed_share`).
        let mut rng = crate::rng::Rng::new(11);
        let docs: Vec<String> = (0..4000)
            .map(|_| {
                let len = 20 + rng.below(60);
                (0..len)
                    .map(|_| (b'a' + rng.below(26) as u8) as char)
                    .collect()
            })
            .collect();
        let held: Vec<bool> = docs.iter().map(|d| in_hashed_share(d, "", 0.2)).collect();
        let val: Vec<bool> = docs.iter().map(|d| in_hashed_share(d, "v", 0.2)).collect();
        let share = |v: &[bool]| v.iter().filter(|&&b| b).count() as f64 / v.len() as f64;
        assert!((share(&held) - 0.2).abs() < 0.03, "{}", share(&held));
        assert!((share(&val) - 0.2).abs() < 0.03, "{}", share(&val));
        // Independent splits: about a fifth of the held-out documents are also in the salted one.
        let both: Vec<bool> = held.iter().zip(&val).map(|(a, b)| *a && *b).collect();
        assert!((share(&both) - 0.04).abs() < 0.02, "{}", share(&both));
        assert_eq!(in_hashed_share("x", "", 0.0), hash_unit(b"x") >= 1.0);
        assert!(in_hashed_share("x", "", 1.0));
        assert_eq!(
            in_hashed_share("doc", "salt", 0.5),
            hash_unit(b"salt|doc") >= 0.5
        );
    }

    #[test]
    fn tsv_gzip_and_idf() {
        assert_eq!(tsv_fields::<3>("1\ta\tb\tc"), Some(["1", "a", "b\tc"]));
        assert_eq!(tsv_fields::<3>("1\ta"), None);
        assert_eq!(tsv_fields::<2>("q\t"), Some(["q", ""]));
        let err = line_error("f.tsv", 0, "bad").to_string();
        assert!(err.contains("f.tsv line 1") && err.contains("bad"), "{err}");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, "héllo\n".as_bytes()).expect("write");
        let bytes = gz.finish().expect("finish");
        assert_eq!(gunzip_text(&bytes, "t").expect("gunzip"), "héllo\n");
        let bad = gunzip_text(b"not gzip", "where.gz").expect_err("not gzip");
        assert!(bad.to_string().contains("where.gz"), "{bad}");
        let idf = idf_table([tokens("a b b"), tokens("b c")].into_iter());
        assert_eq!(idf["b"], 0.0);
        assert!((idf["a"] - 2f32.ln()).abs() < 1e-6);
    }
}
