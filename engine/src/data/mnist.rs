//! MNIST-shaped image classification data (MNIST itself ships embedded, and an assets folder
//! can override it: see [`crate::assets`]; any IDX set of 28×28 grey images with labels 0–9,
//! such as Fashion-MNIST, can be loaded from a folder).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::assets::Asset;
use crate::data::idx::{IdxArray, parse_idx};
use crate::error::LabError;

/// Pixels per image.
pub const PIXELS: usize = 28 * 28;
/// Number of classes.
pub const CLASSES: usize = 10;

/// The standard file names of an MNIST-style folder, in the order train images, train labels,
/// test images, test labels.
pub const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// The shipped MNIST, in [`FILE_NAMES`] order. Embedded so that it works offline (CI); an assets
/// folder holding `mnist/<file>` takes precedence.
pub static ASSETS: [Asset; 4] = [
    mnist_asset(
        "MNIST training images",
        "mnist/train-images-idx3-ubyte.gz",
        include_bytes!("../../../assets/mnist/train-images-idx3-ubyte.gz"),
    ),
    mnist_asset(
        "MNIST training labels",
        "mnist/train-labels-idx1-ubyte.gz",
        include_bytes!("../../../assets/mnist/train-labels-idx1-ubyte.gz"),
    ),
    mnist_asset(
        "MNIST test images",
        "mnist/t10k-images-idx3-ubyte.gz",
        include_bytes!("../../../assets/mnist/t10k-images-idx3-ubyte.gz"),
    ),
    mnist_asset(
        "MNIST test labels",
        "mnist/t10k-labels-idx1-ubyte.gz",
        include_bytes!("../../../assets/mnist/t10k-labels-idx1-ubyte.gz"),
    ),
];

const fn mnist_asset(name: &'static str, path: &'static str, bytes: &'static [u8]) -> Asset {
    Asset {
        name,
        path,
        fetched_by: "scripts/fetch_mnist.sh",
        embedded: Some(bytes),
    }
}

/// One split: `n` images of [`PIXELS`] bytes each, and their labels.
#[derive(Debug, Clone)]
pub struct Split {
    /// Row-major pixel bytes, `n * PIXELS` long.
    pub images: Vec<u8>,
    /// Labels in 0..10.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * PIXELS..(i + 1) * PIXELS]
    }

    fn from_idx(images: IdxArray, labels: IdxArray, name: &str) -> Result<Split, LabError> {
        if images.dims.len() != 3 || images.dims[1] != 28 || images.dims[2] != 28 {
            return Err(LabError::data(
                name,
                format!("images must be N×28×28, found {:?}", images.dims),
            ));
        }
        if labels.dims.len() != 1 || labels.dims[0] != images.dims[0] {
            return Err(LabError::data(
                name,
                format!(
                    "{} images but labels have dims {:?}",
                    images.dims[0], labels.dims
                ),
            ));
        }
        if let Some(pos) = labels.data.iter().position(|&l| l as usize >= CLASSES) {
            return Err(LabError::data(
                name,
                format!("label {} at index {pos} is not in 0..10", labels.data[pos]),
            ));
        }
        Ok(Split {
            images: images.data,
            labels: labels.data,
        })
    }
}

impl Mnist {
    /// The training split cut in two: the first `len - n` images to train on, and the last `n`
    /// as the "test" split, for choosing hyperparameters without looking at the real test set.
    pub fn validation_split(&self, n: usize) -> Result<Mnist, LabError> {
        let have = self.train.len();
        if n == 0 || n >= have {
            return Err(LabError::config(
                "validation",
                format!(
                    "{n} must be between 1 and {} (the training images less one)",
                    have.saturating_sub(1)
                ),
            ));
        }
        let cut = have - n;
        Ok(Mnist {
            train: Split {
                images: self.train.images[..cut * PIXELS].to_vec(),
                labels: self.train.labels[..cut].to_vec(),
            },
            test: Split {
                images: self.train.images[cut * PIXELS..].to_vec(),
                labels: self.train.labels[cut..].to_vec(),
            },
        })
    }
}

/// Where to read a dataset from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// The shipped MNIST: compiled into the binary, unless an assets folder overrides it.
    Shipped,
    /// A folder holding the four standard IDX files (gzipped or not).
    Dir(PathBuf),
}

impl Source {
    /// `""`, `"embedded"` or `"mnist"` means the shipped MNIST; anything else is a folder path.
    pub fn from_config(s: &str) -> Source {
        match s.trim() {
            "" | "embedded" | "mnist" => Source::Shipped,
            other => Source::Dir(PathBuf::from(other)),
        }
    }
}

/// Train and test splits.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// The training split (60,000 for MNIST).
    pub train: Split,
    /// The test split (10,000 for MNIST), never trained on.
    pub test: Split,
}

fn read_dir_file(dir: &Path, name: &str) -> Result<IdxArray, LabError> {
    let gz = dir.join(name);
    let plain = dir.join(name.trim_end_matches(".gz"));
    let path = if gz.exists() { gz } else { plain };
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| LabError::data(&shown, e.to_string()))?;
    parse_idx(&bytes, &shown)
}

fn load_uncached(source: &Source) -> Result<Mnist, LabError> {
    let arrays: Vec<IdxArray> = match source {
        Source::Shipped => ASSETS
            .iter()
            .map(|a| {
                let file = a.load()?;
                parse_idx(&file.bytes, &file.shown())
            })
            .collect::<Result<_, _>>()?,
        Source::Dir(dir) => FILE_NAMES
            .iter()
            .map(|n| read_dir_file(dir, n))
            .collect::<Result<_, _>>()?,
    };
    let mut it = arrays.into_iter();
    let mut next = || {
        it.next()
            .ok_or_else(|| LabError::data("mnist", "missing file"))
    };
    let (ti, tl, si, sl) = (next()?, next()?, next()?, next()?);
    let where_ = match source {
        Source::Shipped => "MNIST".to_string(),
        Source::Dir(d) => d.display().to_string(),
    };
    Ok(Mnist {
        train: Split::from_idx(ti, tl, &format!("{where_} (train)"))?,
        test: Split::from_idx(si, sl, &format!("{where_} (test)"))?,
    })
}

/// Loads a dataset, decoding each source at most once per process (labs are reset often).
pub fn load(source: &Source) -> Result<Arc<Mnist>, LabError> {
    static CACHE: OnceLock<Mutex<HashMap<Source, Arc<Mnist>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(source).cloned()) {
        return Ok(hit);
    }
    let data = Arc::new(load_uncached(source)?);
    if let Ok(mut c) = cache.lock() {
        c.insert(source.clone(), data.clone());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::encode_idx;

    #[test]
    fn embedded_mnist_has_the_standard_sizes() {
        let m = load(&Source::Shipped).expect("shipped MNIST loads");
        assert_eq!(m.train.len(), 60_000);
        assert_eq!(m.test.len(), 10_000);
        assert_eq!(
            m.train.labels[0], 5,
            "the first MNIST training digit is a 5"
        );
        let mut counts = [0usize; 10];
        for &l in &m.test.labels {
            counts[l as usize] += 1;
        }
        assert_eq!(counts[1], 1135);
    }

    #[test]
    fn shipped_assets_are_the_standard_files() {
        for (asset, name) in ASSETS.iter().zip(FILE_NAMES) {
            assert_eq!(asset.path, format!("mnist/{name}"));
        }
    }

    #[test]
    fn folder_source_validates_shapes_and_labels() {
        let dir = std::env::temp_dir().join(format!("ts-mnist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let imgs = encode_idx(&[2, 28, 28], &vec![0u8; 2 * PIXELS]);
        std::fs::write(dir.join("train-images-idx3-ubyte"), &imgs).expect("w");
        std::fs::write(dir.join("t10k-images-idx3-ubyte"), &imgs).expect("w");
        std::fs::write(
            dir.join("train-labels-idx1-ubyte"),
            encode_idx(&[2], &[1, 2]),
        )
        .expect("w");
        std::fs::write(
            dir.join("t10k-labels-idx1-ubyte"),
            encode_idx(&[2], &[3, 11]),
        )
        .expect("w");
        let err = load_uncached(&Source::Dir(dir.clone())).expect_err("label 11 is invalid");
        assert!(err.to_string().contains("label 11"), "{err}");
        std::fs::write(
            dir.join("t10k-labels-idx1-ubyte"),
            encode_idx(&[3], &[3, 1, 2]),
        )
        .expect("w");
        let err = load_uncached(&Source::Dir(dir.clone())).expect_err("count mismatch");
        assert!(err.to_string().contains("2 images"), "{err}");
        std::fs::write(
            dir.join("t10k-labels-idx1-ubyte"),
            encode_idx(&[2], &[3, 1]),
        )
        .expect("w");
        let ok = load_uncached(&Source::Dir(dir.clone())).expect("valid folder loads");
        assert_eq!(ok.test.labels, vec![3, 1]);
        let missing = load_uncached(&Source::Dir(dir.join("nope"))).expect_err("missing dir");
        assert!(missing.to_string().contains("nope"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
