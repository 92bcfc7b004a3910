//! The four framework catalogs, embedded from `frameworks/` and parsed on first use.
//!
//! The files are Bridle's own data: NIST AI RMF statements verbatim, OWASP and MAESTRO items with
//! summaries in our own words, every item with its source. MAESTRO threat ids are local to
//! Bridle, and [`CatalogItem::local_id`] says so wherever an item is shown.

use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

/// A framework Bridle maps its controls to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Framework {
    NistAiRmf,
    OwaspAsi,
    OwaspNhi,
    Maestro,
}

impl Framework {
    pub const ALL: [Framework; 4] = [
        Framework::NistAiRmf,
        Framework::OwaspAsi,
        Framework::OwaspNhi,
        Framework::Maestro,
    ];

    /// The id used on the command line, in data files and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::NistAiRmf => "nist-ai-rmf",
            Framework::OwaspAsi => "owasp-asi",
            Framework::OwaspNhi => "owasp-nhi",
            Framework::Maestro => "maestro",
        }
    }

    pub fn parse(word: &str) -> Option<Framework> {
        Framework::ALL.into_iter().find(|f| f.as_str() == word)
    }

    /// The catalog file under `frameworks/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Framework::NistAiRmf => "nist-ai-rmf-1.0.json",
            Framework::OwaspAsi => "owasp-agentic-top10-2026.json",
            Framework::OwaspNhi => "owasp-nhi-top10-2025.json",
            Framework::Maestro => "csa-maestro.json",
        }
    }

    fn source_text(self) -> &'static str {
        match self {
            Framework::NistAiRmf => include_str!("../../../../frameworks/nist-ai-rmf-1.0.json"),
            Framework::OwaspAsi => {
                include_str!("../../../../frameworks/owasp-agentic-top10-2026.json")
            }
            Framework::OwaspNhi => include_str!("../../../../frameworks/owasp-nhi-top10-2025.json"),
            Framework::Maestro => include_str!("../../../../frameworks/csa-maestro.json"),
        }
    }

    /// The item kinds a coverage report lists for this framework: NIST's subcategories, the
    /// OWASP entries, and MAESTRO's layers, threats and the cross-layer group.
    pub fn coverage_kinds(self) -> &'static [&'static str] {
        match self {
            Framework::NistAiRmf => &["subcategory"],
            Framework::OwaspAsi | Framework::OwaspNhi => &["risk"],
            Framework::Maestro => &["layer", "group", "threat"],
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One framework's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "catalog")]
    pub id: String,
    pub name: String,
    pub version: String,
    pub publisher: String,
    pub source: Vec<String>,
    pub licence: String,
    /// A warning shown with the catalog (MAESTRO: its threat ids are local).
    pub id_note: Option<String>,
    /// The number of items of each kind the file states (checked against the items).
    pub counts: std::collections::BTreeMap<String, usize>,
    pub items: Vec<CatalogItem>,
}

/// A function, category, subcategory, risk, layer, threat or group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogItem {
    pub id: String,
    pub kind: String,
    pub parent: Option<String>,
    pub title: String,
    /// The official statement (NIST only, verbatim).
    #[serde(default)]
    pub text: Option<String>,
    /// Bridle's own one-sentence summary (OWASP and MAESTRO).
    #[serde(default)]
    pub summary: Option<String>,
    /// Where the item comes from.
    pub source: String,
    /// `true` when the id is Bridle's own, not the framework's (MAESTRO threats).
    #[serde(default)]
    pub local_id: bool,
}

/// A catalog file that does not parse or contradicts itself: a bug in `frameworks/`, caught by
/// the tests, so the loaders panic with this message rather than return it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frameworks/{file}: {reason}")]
pub struct CatalogInvalid {
    pub file: &'static str,
    pub reason: String,
}

impl Catalog {
    /// Parses and validates a catalog: unique ids, parents that exist, the stated counts.
    pub fn parse(framework: Framework, text: &str) -> Result<Catalog, CatalogInvalid> {
        let invalid = |reason: String| CatalogInvalid {
            file: framework.file_name(),
            reason,
        };
        let catalog: Catalog = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if catalog.id != framework.as_str() {
            return Err(invalid(format!(
                "states catalog `{}`, expected `{framework}`",
                catalog.id
            )));
        }
        let mut seen = std::collections::HashSet::new();
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for item in &catalog.items {
            if !seen.insert(item.id.as_str()) {
                return Err(invalid(format!("item `{}` appears twice", item.id)));
            }
            if let Some(parent) = &item.parent
                && !seen.contains(parent.as_str())
            {
                return Err(invalid(format!(
                    "item `{}` names parent `{parent}`, which does not come before it",
                    item.id
                )));
            }
            if item.text.is_none() && item.summary.is_none() {
                return Err(invalid(format!(
                    "item `{}` has neither text nor summary",
                    item.id
                )));
            }
            *counts.entry(item.kind.clone()).or_default() += 1;
        }
        if counts != catalog.counts {
            return Err(invalid(format!(
                "states counts {:?} but holds {counts:?}",
                catalog.counts
            )));
        }
        Ok(catalog)
    }

    /// The embedded catalog of `framework`, parsed once.
    pub fn get(framework: Framework) -> &'static Catalog {
        static CATALOGS: [OnceLock<Catalog>; 4] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        CATALOGS[framework as usize].get_or_init(|| {
            Catalog::parse(framework, framework.source_text())
                .unwrap_or_else(|e| panic!("embedded catalog is invalid: {e}"))
        })
    }

    pub fn item(&self, id: &str) -> Option<&CatalogItem> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The items a coverage report lists, in catalog order.
    pub fn coverage_items(&self, framework: Framework) -> impl Iterator<Item = &CatalogItem> {
        self.items
            .iter()
            .filter(move |i| framework.coverage_kinds().contains(&i.kind.as_str()))
    }

    /// `id` and every ancestor of it, nearest first.
    pub fn ancestors<'a>(&'a self, id: &'a str) -> Vec<&'a str> {
        let mut chain = vec![id];
        let mut current = id;
        while let Some(parent) = self.item(current).and_then(|i| i.parent.as_deref()) {
            chain.push(parent);
            current = parent;
        }
        chain
    }
}
