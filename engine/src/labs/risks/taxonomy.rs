//! Weidinger et al. 2021's taxonomy as data (`assets/risks/taxonomy.toml`), checked on load:
//! every risk names a known area and known points of origin.

use serde::Deserialize;

use crate::error::LabError;

static TAXONOMY_TOML: &str = include_str!("../../../../assets/risks/taxonomy.toml");

/// A point of origin.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A risk area.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// Identifier.
    pub id: String,
    /// Name (the string Sparrow's rules use).
    pub name: String,
    /// How the area's harms arise.
    pub mechanism: String,
}

/// One of the 21 risks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    /// Identifier.
    pub id: String,
    /// Area id.
    pub area: String,
    /// Name.
    pub name: String,
    /// observed or anticipated.
    pub status: String,
    /// Whether the status was checked against the paper.
    pub status_checked: bool,
    /// What the risk is.
    pub description: String,
    /// Origin ids.
    pub origins: Vec<String>,
    /// Mitigations.
    pub mitigations: Vec<String>,
}

/// The taxonomy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// Points of origin.
    pub origin: Vec<Origin>,
    /// Areas, in the paper's order.
    pub area: Vec<Area>,
    /// Risks, in the paper's order.
    pub risk: Vec<Risk>,
}

impl Taxonomy {
    /// Parses and checks the shipped taxonomy.
    pub fn load() -> Result<Taxonomy, LabError> {
        Taxonomy::parse(TAXONOMY_TOML)
    }

    /// Parses and checks `text`.
    pub fn parse(text: &str) -> Result<Taxonomy, LabError> {
        const FILE: &str = "assets/risks/taxonomy.toml";
        let t: Taxonomy = toml::from_str(text).map_err(|e| LabError::data(FILE, e.message()))?;
        for r in &t.risk {
            if !t.area.iter().any(|a| a.id == r.area) {
                return Err(LabError::data(
                    FILE,
                    format!("risk {} names unknown area {}", r.id, r.area),
                ));
            }
            if let Some(o) = r
                .origins
                .iter()
                .find(|o| !t.origin.iter().any(|x| &x.id == *o))
            {
                return Err(LabError::data(
                    FILE,
                    format!("risk {} names unknown origin {o}", r.id),
                ));
            }
            if !matches!(r.status.as_str(), "observed" | "anticipated") {
                return Err(LabError::data(
                    FILE,
                    format!("risk {}: status must be observed or anticipated", r.id),
                ));
            }
            if t.risk.iter().filter(|x| x.id == r.id).count() > 1 {
                return Err(LabError::data(
                    FILE,
                    format!("risk id {} is used twice", r.id),
                ));
            }
        }
        Ok(t)
    }

    /// The risk with this id.
    pub fn risk(&self, id: &str) -> Option<&Risk> {
        self.risk.iter().find(|r| r.id == id)
    }

    /// The risks of area `id`, in order.
    pub fn risks_of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Risk> {
        self.risk.iter().filter(move |r| r.area == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_one_risks_in_six_areas_with_no_dangling_links() {
        let t = Taxonomy::load().expect("taxonomy");
        assert_eq!(t.area.len(), 6);
        assert_eq!(t.risk.len(), 21);
        let per_area: Vec<usize> = t.area.iter().map(|a| t.risks_of(&a.id).count()).collect();
        assert_eq!(per_area, vec![4, 3, 3, 4, 3, 4]);
        assert!(
            Taxonomy::parse(&TAXONOMY_TOML.replace("area = \"hci\"", "area = \"nowhere\""))
                .is_err()
        );
    }

    #[test]
    fn every_sparrow_rule_names_an_area_of_the_taxonomy() {
        #[derive(Deserialize)]
        struct Rules {
            rule: Vec<Rule>,
        }
        #[derive(Deserialize)]
        struct Rule {
            id: String,
            risks: Vec<String>,
        }
        let t = Taxonomy::load().expect("taxonomy");
        let rules: Rules =
            toml::from_str(include_str!("../../../../assets/sparrow/rules.toml")).expect("rules");
        assert!(!rules.rule.is_empty());
        for r in &rules.rule {
            for name in &r.risks {
                assert!(
                    t.area.iter().any(|a| &a.name == name),
                    "rule {} names unknown risk area {name}",
                    r.id
                );
            }
        }
    }
}
