//! One rulebook, one status: every framework item has the same status in the evidence report
//! (what the PDF prints), the OSCAL document, `bridle coverage` and the console (which calls
//! the same coverage API), on the demo, with an accepted risk, and on a generated estate.

use std::collections::BTreeMap;

use bridle_core::compliance::{Framework, ItemStatus};
use bridle_core::risk::{Acceptance, Treatment};
use bridle_core::time::{Timestamp, parse_utc};
use bridle_store::{Actor, NewRisk};

use crate::evidence::EvidenceRequest;
use crate::{Bridle, PreparedImport};

fn t(text: &str) -> Timestamp {
    parse_utc(text).unwrap()
}

fn actor() -> Actor {
    Actor {
        user: "test".into(),
        host: "test".into(),
    }
}

async fn open(estate: &[u8]) -> (tempfile::TempDir, Bridle) {
    let dir = tempfile::tempdir().unwrap();
    let bridle = Bridle::open(&dir.path().join("t.db"), &dir.path().join("audit.key"))
        .await
        .unwrap();
    let prepared =
        PreparedImport::from_bytes("estate".into(), estate, bridle_core::estate::Syntax::Json);
    bridle
        .import(prepared, "import", t("2026-11-01T00:00:00Z"), &actor())
        .await
        .unwrap();
    (dir, bridle)
}

/// Item id → status, from the report, OSCAL and coverage; asserts they agree and returns them.
async fn statuses_agree(bridle: &Bridle, at: Timestamp) -> BTreeMap<String, String> {
    let request = EvidenceRequest {
        framework: Framework::NistAiRmf,
        at,
        organisation: "Test".into(),
    };
    let report = bridle.evidence_report(&request).await.unwrap();
    let from_report: BTreeMap<String, String> = report
        .subcategories()
        .map(|s| (s.id.clone(), s.status.as_str().to_owned()))
        .collect();
    let mut oscal = Vec::new();
    bridle.write_oscal(&request, &mut oscal).await.unwrap();
    let oscal: serde_json::Value = serde_json::from_slice(&oscal).unwrap();
    let mut from_oscal = BTreeMap::new();
    for finding in oscal["assessment-results"]["results"][0]["findings"]
        .as_array()
        .unwrap()
    {
        let prop = |name: &str| {
            finding["props"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["value"].as_str().unwrap().to_owned())
        };
        if let (Some(label), Some(status)) = (prop("label"), prop("status")) {
            from_oscal.insert(label, status);
        }
    }
    let coverage = bridle.coverage(Framework::NistAiRmf, at).await.unwrap();
    let from_coverage: BTreeMap<String, String> = coverage
        .items
        .iter()
        .filter(|i| i.kind == "subcategory")
        .map(|i| (i.id.clone(), i.status.clone()))
        .collect();
    assert_eq!(from_report.len(), 72);
    assert_eq!(from_report, from_oscal, "report vs OSCAL");
    assert_eq!(
        from_report, from_coverage,
        "report vs coverage (and the console)"
    );
    for status in from_report.values() {
        assert!(ItemStatus::parse(status).is_some(), "{status}");
    }
    from_report
}

#[tokio::test]
async fn the_same_item_has_the_same_status_everywhere() {
    let at = t("2026-11-20T00:00:00Z");
    let (_dir, bridle) = open(crate::DEMO_ESTATE).await;
    let before = statuses_agree(&bridle, at).await;

    // Accept every failure of one control's checks: its items become exceptions, never met.
    let report = bridle
        .evidence_report(&EvidenceRequest {
            framework: Framework::NistAiRmf,
            at,
            organisation: "Test".into(),
        })
        .await
        .unwrap();
    let failing: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.status == "fail")
        .map(|f| f.check.clone())
        .collect();
    assert!(!failing.is_empty(), "the demo has failures");
    let store = &bridle.store;
    let risk = store
        .add_risk(
            &NewRisk {
                title: "accepted for the test".into(),
                description: "every failure".into(),
                categories: Vec::new(),
                likelihood: 2,
                impact: 2,
                residual_likelihood: None,
                residual_impact: None,
                owner: None,
                treatment: Treatment::Accept,
                due: None,
                findings: failing,
                controls: Vec::new(),
                agents: Vec::new(),
            },
            t("2026-11-02T00:00:00Z"),
            &actor(),
        )
        .await
        .unwrap();
    store
        .accept_risk(
            risk.id,
            Acceptance {
                by: "cro@example.com".into(),
                reason: "tolerated until the migration".into(),
                at: t("2026-11-02T00:00:00Z"),
                expires: t("2027-01-01T00:00:00Z"),
            },
            t("2026-11-02T00:00:00Z"),
            &actor(),
        )
        .await
        .unwrap();
    let after = statuses_agree(&bridle, at).await;
    assert!(
        after.values().any(|s| s == "exception_accepted"),
        "{after:?}"
    );
    // Nothing became met by accepting: every item met now was met before.
    for (id, status) in &after {
        if status == "met" {
            assert_eq!(before[id], "met", "{id} became met by an acceptance");
        }
    }

    let generated = bridle_core::synthetic::generate(bridle_core::synthetic::Scale::Small, 7);
    let mut bytes = Vec::new();
    bridle_core::estate::write_canonical(&generated, &mut bytes).unwrap();
    let (_dir, bridle) = open(&bytes).await;
    statuses_agree(&bridle, at).await;
}
