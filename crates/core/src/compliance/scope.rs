//! Bridle's scope over a framework: which items an identity-and-access governance tool can
//! assess, and a reason for each one it cannot (`frameworks/nist-ai-rmf-scope.json`). In scope,
//! "not assessed" means no data yet; out of scope is a status of its own and cannot be attested.
//! Only NIST AI RMF has a scope file: every OWASP and MAESTRO item is in scope.

use std::sync::OnceLock;

use serde::Deserialize;

use super::catalog::{CatalogInvalid, Framework};

/// One subcategory's scope.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeEntry {
    pub id: String,
    #[serde(rename = "scope")]
    pub extent: Extent,
    /// Why it is in scope (what bears on it) or why no control of Bridle can show it.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Extent {
    In,
    Out,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeFile {
    catalog: String,
    name: String,
    note: String,
    counts: Counts,
    items: Vec<ScopeEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Counts {
    #[serde(rename = "in")]
    inside: usize,
    #[serde(rename = "out")]
    outside: usize,
}

/// The scope of the NIST AI RMF subcategories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    pub note: String,
    pub entries: Vec<ScopeEntry>,
}

const FILE: &str = "nist-ai-rmf-scope.json";

impl Scope {
    /// Parses the scope file and checks it against the NIST catalog: every subcategory exactly
    /// once, in catalog order, a reason each, and the stated counts.
    pub fn parse(text: &str) -> Result<Scope, CatalogInvalid> {
        let invalid = |reason: String| CatalogInvalid { file: FILE, reason };
        let file: ScopeFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.catalog != Framework::NistAiRmf.as_str() {
            return Err(invalid(format!("states catalog `{}`", file.catalog)));
        }
        let subcategories: Vec<&str> = super::Catalog::get(Framework::NistAiRmf)
            .items
            .iter()
            .filter(|i| i.kind == "subcategory")
            .map(|i| i.id.as_str())
            .collect();
        let listed: Vec<&str> = file.items.iter().map(|e| e.id.as_str()).collect();
        if listed != subcategories {
            return Err(invalid(
                "must list every NIST AI RMF subcategory once, in catalog order".to_owned(),
            ));
        }
        if let Some(e) = file.items.iter().find(|e| e.reason.trim().is_empty()) {
            return Err(invalid(format!("`{}` has no reason", e.id)));
        }
        let inside = file.items.iter().filter(|e| e.extent == Extent::In).count();
        let counts = Counts {
            inside,
            outside: file.items.len() - inside,
        };
        if counts != file.counts {
            return Err(invalid(format!(
                "states {} in and {} out of scope but holds {} and {}",
                file.counts.inside, file.counts.outside, counts.inside, counts.outside
            )));
        }
        Ok(Scope {
            name: file.name,
            note: file.note,
            entries: file.items,
        })
    }

    /// The embedded scope, parsed once.
    pub fn get() -> &'static Scope {
        static SCOPE: OnceLock<Scope> = OnceLock::new();
        SCOPE.get_or_init(|| {
            Scope::parse(include_str!(
                "../../../../frameworks/nist-ai-rmf-scope.json"
            ))
            .unwrap_or_else(|e| panic!("embedded scope is invalid: {e}"))
        })
    }

    pub fn entry(&self, id: &str) -> Option<&ScopeEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The subcategories out of scope, in catalog order.
    pub fn out_of_scope(&self) -> impl Iterator<Item = &ScopeEntry> {
        self.entries.iter().filter(|e| e.extent == Extent::Out)
    }
}

/// Why `item` of `framework` is out of scope for Bridle, or `None` when it is in scope.
pub fn out_of_scope_reason(framework: Framework, item: &str) -> Option<&'static str> {
    if framework != Framework::NistAiRmf {
        return None;
    }
    Scope::get()
        .entry(item)
        .filter(|e| e.extent == Extent::Out)
        .map(|e| e.reason.as_str())
}

/// What the evidence pack's Method appendix says about the crosswalk and the labels of early
/// drafts (frameworks/README.md says the same at length).
pub const CROSSWALK_NOTES: [&str; 3] = [
    "The crosswalk is Bridle's own judgement with one line of rationale per mapping, not an official mapping of NIST, OWASP or CSA. A control maps only to the items it addresses and may skip a framework.",
    "\"OWASP Agentic AI Top 10 A1\"-style labels are not OWASP identifiers: the Top 10 for Agentic Applications 2026 numbers its entries ASI01–ASI10, and the draft labels A1–A3 correspond to ASI01 Agent Goal Hijack, ASI02 Tool Misuse & Exploitation and ASI03 Identity & Privilege Abuse.",
    "\"CSA MAESTRO G1\"-style labels are not CSA identifiers: MAESTRO numbers only its layers L1–L7 (Bridle's threat ids are local to Bridle), and G1 corresponds to L6 Security and Compliance and L7 Agent Ecosystem. A MAESTRO layer is assessed over all its threats, a threat no control addresses counting as not assessed.",
];

/// What a label from an early draft of Bridle's brief ("OWASP Agentic AI Top 10 A1", "CSA
/// MAESTRO G1") stands for, when `text` looks like one. Neither is a published identifier.
pub fn draft_label_hint(text: &str) -> Option<&'static str> {
    let last = text
        .rsplit([':', ' '])
        .next()
        .unwrap_or(text)
        .trim()
        .to_ascii_uppercase();
    let numbered = |prefix: char| {
        last.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if numbered('A') {
        Some(
            "`A1`-style labels (\"OWASP Agentic AI Top 10 A1\") are not OWASP identifiers: the Top 10 \
             for Agentic Applications 2026 numbers its entries ASI01–ASI10, and the draft's A1–A3 \
             correspond to owasp-asi:ASI01 (Agent Goal Hijack), ASI02 (Tool Misuse & \
             Exploitation) and ASI03 (Identity & Privilege Abuse)",
        )
    } else if numbered('G') {
        Some(
            "`G1`-style labels (\"CSA MAESTRO G1\") are not CSA identifiers: MAESTRO numbers only \
             its layers, and the draft's G1 corresponds to maestro:L6 (Security and Compliance) \
             and maestro:L7 (Agent Ecosystem) with their threats (see `bridle coverage --framework \
             maestro`)",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::ControlLibrary;

    #[test]
    fn every_subcategory_is_in_scope_with_controls_or_out_of_scope_with_none() {
        let scope = Scope::get();
        assert_eq!(scope.entries.len(), 72);
        assert_eq!(scope.out_of_scope().count(), 47);
        let library = ControlLibrary::get();
        for entry in &scope.entries {
            let controls = library.controls_covering(Framework::NistAiRmf, &entry.id);
            match entry.extent {
                Extent::In => assert!(
                    !controls.is_empty(),
                    "{} is in scope without a control",
                    entry.id
                ),
                Extent::Out => assert!(
                    controls.is_empty(),
                    "{} is out of scope but {} maps to it",
                    entry.id,
                    controls[0].id
                ),
            }
            assert!(entry.reason.len() <= 120, "{}: one line", entry.id);
        }
        assert_eq!(
            out_of_scope_reason(Framework::NistAiRmf, "MEASURE 2.11"),
            Some("Fairness and bias are properties of model behaviour and data.")
        );
        assert_eq!(
            out_of_scope_reason(Framework::NistAiRmf, "GOVERN 1.6"),
            None
        );
        assert_eq!(out_of_scope_reason(Framework::Maestro, "L7-T12"), None);
    }

    #[test]
    fn a_scope_that_drifts_from_the_catalog_is_refused() {
        let text = include_str!("../../../../frameworks/nist-ai-rmf-scope.json");
        let miscounted = text.replace("\"in\": 25", "\"in\": 26");
        assert!(
            Scope::parse(&miscounted)
                .unwrap_err()
                .to_string()
                .contains("states 26 in")
        );
        let renamed = text.replace("\"id\": \"MAP 1.1\"", "\"id\": \"MAP 1.9\"");
        assert!(
            Scope::parse(&renamed)
                .unwrap_err()
                .to_string()
                .contains("every NIST")
        );
    }

    #[test]
    fn draft_labels_are_explained_and_real_ids_are_not() {
        for label in ["owasp-asi:A1", "OWASP Agentic AI Top 10 A3", "a2"] {
            assert!(
                draft_label_hint(label).unwrap().contains("ASI01"),
                "{label}"
            );
        }
        for label in ["maestro:G1", "CSA MAESTRO G1"] {
            assert!(
                draft_label_hint(label).unwrap().contains("maestro:L7"),
                "{label}"
            );
        }
        for label in [
            "owasp-asi:ASI01",
            "maestro:L7-T03",
            "maestro:L6",
            "nist-ai-rmf:GOVERN 1.1",
            "A",
            "A123",
        ] {
            assert_eq!(draft_label_hint(label), None, "{label}");
        }
    }
}
