//! The control library and its crosswalk, embedded from `frameworks/controls.json`.

use std::sync::OnceLock;

use serde::Deserialize;

use super::catalog::{Catalog, CatalogInvalid, Framework};

const FILE: &str = "controls.json";

/// The whole library.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlLibrary {
    pub library: String,
    pub version: String,
    pub note: String,
    pub controls: Vec<Control>,
}

/// A practice of the control stack, checked automatically where data allows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub practice: String,
    /// The automated checks that produce findings for this control; empty: attested by hand.
    pub checks: Vec<String>,
    pub mappings: Vec<Mapping>,
}

/// One crosswalk cell: the control addresses this framework item, for this reason.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(deserialize_with = "framework")]
    pub framework: Framework,
    pub item: String,
    pub rationale: String,
}

fn framework<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Framework, D::Error> {
    let word = String::deserialize(d)?;
    Framework::parse(&word)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown framework `{word}`")))
}

impl Control {
    /// `automated` when checks produce findings, `manual` when it is attested by hand.
    pub fn assessment(&self) -> &'static str {
        if self.checks.is_empty() {
            "manual"
        } else {
            "automated"
        }
    }

    pub fn mappings_to(&self, framework: Framework) -> impl Iterator<Item = &Mapping> {
        self.mappings
            .iter()
            .filter(move |m| m.framework == framework)
    }
}

impl ControlLibrary {
    /// Parses the library and checks it against the catalogs and the known check ids: every
    /// mapped item exists, every check exists, ids are unique.
    pub fn parse(text: &str, known_checks: &[&str]) -> Result<ControlLibrary, CatalogInvalid> {
        let invalid = |reason: String| CatalogInvalid { file: FILE, reason };
        let library: ControlLibrary =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut ids = std::collections::HashSet::new();
        for control in &library.controls {
            if !ids.insert(control.id.as_str()) {
                return Err(invalid(format!("control `{}` appears twice", control.id)));
            }
            for check in &control.checks {
                if !known_checks.contains(&check.as_str()) {
                    return Err(invalid(format!(
                        "control `{}` names unknown check `{check}`",
                        control.id
                    )));
                }
            }
            for mapping in &control.mappings {
                if Catalog::get(mapping.framework)
                    .item(&mapping.item)
                    .is_none()
                {
                    return Err(invalid(format!(
                        "control `{}` maps to `{}`, which is not an item of {}",
                        control.id, mapping.item, mapping.framework
                    )));
                }
                if mapping.rationale.trim().is_empty() {
                    return Err(invalid(format!(
                        "control `{}` maps to `{}` without a rationale",
                        control.id, mapping.item
                    )));
                }
            }
        }
        Ok(library)
    }

    /// The embedded library, parsed once.
    pub fn get() -> &'static ControlLibrary {
        static LIBRARY: OnceLock<ControlLibrary> = OnceLock::new();
        LIBRARY.get_or_init(|| {
            let known: Vec<&str> = super::checks::CHECKS
                .iter()
                .chain(crate::flow::FLOW_CHECKS)
                .chain(crate::flow::DRIFT_CHECKS)
                .map(|c| c.id)
                .collect();
            ControlLibrary::parse(include_str!("../../../../frameworks/controls.json"), &known)
                .unwrap_or_else(|e| panic!("embedded control library is invalid: {e}"))
        })
    }

    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// The controls whose checks include `check`.
    pub fn controls_of_check(&self, check: &str) -> Vec<&Control> {
        self.controls
            .iter()
            .filter(|c| c.checks.iter().any(|k| k == check))
            .collect()
    }

    /// The controls mapped to `item` of `framework` or to any item below it (a MAESTRO layer
    /// is covered by controls mapped to its threats; a NIST category by its subcategories').
    pub fn controls_covering(&self, framework: Framework, item: &str) -> Vec<&Control> {
        let catalog = Catalog::get(framework);
        self.controls
            .iter()
            .filter(|c| {
                c.mappings_to(framework)
                    .any(|m| catalog.ancestors(&m.item).contains(&item))
            })
            .collect()
    }
}
