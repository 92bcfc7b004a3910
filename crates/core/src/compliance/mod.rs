//! Frameworks, controls and findings: the four catalogs (`frameworks/`), the control library
//! with its crosswalk, and the automated checks that turn controls into findings.
//!
//! The catalogs and the control library are data files embedded at build time and parsed on
//! first use; the tests pin their ids, counts and NIST statements. The checks are pure
//! functions of an estate, its privilege graph and the evaluation time.

pub mod assessment;
mod catalog;
mod checks;
mod controls;
mod scope;

#[cfg(test)]
mod tests;

pub use assessment::{ItemStatus, Tally};
pub use catalog::{Catalog, CatalogInvalid, CatalogItem, Framework};
pub use checks::{
    CHECKS, CheckInfo, Finding, Findings, Limits, PassCount, Passes, Severity, Status, check_info,
    evaluate, evaluate_with,
};
pub use controls::{Control, ControlLibrary, Mapping};
pub use scope::{
    CROSSWALK_NOTES, Extent, Scope, ScopeEntry, draft_label_hint, out_of_scope_reason,
};

/// The framework items a check's findings bear on: the mappings of every control the check
/// belongs to, in control order, without duplicates.
pub fn framework_items(check: &str) -> Vec<(Framework, &'static str)> {
    let mut items = Vec::new();
    for control in ControlLibrary::get().controls_of_check(check) {
        for mapping in &control.mappings {
            let item = (mapping.framework, mapping.item.as_str());
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    items
}

/// Whether a finding of `check` bears on `framework`.
pub fn check_bears_on(check: &str, framework: Framework) -> bool {
    ControlLibrary::get()
        .controls_of_check(check)
        .iter()
        .any(|c| c.mappings_to(framework).next().is_some())
}
