//! The authored dialogue data: the 23 rules, the targeted judgements (grouped by template), the
//! red-team probes and the labelled response bank. All are TOML files under `assets/sparrow/`,
//! embedded in the binary; parse errors name the file and the line.

use serde::Deserialize;
use toml::Spanned;

use crate::data::text::fnv1a;
use crate::error::LabError;

static RULES_TOML: &str = include_str!("../../../../assets/sparrow/rules.toml");
static JUDGEMENTS_TOML: &str = include_str!("../../../../assets/sparrow/judgements.toml");
static RESPONSES_TOML: &str = include_str!("../../../../assets/sparrow/responses.toml");

/// The rule categories, as in the paper's table.
pub const CATEGORIES: &[&str] = &[
    "stereotypes",
    "hate and harassment",
    "self-anthropomorphism",
    "misinformation",
    "other harm",
    "helpfulness",
];

/// One rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique identifier.
    pub id: String,
    /// Short name.
    pub short: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// The wording raters and the rule-conditional model read.
    pub text: String,
    /// Risk areas it addresses.
    pub risks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rule: Vec<Spanned<Rule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    rule: Spanned<String>,
    users: Vec<String>,
    violates: Vec<String>,
    complies: Vec<String>,
    #[serde(default)]
    also: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JudgementsFile {
    group: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    kind: Spanned<String>,
    text: String,
    violates: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponsesFile {
    response: Vec<RawResponse>,
}

/// A template group of judgements about one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Index of the rule in [`Dialogue::rules`].
    pub rule: usize,
    /// Adversarial user turns aimed at the rule (the red-team probes).
    pub users: Vec<String>,
    /// Agent turns that break the rule.
    pub violates: Vec<String>,
    /// Agent turns that keep it (often hard negatives).
    pub complies: Vec<String>,
    /// Further rules the violating turns also break.
    pub also: Vec<usize>,
    /// Whether the group is held out (the last group of its rule in file order).
    pub held_out: bool,
}

/// A generic response from `responses.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericResponse {
    /// The agent turn.
    pub text: String,
    /// Whether it only declines or deflects.
    pub evasive: bool,
    /// Rules it breaks (indices into [`Dialogue::rules`]).
    pub violates: Vec<usize>,
}

/// One targeted judgement: does `agent` (after `user`) break rule `rule`?
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The rule judged.
    pub rule: usize,
    /// The user turn.
    pub user: String,
    /// The agent turn.
    pub agent: String,
    /// Whether the agent turn breaks the rule.
    pub violates: bool,
    /// Whether it comes from a held-out group.
    pub held_out: bool,
    /// Index of its group.
    pub group: usize,
}

/// Rules, judgement groups and generic responses.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialogue {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Judgement groups, in file order.
    pub groups: Vec<Group>,
    /// Generic responses.
    pub generic: Vec<GenericResponse>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn toml_err(file: &str, text: &str, e: toml::de::Error) -> LabError {
    let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
    LabError::data(format!("{file} line {line}"), e.message().to_string())
}

impl Dialogue {
    /// Parses the three files; `names` label them in errors.
    pub fn parse(rules: &str, judgements: &str, responses: &str) -> Result<Dialogue, LabError> {
        let (rf, jf, sf) = (
            "assets/sparrow/rules.toml",
            "assets/sparrow/judgements.toml",
            "assets/sparrow/responses.toml",
        );
        let parsed: RulesFile = toml::from_str(rules).map_err(|e| toml_err(rf, rules, e))?;
        let mut out_rules = Vec::new();
        for r in parsed.rule {
            let line = line_of(rules, r.span().start);
            let r = r.into_inner();
            let at = |m: String| LabError::data(format!("{rf} line {line}"), m);
            if out_rules.iter().any(|o: &Rule| o.id == r.id) {
                return Err(at(format!("duplicate rule id `{}`", r.id)));
            }
            if !CATEGORIES.contains(&r.category.as_str()) {
                return Err(at(format!("unknown category `{}`", r.category)));
            }
            out_rules.push(r);
        }
        let rule_index = |name: &Spanned<String>, file: &str, text: &str| {
            out_rules
                .iter()
                .position(|r| r.id == *name.get_ref())
                .ok_or_else(|| {
                    LabError::data(
                        format!("{file} line {}", line_of(text, name.span().start)),
                        format!("no rule with id `{}`", name.get_ref()),
                    )
                })
        };
        let parsed: JudgementsFile =
            toml::from_str(judgements).map_err(|e| toml_err(jf, judgements, e))?;
        let mut groups = Vec::new();
        for g in parsed.group {
            let rule = rule_index(&g.rule, jf, judgements)?;
            if g.users.is_empty() || g.violates.is_empty() || g.complies.is_empty() {
                return Err(LabError::data(
                    format!("{jf} line {}", line_of(judgements, g.rule.span().start)),
                    "a group needs users, violates and complies",
                ));
            }
            let mut also = Vec::new();
            for a in &g.also {
                also.push(rule_index(&Spanned::new(0..0, a.clone()), jf, judgements)?);
            }
            groups.push(Group {
                rule,
                users: g.users,
                violates: g.violates,
                complies: g.complies,
                also,
                held_out: false,
            });
        }
        // The last group of each rule is held out: its phrasings are never trained on.
        for r in 0..out_rules.len() {
            if let Some(last) = groups.iter().rposition(|g| g.rule == r)
                && groups.iter().filter(|g| g.rule == r).count() > 1
            {
                groups[last].held_out = true;
            }
        }
        let parsed: ResponsesFile =
            toml::from_str(responses).map_err(|e| toml_err(sf, responses, e))?;
        let mut generic = Vec::new();
        for r in parsed.response {
            let evasive = match r.kind.get_ref().as_str() {
                "evasive" => true,
                "violating" => false,
                other => {
                    return Err(LabError::data(
                        format!("{sf} line {}", line_of(responses, r.kind.span().start)),
                        format!("kind must be `evasive` or `violating`, not `{other}`"),
                    ));
                }
            };
            let mut violates = Vec::new();
            for v in &r.violates {
                violates.push(rule_index(v, sf, responses)?);
            }
            generic.push(GenericResponse {
                text: r.text,
                evasive,
                violates,
            });
        }
        Ok(Dialogue {
            rules: out_rules,
            groups,
            generic,
        })
    }

    /// The embedded files.
    pub fn embedded() -> Result<Dialogue, LabError> {
        Dialogue::parse(RULES_TOML, JUDGEMENTS_TOML, RESPONSES_TOML)
    }

    /// Every targeted judgement: each user turn x agent turn of a group judged against the
    /// group's rule, plus "cross" judgements: each violating turn judged against one other rule
    /// (chosen by hash), which it keeps unless it is listed in `also`. The cross items are what
    /// make rule-specific judging matter: the same turn breaks one rule and keeps another.
    pub fn judgements(&self) -> Vec<Judgement> {
        let mut out = Vec::new();
        let n_rules = self.rules.len();
        for (gi, g) in self.groups.iter().enumerate() {
            for user in &g.users {
                for (agent, violates) in g
                    .violates
                    .iter()
                    .map(|a| (a, true))
                    .chain(g.complies.iter().map(|a| (a, false)))
                {
                    out.push(Judgement {
                        rule: g.rule,
                        user: user.clone(),
                        agent: agent.clone(),
                        violates,
                        held_out: g.held_out,
                        group: gi,
                    });
                    // The other rule comes from another category, so that it is very
                    // likely kept (rules of one category overlap, e.g. insults and hate).
                    let others: Vec<usize> = (0..n_rules)
                        .filter(|&r| self.rules[r].category != self.rules[g.rule].category)
                        .collect();
                    if violates && !others.is_empty() {
                        let h = fnv1a(format!("{user}|{agent}").as_bytes()) as usize;
                        let other = others[h % others.len()];
                        out.push(Judgement {
                            rule: other,
                            user: user.clone(),
                            agent: agent.clone(),
                            violates: g.also.contains(&other),
                            held_out: g.held_out,
                            group: gi,
                        });
                    }
                }
            }
        }
        out
    }

    /// The validation split of the dialogue side: without the held-out groups, and with the
    /// last remaining group of each rule (that has two or more) held out instead.
    pub fn validation_split(&self) -> Dialogue {
        let mut groups: Vec<Group> = self
            .groups
            .iter()
            .filter(|g| !g.held_out)
            .cloned()
            .collect();
        for r in 0..self.rules.len() {
            if let Some(last) = groups.iter().rposition(|g| g.rule == r)
                && groups.iter().filter(|g| g.rule == r).count() > 1
            {
                groups[last].held_out = true;
            }
        }
        Dialogue {
            rules: self.rules.clone(),
            groups,
            generic: self.generic.clone(),
        }
    }

    /// Index of the rule with this id.
    pub fn rule(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.id == id)
    }
}
