//! Finding data files ("assets") by name.
//!
//! Each dataset file is an [`Asset`]: a name for people, a path relative to an assets folder,
//! the script that fetches it, and, for the small data that must work offline (MNIST, Sparrow's
//! corpus), a copy compiled into the binary. A [`Resolver`] looks in these places, in order, and
//! takes the first that has the file:
//!
//! 1. the folder named by the environment variable `TRAINSCOPE_ASSETS`;
//! 2. `$XDG_DATA_HOME/trainscope`, or `~/.local/share/trainscope` when `XDG_DATA_HOME` is unset;
//! 3. the `assets/` folder of the Trainscope checkout the program runs from: the first ancestor of
//!    the executable that is one, else the checkout it was built from, if that still exists;
//! 4. the copy embedded in the binary, if the asset has one.
//!
//! So a user folder overrides the shipped data (a re-encoded MNIST, a bigger corpus) without a
//! rebuild, and data too large to embed is found wherever the fetch script put it. When an asset
//! is nowhere, the error names it, every place looked and the script that fetches it.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::LabError;

/// The environment variable naming the first folder searched.
pub const ENV_VAR: &str = "TRAINSCOPE_ASSETS";

/// One data file the engine can load.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// What it is, for people ("MNIST training images").
    pub name: &'static str,
    /// Its path inside an assets folder, with `/` separators ("mnist/train-images-idx3-ubyte.gz").
    pub path: &'static str,
    /// The script (relative to a checkout) that fetches it into the checkout's `assets/`.
    pub fetched_by: &'static str,
    /// The copy compiled into the binary, if any.
    pub embedded: Option<&'static [u8]>,
}

/// Where an asset's bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk.
    File(PathBuf),
    /// The copy compiled into the binary.
    Embedded,
}

/// An asset's contents and where they came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file's bytes (borrowed from the binary when embedded).
    pub bytes: Cow<'static, [u8]>,
    /// Where they came from.
    pub origin: Origin,
    /// The asset's relative path, for messages about an embedded copy.
    pub path: &'static str,
}

impl Loaded {
    /// How to name the source in a message: the file's path, or the shipped file it is the
    /// embedded copy of ("assets/mnist/... (embedded)").
    pub fn shown(&self) -> String {
        match &self.origin {
            Origin::File(p) => p.display().to_string(),
            Origin::Embedded => format!("assets/{} (embedded)", self.path),
        }
    }
}

/// One folder searched, or the reason a place was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// How the place is described in messages ("$TRAINSCOPE_ASSETS").
    pub label: String,
    /// The folder, or why the place does not apply ("not set", "no checkout found").
    pub dir: Result<PathBuf, String>,
}

impl Place {
    /// A place that is a folder.
    pub fn folder(label: impl Into<String>, dir: impl Into<PathBuf>) -> Place {
        Place {
            label: label.into(),
            dir: Ok(dir.into()),
        }
    }

    /// A place that does not apply here, and why.
    pub fn absent(label: impl Into<String>, why: impl Into<String>) -> Place {
        Place {
            label: label.into(),
            dir: Err(why.into()),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.dir {
            Ok(d) => write!(f, "{} ({})", d.display(), self.label),
            Err(why) => write!(f, "{}: {why}", self.label),
        }
    }
}

/// The ordered list of folders an asset is looked for in, before its embedded copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    places: Vec<Place>,
}

impl Resolver {
    /// The standard places, read from this process's environment (see the module docs).
    pub fn from_env() -> Resolver {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let env_label = format!("${ENV_VAR}");
        let env = match var(ENV_VAR) {
            Some(d) => Place::folder(env_label, d),
            None => Place::absent(env_label, "not set"),
        };
        let user = match (var("XDG_DATA_HOME"), var("HOME")) {
            // The XDG spec says to ignore a relative value.
            (Some(x), _) if Path::new(&x).is_absolute() => Place::folder(
                "$XDG_DATA_HOME/trainscope",
                PathBuf::from(x).join("trainscope"),
            ),
            (_, Some(home)) => Place::folder(
                "~/.local/share/trainscope",
                PathBuf::from(home).join(".local/share/trainscope"),
            ),
            (_, None) => Place::absent("~/.local/share/trainscope", "$HOME not set"),
        };
        let checkout_label = "the checkout's assets/";
        let checkout = match checkout_assets() {
            Some(d) => Place::folder(checkout_label, d),
            None => Place::absent(checkout_label, "not run from a checkout"),
        };
        Resolver {
            places: vec![env, user, checkout],
        }
    }

    /// A resolver over exactly these places (tests, or a GUI setting).
    pub fn new(places: Vec<Place>) -> Resolver {
        Resolver { places }
    }

    /// The places searched, in order.
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// Where `asset` would be read from, without reading it.
    pub fn locate(&self, asset: &Asset) -> Result<Origin, LabError> {
        for dir in self.places.iter().filter_map(|p| p.dir.as_ref().ok()) {
            let file = dir.join(asset.path);
            if file.is_file() {
                return Ok(Origin::File(file));
            }
        }
        match asset.embedded {
            Some(_) => Ok(Origin::Embedded),
            None => Err(self.missing(asset)),
        }
    }

    /// Reads `asset` from the first place that has it.
    pub fn load(&self, asset: &Asset) -> Result<Loaded, LabError> {
        let origin = self.locate(asset)?;
        let bytes = match (&origin, asset.embedded) {
            (Origin::File(file), _) => Cow::Owned(std::fs::read(file).map_err(|e| {
                LabError::data(file.display().to_string(), format!("{}: {e}", asset.name))
            })?),
            (Origin::Embedded, Some(b)) => Cow::Borrowed(b),
            (Origin::Embedded, None) => return Err(self.missing(asset)),
        };
        Ok(Loaded {
            bytes,
            origin,
            path: asset.path,
        })
    }

    fn missing(&self, asset: &Asset) -> LabError {
        let looked: Vec<String> = self
            .places
            .iter()
            .map(|p| match &p.dir {
                Ok(d) => Place::folder(p.label.clone(), d.join(asset.path)).to_string(),
                Err(_) => p.to_string(),
            })
            .collect();
        LabError::data(
            asset.path,
            format!(
                "{} not found. Looked in: {}; this build embeds no copy. Fetch it with `{}` \
                 (run from a checkout; it writes to assets/), or put the file at `{}` under one \
                 of those folders.",
                asset.name,
                looked.join("; "),
                asset.fetched_by,
                asset.path
            ),
        )
    }
}

impl Asset {
    /// Reads the asset through the standard places ([`Resolver::from_env`]).
    pub fn load(&self) -> Result<Loaded, LabError> {
        Resolver::from_env().load(self)
    }
}

/// Whether `dir` is the root of a Trainscope checkout (not just any folder called `assets`).
fn is_checkout(dir: &Path) -> bool {
    dir.join("engine/Cargo.toml").is_file() && dir.join("assets").is_dir()
}

/// The checkout's `assets/`: the first ancestor of the executable that is a checkout (a binary
/// built into the checkout's own `target/`), else the checkout this crate was compiled from
/// (`cargo run` with a target folder elsewhere), if it is still there.
fn checkout_assets() -> Option<PathBuf> {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .find(|d| is_checkout(d))
            .map(Path::to_path_buf)
    });
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf);
    from_exe
        .or(built_from.filter(|d| is_checkout(d)))
        .map(|d| d.join("assets"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: Asset = Asset {
        name: "a test asset",
        path: "test/shipped.txt",
        fetched_by: "scripts/fetch_test.sh",
        embedded: Some(b"embedded bytes"),
    };

    const REMOTE: Asset = Asset {
        name: "a large optional corpus",
        path: "test/not-shipped.bin",
        fetched_by: "scripts/fetch_large.sh",
        embedded: None,
    };

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ts-assets-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("test")).expect("temp dir");
        d
    }

    #[test]
    fn a_folder_overrides_the_embedded_copy_in_order() {
        let first = temp_dir("first");
        let second = temp_dir("second");
        let none = Resolver::new(vec![
            Place::absent("unset", "not set"),
            Place::folder("second", &second),
        ]);
        let got = none.load(&SHIPPED).expect("embedded");
        assert_eq!(got.origin, Origin::Embedded);
        assert_eq!(&*got.bytes, b"embedded bytes");
        assert_eq!(got.shown(), "assets/test/shipped.txt (embedded)");

        std::fs::write(second.join("test/shipped.txt"), b"second").expect("write");
        std::fs::write(first.join("test/shipped.txt"), b"first").expect("write");
        let both = Resolver::new(vec![
            Place::folder("a", &first),
            Place::folder("b", &second),
        ]);
        let got = both.load(&SHIPPED).expect("from a folder");
        assert_eq!(&*got.bytes, b"first");
        assert_eq!(got.origin, Origin::File(first.join("test/shipped.txt")));
        assert_eq!(&*none.load(&SHIPPED).expect("second").bytes, b"second");
        let _ = std::fs::remove_dir_all(&first);
        let _ = std::fs::remove_dir_all(&second);
    }

    #[test]
    fn a_missing_asset_names_itself_every_place_and_the_script() {
        let dir = temp_dir("missing");
        let r = Resolver::new(vec![
            Place::absent("$TRAINSCOPE_ASSETS", "not set"),
            Place::folder("user", &dir),
        ]);
        let msg = r.load(&REMOTE).expect_err("nowhere").to_string();
        for part in [
            "a large optional corpus",
            "test/not-shipped.bin",
            "$TRAINSCOPE_ASSETS: not set",
            &dir.join("test/not-shipped.bin").display().to_string(),
            "scripts/fetch_large.sh",
        ] {
            assert!(msg.contains(part), "`{part}` missing from: {msg}");
        }
        std::fs::write(dir.join("test/not-shipped.bin"), [1u8, 2]).expect("write");
        assert_eq!(&*r.load(&REMOTE).expect("found").bytes, &[1, 2]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_standard_places_come_in_the_documented_order() {
        let r = Resolver::from_env();
        let labels: Vec<&str> = r.places().iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels[0], "$TRAINSCOPE_ASSETS");
        assert!(labels[1].contains("trainscope"), "{labels:?}");
        assert_eq!(labels[2], "the checkout's assets/");
        // Tests run inside the checkout, so its assets/ folder is found.
        let checkout = r.places()[2].dir.as_ref().expect("a checkout");
        assert!(checkout.join("PROVENANCE.md").is_file(), "{checkout:?}");
    }
}
