//! The on-disk key cache: retriever embeddings of chunk texts, one record per distinct text,
//! keyed by a hash of the retriever's name and the text, so a changed text or retriever misses
//! and is embedded again, and presets that share chunks share their keys. The file is
//! `<cache>/retro-keys/<retriever>.bin`: records of a little-endian `u64` hash and `dim` f32.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use crate::data::text::fnv1a;
use crate::error::LabError;

/// `$TRAINSCOPE_CACHE`, else `$HOME/.cache/trainscope`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(c) = std::env::var_os("TRAINSCOPE_CACHE") {
        return Some(PathBuf::from(c));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("trainscope"))
}

/// A retriever's cached keys.
#[derive(Debug, Default)]
pub struct KeyCache {
    path: Option<PathBuf>,
    name: String,
    dim: usize,
    map: HashMap<u64, Vec<f32>>,
}

impl KeyCache {
    /// Opens (reads) the cache of retriever `name` with keys of `dim`; a missing or unreadable
    /// file is an empty cache (the keys are recomputed), and without a cache folder nothing is
    /// stored.
    pub fn open(name: &str, dim: usize) -> KeyCache {
        let path = cache_dir().map(|c| c.join("retro-keys").join(format!("{name}.bin")));
        let mut map = HashMap::new();
        if let Some(bytes) = path.as_ref().and_then(|p| std::fs::read(p).ok()) {
            let rec = 8 + 4 * dim;
            for r in bytes.chunks_exact(rec) {
                let mut h = [0u8; 8];
                h.copy_from_slice(&r[..8]);
                let v = r[8..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                map.insert(u64::from_le_bytes(h), v);
            }
        }
        KeyCache {
            path,
            name: name.to_string(),
            dim,
            map,
        }
    }

    /// The hash a text is stored under.
    pub fn hash(&self, text: &str) -> u64 {
        fnv1a(format!("{}|{}|{text}", self.name, self.dim).as_bytes())
    }

    /// The cached key of `text`.
    pub fn get(&self, text: &str) -> Option<&Vec<f32>> {
        self.map.get(&self.hash(text))
    }

    /// Keys cached.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No keys cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Adds keys and appends them to the file (best effort: a cache that cannot be written
    /// only costs time).
    pub fn insert(&mut self, items: &[(String, Vec<f32>)]) -> Result<(), LabError> {
        let mut buf = Vec::new();
        for (text, v) in items {
            if v.len() != self.dim {
                return Err(LabError::compute(format!(
                    "key of width {} for a cache of width {}",
                    v.len(),
                    self.dim
                )));
            }
            let h = self.hash(text);
            if self.map.insert(h, v.clone()).is_none() {
                buf.extend_from_slice(&h.to_le_bytes());
                for x in v {
                    buf.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        if let Some(p) = &self.path
            && !buf.is_empty()
        {
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
            {
                let _ = f.write_all(&buf);
            }
        }
        Ok(())
    }
}
