//! Knobs and config ranges, each written once.
//!
//! A lab's config declares the legal range of each range-checked key in one table,
//! [`LabConfig::RANGES`]. Validation checks those ranges (for presets, `--set` and knobs alike)
//! and a live knob on a key takes its control from the same entry, so the two cannot disagree.
//! A lab lists its live knobs as [`Knob`]s: only the key, a label and a line of help. Turning a
//! knob is a typed round trip through the config: the key is set in the config's TOML table,
//! the table is deserialised (so enums are spelled as serde spells them) and validated, and only
//! then does the lab see the new config (see [`crate::lab::DynLab::set_knob`]).

use serde::{Serialize, de::DeserializeOwned};

use crate::error::LabError;

/// A value for a live knob.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum KnobValue {
    /// A boolean switch.
    Bool(bool),
    /// An integer setting.
    Int(i64),
    /// A real-valued setting.
    Float(f64),
    /// One of a fixed set of choices.
    Choice(String),
}

impl KnobValue {
    /// The value as a float, if it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            KnobValue::Int(i) => Some(*i as f64),
            KnobValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as a TOML value, for setting it in a config table.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            KnobValue::Bool(b) => toml::Value::Boolean(*b),
            KnobValue::Int(i) => toml::Value::Integer(*i),
            KnobValue::Float(x) => toml::Value::Float(*x),
            KnobValue::Choice(s) => toml::Value::String(s.clone()),
        }
    }

    /// Reads a config table's value as a value of a key of `kind`; `None` when it does not fit.
    pub fn from_toml(value: &toml::Value, kind: &KnobKind) -> Option<KnobValue> {
        match (kind, value) {
            (KnobKind::Float { .. }, toml::Value::Float(x)) => Some(KnobValue::Float(*x)),
            (KnobKind::Float { .. }, toml::Value::Integer(i)) => Some(KnobValue::Float(*i as f64)),
            (KnobKind::Int { .. }, toml::Value::Integer(i)) => Some(KnobValue::Int(*i)),
            (KnobKind::Bool, toml::Value::Boolean(b)) => Some(KnobValue::Bool(*b)),
            (KnobKind::Choice(_), toml::Value::String(s)) => Some(KnobValue::Choice(s.clone())),
            _ => None,
        }
    }
}

impl std::fmt::Display for KnobValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KnobValue::Bool(b) => write!(f, "{b}"),
            KnobValue::Int(i) => write!(f, "{i}"),
            KnobValue::Float(x) => write!(f, "{x:.4}"),
            KnobValue::Choice(s) => write!(f, "{s}"),
        }
    }
}

/// What kind of value a key takes and its legal range (closed at both ends).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KnobKind {
    /// A real value in `[min, max]`, on a log scale when `log` is set.
    Float {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
        /// Whether a slider should move logarithmically.
        log: bool,
    },
    /// An integer in `[min, max]`.
    Int {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// A boolean switch.
    Bool,
    /// One of these choices, spelled as the config (serde) spells them.
    Choice(&'static [&'static str]),
}

impl KnobKind {
    /// Checks one value against this kind and range; `Ok` gives the value converted to the
    /// kind (ints to floats where a float is wanted).
    pub fn check(&self, value: KnobValue) -> Result<KnobValue, String> {
        match (self, value) {
            (KnobKind::Float { min, max, .. }, v) => {
                let x = v
                    .as_f64()
                    .ok_or_else(|| format!("expected a number, got {v}"))?;
                if !x.is_finite() || x < *min || x > *max {
                    return Err(format!("{x} is outside [{min}, {max}]"));
                }
                Ok(KnobValue::Float(x))
            }
            (KnobKind::Int { min, max }, KnobValue::Int(i)) => {
                if i < *min || i > *max {
                    return Err(format!("{i} is outside {min}..={max}"));
                }
                Ok(KnobValue::Int(i))
            }
            (KnobKind::Bool, KnobValue::Bool(b)) => Ok(KnobValue::Bool(b)),
            (KnobKind::Choice(options), KnobValue::Choice(s)) => {
                if options.contains(&s.as_str()) {
                    Ok(KnobValue::Choice(s))
                } else {
                    Err(format!("`{s}` is not one of {}", options.join(", ")))
                }
            }
            (kind, v) => Err(format!("value {v} does not fit a {kind:?} setting")),
        }
    }
}

/// The legal values of one config key: the one place they are written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The config key.
    pub key: &'static str,
    /// Its kind and bounds.
    pub kind: KnobKind,
}

impl Range {
    /// A real value in `[min, max]` (log-scaled slider when `log`).
    pub const fn float(key: &'static str, min: f64, max: f64, log: bool) -> Range {
        Range {
            key,
            kind: KnobKind::Float { min, max, log },
        }
    }

    /// An integer in `min..=max`.
    pub const fn int(key: &'static str, min: i64, max: i64) -> Range {
        Range {
            key,
            kind: KnobKind::Int { min, max },
        }
    }

    /// One of `options`, spelled as serde spells the config's enum.
    pub const fn choice(key: &'static str, options: &'static [&'static str]) -> Range {
        Range {
            key,
            kind: KnobKind::Choice(options),
        }
    }
}

/// A lab's config: serde-(de)serialisable with defaults, its key ranges in one table, and the
/// checks that span keys.
pub trait LabConfig: Serialize + DeserializeOwned + Default + Clone + Send + 'static {
    /// The legal range of each range-checked key (keys absent from the serialised config, such
    /// as an unset `Option`, are not checked).
    const RANGES: &'static [Range] = &[];

    /// Checks that [`LabConfig::RANGES`] cannot express (several keys together, lists).
    fn check(&self) -> Result<(), LabError> {
        Ok(())
    }

    /// The one validation every path runs: the ranges, then [`LabConfig::check`].
    fn validate(&self) -> Result<(), LabError> {
        check_ranges(self, Self::RANGES)?;
        self.check()
    }

    /// The range of `key`, if it has one.
    fn range(key: &str) -> Option<&'static Range> {
        Self::RANGES.iter().find(|r| r.key == key)
    }
}

/// Checks every range against a config's serialised values.
pub fn check_ranges<C: Serialize>(config: &C, ranges: &[Range]) -> Result<(), LabError> {
    if ranges.is_empty() {
        return Ok(());
    }
    let table = toml::Table::try_from(config).map_err(|e| LabError::Preset(e.to_string()))?;
    for r in ranges {
        let Some(v) = table.get(r.key) else {
            continue;
        };
        let value = KnobValue::from_toml(v, &r.kind)
            .ok_or_else(|| LabError::config(r.key, format!("{v} does not fit {:?}", r.kind)))?;
        r.kind
            .check(value)
            .map_err(|m| LabError::config(r.key, m))?;
    }
    Ok(())
}

/// A live knob, as a lab lists it: which key, its label and help. Its control and range come
/// from the config's [`Range`] of that key (booleans need none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knob {
    /// The config key it changes.
    pub key: &'static str,
    /// Short label for the UI.
    pub label: &'static str,
    /// One sentence on what it does.
    pub help: &'static str,
}

impl Knob {
    /// A knob on `key`.
    pub const fn new(key: &'static str, label: &'static str, help: &'static str) -> Knob {
        Knob { key, label, help }
    }
}

/// A knob as the UI sees it: the [`Knob`], its control and range, and its current value.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobSpec {
    /// The config key it changes (also the name used by `set_knob`).
    pub name: String,
    /// Short label for the UI.
    pub label: String,
    /// One sentence on what it does.
    pub help: String,
    /// Control type and range.
    pub kind: KnobKind,
    /// Current value.
    pub value: KnobValue,
}

impl KnobSpec {
    /// Checks `value` against this knob's kind and range, converting ints to floats where a
    /// float is wanted.
    pub fn validate(&self, value: KnobValue) -> Result<KnobValue, LabError> {
        self.kind
            .check(value)
            .map_err(|m| LabError::Knob(self.name.clone(), m))
    }
}

/// The specs of a config's live knobs, their values read from the config (or from `value_of`,
/// for keys whose shown value the lab computes, e.g. a threshold chosen during the run).
/// A knob whose key has neither a range nor a boolean value is left out (the generic lab test
/// fails on it).
pub fn specs<C: LabConfig>(
    config: &C,
    knobs: &[Knob],
    value_of: impl Fn(&str) -> Option<KnobValue>,
) -> Vec<KnobSpec> {
    let table = toml::Table::try_from(config).unwrap_or_default();
    knobs
        .iter()
        .filter_map(|k| {
            let current = table.get(k.key);
            let kind = match C::range(k.key) {
                Some(r) => r.kind,
                None if matches!(current, Some(toml::Value::Boolean(_))) => KnobKind::Bool,
                None => return None,
            };
            let value = value_of(k.key)
                .or_else(|| current.and_then(|v| KnobValue::from_toml(v, &kind)))
                .or(match kind {
                    KnobKind::Float { min, .. } => Some(KnobValue::Float(min)),
                    KnobKind::Int { min, .. } => Some(KnobValue::Int(min)),
                    _ => None,
                })?;
            Some(KnobSpec {
                name: k.key.into(),
                label: k.label.into(),
                help: k.help.into(),
                kind,
                value,
            })
        })
        .collect()
}

/// The config with `key` set to `value`, deserialised and validated: the typed round trip of a
/// knob change. Errors name the knob.
pub fn with_key<C: LabConfig>(config: &C, key: &str, value: &KnobValue) -> Result<C, LabError> {
    let bad = |m: String| LabError::Knob(key.to_string(), m);
    let mut table = toml::Table::try_from(config).map_err(|e| bad(e.to_string()))?;
    table.insert(key.to_string(), value.to_toml());
    let new: C = table
        .try_into()
        .map_err(|e: toml::de::Error| bad(e.message().trim_end().to_string()))?;
    new.validate().map_err(|e| match e {
        LabError::Config { key: k, message } if k == key => bad(message),
        other => bad(other.to_string()),
    })?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::ff::{FfConfig, Goodness};

    #[test]
    fn a_knob_change_is_a_typed_round_trip_through_the_config() {
        let cfg = FfConfig::default();
        // The enum is spelled as serde spells it; no hand-written mapping.
        let new = with_key(&cfg, "goodness", &KnobValue::Choice("neg_sum".into())).expect("ok");
        assert_eq!(new.goodness, Goodness::NegSum);
        let e = with_key(&cfg, "goodness", &KnobValue::Choice("cube".into()))
            .expect_err("not a variant")
            .to_string();
        assert!(e.starts_with("knob `goodness`"), "{e}");
        // The range check is the config's own.
        let e = with_key(&cfg, "lr", &KnobValue::Float(2.0))
            .expect_err("out of range")
            .to_string();
        assert!(e.contains("outside [0.00001, 1]"), "{e}");
        // A value of the wrong type fails deserialisation, naming the knob.
        let e = with_key(&cfg, "layers", &KnobValue::Choice("x".into())).expect_err("type");
        assert!(e.to_string().starts_with("knob `layers`"), "{e}");
    }

    #[test]
    fn specs_read_values_and_controls_from_the_config() {
        let cfg = FfConfig {
            jitter: 3,
            ..FfConfig::default()
        };
        let knobs = [
            Knob::new("jitter", "jitter", "j"),
            Knob::new("normalize_layers", "norm", "n"),
            Knob::new("goodness", "g", "g"),
            Knob::new("lr", "lr", "lr"),
        ];
        let specs = specs(&cfg, &knobs, |k| {
            (k == "lr").then_some(KnobValue::Float(0.5))
        });
        assert_eq!(specs.len(), 4);
        assert_eq!(specs[0].value, KnobValue::Int(3));
        assert_eq!(specs[0].kind, KnobKind::Int { min: 0, max: 8 });
        assert_eq!(specs[1].kind, KnobKind::Bool);
        assert_eq!(specs[2].value, KnobValue::Choice("sum".into()));
        assert_eq!(
            specs[3].value,
            KnobValue::Float(0.5),
            "the lab's own value wins"
        );
        // A key with neither a range nor a boolean value has no control.
        assert!(specs_missing(&cfg).is_empty());
    }

    fn specs_missing(cfg: &FfConfig) -> Vec<KnobSpec> {
        specs(cfg, &[Knob::new("layers", "layers", "l")], |_| None)
    }

    #[test]
    fn ranges_are_checked_on_the_serialised_config() {
        let bad = FfConfig {
            jitter: 9,
            ..FfConfig::default()
        };
        let e = bad.validate().expect_err("jitter 9").to_string();
        assert_eq!(e, "bad value for `jitter`: 9 is outside 0..=8");
        assert!(FfConfig::default().validate().is_ok());
    }
}
