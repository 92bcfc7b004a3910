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
    assert_eq!(
        before.values().filter(|s| *s == "out_of_scope").count(),
        47,
        "the scope file's 47 subcategories, and only they"
    );
    // A MAESTRO layer is assessed over all its threats: never met because one threat is.
    let maestro = bridle.coverage(Framework::Maestro, at).await.unwrap();
    let l7 = maestro.items.iter().find(|i| i.id == "L7").unwrap();
    assert!(
        l7.reason.starts_with("9 of 13 threats addressed"),
        "{}",
        l7.reason
    );
    assert_ne!(l7.status, "met");
    let l1 = maestro.items.iter().find(|i| i.id == "L1").unwrap();
    assert_eq!(
        (l1.status.as_str(), l1.reason.starts_with("0 of 7")),
        ("not_assessed", true)
    );

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

/// A pack for an earlier time shows the snapshot, the register and the attestations as they
/// stood then, and its statuses still agree with OSCAL and coverage at that time.
#[tokio::test]
async fn a_pack_for_an_earlier_time_shows_the_register_and_attestations_as_they_were() {
    let (_dir, bridle) = open(crate::DEMO_ESTATE).await;
    let request = |at: &str| EvidenceRequest {
        framework: Framework::NistAiRmf,
        at: t(at),
        organisation: "Test".into(),
    };
    let first = bridle
        .evidence_report(&request("2026-11-01T12:00:00Z"))
        .await
        .unwrap();
    let failing: Vec<String> = first
        .findings
        .iter()
        .filter(|f| f.status == "fail")
        .map(|f| f.id.clone())
        .take(2)
        .collect();
    let store = &bridle.store;
    let risk = store
        .add_risk(
            &NewRisk {
                title: "two failures tolerated".into(),
                description: String::new(),
                categories: Vec::new(),
                likelihood: 3,
                impact: 3,
                residual_likelihood: None,
                residual_impact: None,
                owner: Some("cro@example.com".into()),
                treatment: Treatment::Accept,
                due: None,
                findings: failing.clone(),
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
                reason: "until the vault migration".into(),
                at: t("2026-11-03T00:00:00Z"),
                expires: t("2026-11-20T00:00:00Z"),
            },
            t("2026-11-03T00:00:00Z"),
            &actor(),
        )
        .await
        .unwrap();
    let attestation = bridle
        .add_attestation(
            None,
            Some("GOVERN 1.5"),
            "The access risk register is reviewed monthly",
            None,
            Some(t("2026-11-10T00:00:00Z")),
            t("2026-11-05T00:00:00Z"),
        )
        .await
        .unwrap();
    assert!(
        bridle
            .add_attestation(
                None,
                Some("GOVERN 1.5"),
                "already over",
                None,
                Some(t("2026-11-05T00:00:00Z")),
                t("2026-11-05T00:00:00Z"),
            )
            .await
            .is_err(),
        "an attestation that expires when it is made is refused"
    );
    let out_of_scope = bridle
        .add_attestation(
            None,
            Some("GOVERN 1.1"),
            "Legal reviewed",
            None,
            None,
            t("2026-11-05T00:00:00Z"),
        )
        .await
        .unwrap_err();
    assert!(
        out_of_scope.message.contains("out of Bridle's scope"),
        "{}",
        out_of_scope.message
    );
    // A second snapshot later on: an earlier pack stays on the first.
    let prepared = PreparedImport::from_bytes(
        "estate".into(),
        crate::DEMO_ESTATE,
        bridle_core::estate::Syntax::Json,
    );
    bridle
        .import(prepared, "import", t("2026-11-15T00:00:00Z"), &actor())
        .await
        .unwrap();

    // Before the risk existed: an empty register, no attestation, the statuses of then.
    let before = bridle
        .evidence_report(&request("2026-11-01T12:00:00Z"))
        .await
        .unwrap();
    assert!(before.risks.is_empty());
    assert!(before.attestations.is_empty());
    assert_eq!(before.snapshot.id, 1);
    let statuses_before = statuses_agree(&bridle, t("2026-11-01T12:00:00Z")).await;

    // Added but not yet accepted: open, no acceptance.
    let added = bridle
        .evidence_report(&request("2026-11-02T12:00:00Z"))
        .await
        .unwrap();
    assert_eq!(added.risks.len(), 1);
    assert_eq!(added.risks[0].status, "open");
    assert!(added.risks[0].acceptance.is_none());

    // Accepted and attested: who, when, why, until when, what it covers; the attestation counts.
    let accepted = bridle
        .evidence_report(&request("2026-11-06T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(accepted.snapshot.id, 1);
    let entry = accepted.risks[0].acceptance.as_ref().unwrap();
    assert_eq!(
        (entry.by.as_str(), entry.reason.as_str(), entry.expired),
        ("cro@example.com", "until the vault migration", false)
    );
    assert_eq!(entry.at, "2026-11-03T00:00:00Z");
    assert_eq!(entry.expires, "2026-11-20T00:00:00Z");
    assert_eq!(entry.covers, failing);
    assert_eq!(accepted.attestations.len(), 1);
    assert_eq!(accepted.attestations[0].id, attestation.id);
    assert!(!accepted.attestations[0].expired);
    let statuses_accepted = statuses_agree(&bridle, t("2026-11-06T00:00:00Z")).await;
    assert_ne!(statuses_before, statuses_accepted);

    // After both expired: listed, marked expired, covering and counting for nothing.
    let later = bridle
        .evidence_report(&request("2026-11-21T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(later.snapshot.id, 2);
    assert_eq!(later.risks[0].status, "open");
    let entry = later.risks[0].acceptance.as_ref().unwrap();
    assert!(entry.expired);
    assert!(entry.covers.is_empty());
    assert!(later.attestations[0].expired);
    statuses_agree(&bridle, t("2026-11-21T00:00:00Z")).await;

    // Before any snapshot: a clear refusal naming the first one.
    let error = bridle
        .evidence_report(&request("2026-10-01T00:00:00Z"))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("no snapshot was taken at or before"),
        "{}",
        error.message
    );
}
