//! The evidence pack end to end: the PDF of the demo estate (text, rendering, determinism,
//! vector figures), its verification against the inventory (a later import is reported, not
//! tampering; an edited audit log fails), attestations, OSCAL validated with NIST's models
//! (compliance-trestle), and the CSV tables.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{Sandbox, demo_estate, workspace_root};

const AT: &str = "2026-11-28T12:00:00Z";

/// A sandbox whose runs record their imports, risks and attestations an hour before `AT`, so
/// a pack or check at `AT` sees them (Bridle evaluates the records as they stood at `--at`).
fn recording_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.set_clock("2026-11-28T11:00:00Z");
    sandbox
}

/// The demo estate with one risk and two attestations (one with a file).
fn demo() -> Sandbox {
    let sandbox = recording_sandbox();
    sandbox.import(&demo_estate(), &[]);
    sandbox
        .bridle(&[
            "risk",
            "add",
            "--title",
            "Agents reach crown jewels through standing grants",
            "--likelihood",
            "4",
            "--impact",
            "5",
            "--owner",
            "cro@northwind.example",
            "--category",
            "nist-ai-rmf:MAP 5.1",
            "--finding",
            "crown-jewel-reach",
        ])
        .ok();
    let policy = sandbox.write(
        "policy-review.txt",
        "Cedar policies reviewed by the security board.\n",
    );
    sandbox
        .bridle(&[
            "attest",
            "add",
            "--control",
            "C03",
            "--statement",
            "Cedar policies are evaluated at every tool call; reviewed quarterly.",
            "--file",
            policy.to_str().unwrap(),
        ])
        .ok();
    sandbox
        .bridle(&[
            "attest",
            "add",
            "--subcategory",
            "manage  1.4",
            "--statement",
            "Residual access risks are reported to the product owners every quarter.",
        ])
        .ok();
    sandbox
}

fn pdf(sandbox: &Sandbox, name: &str, at: &str) -> (PathBuf, Value) {
    let path = sandbox.path(name);
    let run = sandbox.bridle(&[
        "evidence",
        "pdf",
        "-o",
        path.to_str().unwrap(),
        "--at",
        at,
        "--organisation",
        "Northwind Traders",
        "--json",
    ]);
    run.ok();
    (path, run.json())
}

fn tool(name: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} (poppler-utils) must be installed: {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the PDF with whitespace collapsed and line-end hyphenation of our own wrapping
/// undone where a word was split (our wrapper never adds hyphens, so only spaces are collapsed).
fn text_of(pdf: &Path) -> String {
    let raw = tool(
        "pdftotext",
        &[
            "-enc".as_ref(),
            "UTF-8".as_ref(),
            pdf.as_os_str(),
            "-".as_ref(),
        ],
    );
    normalise(&raw)
}

fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn nist_subcategories() -> Vec<(String, String)> {
    let catalog: Value = serde_json::from_slice(
        &std::fs::read(workspace_root().join("frameworks/nist-ai-rmf-1.0.json")).unwrap(),
    )
    .unwrap();
    catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "subcategory")
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_demo_pack_states_every_subcategory_verbatim_and_renders() {
    let sandbox = demo();
    let (path, written) = pdf(&sandbox, "pack.pdf", AT);
    let text = text_of(&path);

    let subcategories = nist_subcategories();
    assert_eq!(subcategories.len(), 72);
    for (id, statement) in &subcategories {
        let expected = normalise(&format!("{id} {statement}"));
        assert!(text.contains(&expected), "the PDF text lacks `{expected}`");
    }
    let estate = written["estate_sha256"].as_str().unwrap();
    let head = written["audit_head"].as_str().unwrap();
    assert_eq!(estate.len(), 64);
    assert!(text.contains(estate), "the estate hash is not printed");
    assert!(text.contains(head), "the audit head is not printed");
    for part in [
        "Northwind Traders",
        "Executive summary",
        "Contents",
        "Risk register",
        "Agents reach crown jewels through standing grants",
        "Appendix C. Cross-references",
        "Cedar policies are evaluated at every tool call",
        "Page 2 of",
    ] {
        assert!(text.contains(part), "the PDF text lacks `{part}`");
    }

    // The sidecars exist, their hashes are printed, and the snapshot file is the estate export.
    let snapshot_file = sandbox.path("pack.pdf.snapshot.json");
    let findings_file = sandbox.path("pack.pdf.findings.json");
    assert_eq!(sha256_file(&snapshot_file), estate);
    assert!(text.contains(&sha256_file(&findings_file)));
    let findings: Value = serde_json::from_slice(&std::fs::read(&findings_file).unwrap()).unwrap();
    assert!(findings["findings"].as_array().unwrap().len() > 100);

    // Every page renders.
    let pages = written["pages"].as_u64().unwrap();
    assert!(pages > 20, "{pages} pages");
    let out = sandbox.path("page");
    tool(
        "pdftoppm",
        &[
            "-png".as_ref(),
            "-r".as_ref(),
            "20".as_ref(),
            path.as_os_str(),
            out.as_os_str(),
        ],
    );
    let rendered = std::fs::read_dir(sandbox.path("."))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with("page") && name.ends_with(".png")
        })
        .count();
    assert_eq!(rendered as u64, pages);
    let info = tool("pdfinfo", &[path.as_os_str()]);
    let stated = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(str::trim);
    assert_eq!(stated, Some(pages.to_string().as_str()), "{info}");

    // Vector only: no image XObject anywhere, and the fonts are embedded.
    let bytes = std::fs::read(&path).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    assert!(!raw.contains("/Image"), "the PDF embeds an image");
    let fonts = tool("pdffonts", &[path.as_os_str()]);
    let rows: Vec<Vec<&str>> = fonts
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    for row in &rows {
        assert!(row[0].starts_with("DejaVuSans"), "{fonts}");
        assert_eq!(
            row[row.len() - 5],
            "yes",
            "a font is not embedded:\n{fonts}"
        );
    }
}

#[test]
fn two_exports_of_the_same_snapshot_are_byte_identical() {
    let sandbox = demo();
    // The PDF names its sidecar files, so both exports use the same file name.
    let (path, _) = pdf(&sandbox, "pack.pdf", AT);
    let first = std::fs::read(&path).unwrap();
    let first_findings = std::fs::read(sandbox.path("pack.pdf.findings.json")).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (path, _) = pdf(&sandbox, "pack.pdf", AT);
    let second = std::fs::read(&path).unwrap();
    assert!(first == second, "two exports of the same snapshot differ");
    assert_eq!(
        first_findings,
        std::fs::read(sandbox.path("pack.pdf.findings.json")).unwrap()
    );
    // Another evaluation time is another pack.
    let (other, _) = pdf(&sandbox, "pack.pdf", "2026-12-28T12:00:00Z");
    assert!(first != std::fs::read(&other).unwrap());
}

#[test]
fn verify_passes_after_a_later_import_fails_with_current_and_after_tampering() {
    let sandbox = demo();
    let (path, _) = pdf(&sandbox, "pack.pdf", AT);
    let verify = |extra: &[&str], code: i32| {
        let mut args = vec!["evidence", "verify", path.to_str().unwrap(), "--json"];
        args.extend(extra);
        let run = sandbox.bridle(&args);
        run.expect_code(code);
        run.json()
    };
    let v = verify(&[], 0);
    assert_eq!(v["inventory_changed"], false);
    verify(&["--current"], 0);

    // A legitimate later change: the inventory differs, the pack still holds.
    let mut estate: Value = serde_json::from_slice(&std::fs::read(demo_estate()).unwrap()).unwrap();
    estate["agents"].as_array_mut().unwrap().pop();
    let changed = sandbox.write("changed.json", serde_json::to_vec(&estate).unwrap());
    sandbox.import(&changed, &[]);
    let v = verify(&[], 0);
    assert_eq!(v["inventory_changed"], true);
    assert_eq!(v["snapshot_holds"], true);
    let v = verify(&["--current"], 1);
    assert_eq!(v["inventory_changed"], true);

    // Tampering with the audit log breaks the chain.
    let connection = rusqlite::Connection::open(sandbox.db()).unwrap();
    connection
        .execute_batch("UPDATE audit_log SET subject = subject || ' (edited)' WHERE seq = 1")
        .unwrap();
    connection.close().unwrap();
    let v = verify(&[], 1);
    assert_eq!(v["chain_intact"], false);
}

#[test]
fn verify_fails_when_the_snapshot_no_longer_rebuilds_to_its_hash() {
    let sandbox = demo();
    let (path, _) = pdf(&sandbox, "pack.pdf", AT);
    let connection = rusqlite::Connection::open(sandbox.db()).unwrap();
    let changed = connection
        .execute(
            "UPDATE agents SET name = 'Renamed' WHERE rowid = (SELECT min(rowid) FROM agents)",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    connection.close().unwrap();
    let run = sandbox.bridle(&["evidence", "verify", path.to_str().unwrap(), "--json"]);
    run.expect_code(1);
    assert_eq!(run.json()["snapshot_holds"], false);
    // A file that is not an evidence pack is bad input.
    let other = sandbox.write("other.pdf", "not a pdf");
    sandbox
        .bridle(&["evidence", "verify", other.to_str().unwrap()])
        .expect_code(2);
}

#[test]
fn attestations_are_validated_audited_and_assess_manual_controls() {
    let sandbox = demo();
    sandbox
        .bridle(&["attest", "add", "--control", "C99", "--statement", "x"])
        .expect_code(2);
    sandbox
        .bridle(&[
            "attest",
            "add",
            "--subcategory",
            "GOVERN 9.9",
            "--statement",
            "x",
        ])
        .expect_code(2);
    let list = sandbox.bridle(&["attest", "ls", "--json"]);
    list.ok();
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["target"], "C03");
    assert_eq!(list[1]["target"], "MANAGE 1.4");
    // An out-of-scope subcategory cannot be attested: it would count for nothing.
    let refused = sandbox.bridle(&[
        "attest",
        "add",
        "--subcategory",
        "GOVERN 1.1",
        "--statement",
        "x",
    ]);
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("out of Bridle's scope"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        list[0]["file_sha256"],
        hex::encode(Sha256::digest(
            b"Cedar policies reviewed by the security board.\n"
        ))
    );
    let log = sandbox.bridle(&["audit", "log", "--json"]);
    log.ok();
    let actions: Vec<String> = log
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "attestation.add").count(),
        2
    );
    sandbox.bridle(&["audit", "verify"]).ok();

    // C03 is manual and maps to GOVERN 1.4 (alone): attested an hour before `AT`, so met there
    // at `AT`; MANAGE 1.4's one control (C14, manual) is attested by the subcategory's own
    // attestation; GOVERN 1.1 is out of scope, with its reason.
    let doc = oscal(&sandbox);
    assert_eq!(
        subcategory_status(&doc, "govern-1.4"),
        ("met".to_owned(), "satisfied".to_owned())
    );
    assert_eq!(subcategory_status(&doc, "manage-1.4").0, "met");
    assert_eq!(subcategory_status(&doc, "govern-1.1").0, "out_of_scope");
    // Point in time: one recorded after `AT` does not count at `AT`, only from its time; one
    // that expires counts until then.
    sandbox.set_clock("2026-11-28T13:00:00Z");
    sandbox
        .bridle(&[
            "attest",
            "add",
            "--subcategory",
            "GOVERN 1.5",
            "--statement",
            "The register's acceptances are reviewed by the risk committee.",
            "--expires",
            "2027-01-01T00:00:00Z",
        ])
        .ok();
    let doc = oscal(&sandbox);
    assert_eq!(subcategory_status(&doc, "govern-1.5").0, "not_assessed");
    let export_at = |at: &str| {
        let run = sandbox.bridle(&["export", "--format", "oscal", "--at", at]);
        run.ok();
        run.json()
    };
    assert_eq!(
        subcategory_status(&export_at("2026-12-01T00:00:00Z"), "govern-1.5").0,
        "met"
    );
    assert_eq!(
        subcategory_status(&export_at("2027-01-02T00:00:00Z"), "govern-1.5").0,
        "not_assessed"
    );
    // Before the first import there is nothing to assess: refused, naming the first snapshot.
    let run = sandbox.bridle(&[
        "export",
        "--format",
        "oscal",
        "--at",
        "2026-11-01T00:00:00Z",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("no snapshot was taken at or before"),
        "{}",
        run.stderr
    );
    // Without attestations the same items are not assessed.
    let bare = recording_sandbox();
    bare.import(&demo_estate(), &[]);
    let doc = oscal(&bare);
    assert_eq!(
        subcategory_status(&doc, "govern-1.4"),
        ("not_assessed".to_owned(), "not-satisfied".to_owned())
    );
    assert_eq!(subcategory_status(&doc, "manage-1.4").0, "not_assessed");
    assert_eq!(subcategory_status(&doc, "govern-1.1").0, "out_of_scope");
}

fn oscal(sandbox: &Sandbox) -> Value {
    let run = sandbox.bridle(&["export", "--format", "oscal", "--at", AT]);
    run.ok();
    run.json()
}

/// Bridle's status prop and the OSCAL state of the finding targeting `token`.
fn subcategory_status(doc: &Value, token: &str) -> (String, String) {
    let finding = doc["assessment-results"]["results"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["target"]["target-id"] == token)
        .unwrap_or_else(|| panic!("no finding for {token}"));
    let status = finding["props"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "status")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let state = finding["target"]["status"]["state"]
        .as_str()
        .unwrap()
        .to_owned();
    (status, state)
}

/// The venv `cargo xtask test-servers` fills, under the target directory.
fn trestle_python() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| workspace_root().join(d))
        .unwrap_or_else(|| workspace_root().join("target"));
    let python = target.join("test-servers/venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run `cargo xtask test-servers` to install compliance-trestle (the OSCAL models)",
        python.display()
    );
    python
}

#[test]
fn the_oscal_export_validates_against_nist_models_and_is_deterministic() {
    let sandbox = demo();
    // A second risk, accepted: a deviation-approved OSCAL risk with its deadline and log.
    sandbox
        .bridle(&[
            "risk",
            "add",
            "--title",
            "Long-lived credentials until the broker migration",
            "--likelihood",
            "3",
            "--impact",
            "3",
            "--finding",
            "credential-short-lived",
        ])
        .ok();
    sandbox
        .bridle(&[
            "risk",
            "accept",
            "R-2",
            "--reason",
            "Broker migration scheduled for Q1",
            "--expires",
            "2027-03-31T00:00:00Z",
            "--by",
            "cro@northwind.example",
        ])
        .ok();
    let path = sandbox.path("ar.json");
    let export = || {
        sandbox
            .bridle(&[
                "export",
                "--format",
                "oscal",
                "--at",
                AT,
                "-o",
                path.to_str().unwrap(),
            ])
            .ok();
        std::fs::read(&path).unwrap()
    };
    let first = export();
    assert_eq!(first, export(), "two OSCAL exports differ");
    let doc: Value = serde_json::from_slice(&first).unwrap();
    let result = &doc["assessment-results"]["results"][0];
    assert_eq!(result["findings"].as_array().unwrap().len(), 72);
    assert!(result["observations"].as_array().unwrap().len() > 100);
    let risks = result["risks"].as_array().unwrap();
    assert_eq!(risks.len(), 2);
    assert_eq!(risks[0]["status"], "open");
    let accepted = &risks[1];
    assert_eq!(accepted["status"], "deviation-approved");
    assert_eq!(accepted["deadline"], "2027-03-31T00:00:00Z");
    let log = &accepted["risk-log"]["entries"][0];
    assert_eq!(log["status-change"], "deviation-approved");
    assert_eq!(log["start"], "2026-11-28T11:00:00Z");
    assert!(
        log["description"]
            .as_str()
            .unwrap()
            .contains("credential-short-lived@"),
        "{log}"
    );
    assert!(
        log["remarks"]
            .as_str()
            .unwrap()
            .starts_with("Accepted by cro@northwind.example at 2026-11-28T11:00:00Z until 2027-03-31T00:00:00Z: Broker migration"),
        "{accepted}"
    );
    // The risk links the observations of the findings it names, and every finding (item)
    // whose failures it covers links back to it.
    let observations: BTreeSet<&str> = accepted["related-observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["observation-uuid"].as_str().unwrap())
        .collect();
    assert!(!observations.is_empty());
    let linking: Vec<&Value> = result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["related-risks"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["risk-uuid"] == accepted["uuid"]))
        })
        .collect();
    assert!(!linking.is_empty());
    for f in &linking {
        assert!(
            f["related-observations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| observations.contains(o["observation-uuid"].as_str().unwrap())),
            "{f}"
        );
    }
    let govern = result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["target"]["target-id"] == "govern-1.1")
        .unwrap();
    assert_eq!(govern["target"]["title"], "GOVERN 1.1");
    // UUIDs are version 5.
    let uuid = doc["assessment-results"]["uuid"].as_str().unwrap();
    assert_eq!(&uuid[14..15], "5", "{uuid}");

    let script = "import sys\nfrom trestle.oscal.assessment_results import AssessmentResults\n\
                  import json\nd = json.load(open(sys.argv[1]))\n\
                  ar = AssessmentResults.model_validate(d['assessment-results']) if hasattr(AssessmentResults, 'model_validate') else AssessmentResults.parse_obj(d['assessment-results'])\n\
                  print('valid', len(ar.results[0].findings))\n";
    let out = Command::new(trestle_python())
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("the venv's python starts");
    assert!(
        out.status.success(),
        "trestle rejects the OSCAL document:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid 72");

    // A broken document is rejected by the same validation (the check can fail).
    let mut broken = doc.clone();
    broken["assessment-results"]["results"][0]["findings"][0]["target"]["target-id"] =
        "GOVERN 1.1".into();
    let broken_path = sandbox.write("broken.json", serde_json::to_vec(&broken).unwrap());
    let out = Command::new(trestle_python())
        .args(["-c", script])
        .arg(&broken_path)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "trestle accepted a target-id with a space"
    );
}

#[test]
fn csv_exports_hold_findings_risks_and_inventory() {
    let sandbox = demo();
    let csv = |what: &str| {
        let run = sandbox.bridle(&["export", "--format", "csv", "--what", what, "--at", AT]);
        run.ok();
        run.stdout.clone()
    };
    let findings = csv("findings");
    assert!(findings.starts_with("id,check,title,subject,status,severity,summary,evidence,"));
    assert!(findings.lines().count() > 100);
    assert!(findings.contains("crown-jewel-reach@agent:"));
    let risks = csv("risks");
    assert_eq!(risks.lines().count(), 2, "{risks}");
    assert!(risks.contains("Agents reach crown jewels through standing grants"));
    let inventory = csv("inventory");
    assert!(inventory.starts_with("kind,id,name,attributes"));
    assert_eq!(
        inventory
            .lines()
            .filter(|l| l.starts_with("agents,"))
            .count(),
        16
    );
    sandbox
        .bridle(&["export", "--format", "oscal", "--what", "risks"])
        .expect_code(2);

    // A name chosen by whoever wrote the estate never becomes a live spreadsheet formula.
    let hostile = recording_sandbox();
    let mut estate: Value = serde_json::from_slice(&std::fs::read(demo_estate()).unwrap()).unwrap();
    estate["agents"][0]["name"] = "=1+2".into();
    estate["agents"][1]["name"] = "@SUM(A1:A9)".into();
    let file = hostile.write("hostile.json", serde_json::to_vec(&estate).unwrap());
    hostile.import(&file, &[]);
    let run = hostile.bridle(&[
        "export",
        "--format",
        "csv",
        "--what",
        "inventory",
        "--at",
        AT,
    ]);
    run.ok();
    let cells: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("agents,"))
        .filter_map(|l| l.split(',').nth(2))
        .collect();
    assert!(cells.contains(&"'=1+2"), "{cells:?}");
    assert!(cells.contains(&"'@SUM(A1:A9)"), "{cells:?}");
    assert!(
        !cells.iter().any(|c| c.starts_with(['=', '@'])),
        "{cells:?}"
    );
}

/// The flow fixtures' estate with two flows: the sound `invoice-triage` and `invoice-early`, a
/// copy that starts by issuing the credential, so the approval no longer comes first.
fn with_flows() -> Sandbox {
    let sandbox = recording_sandbox();
    let fixtures = workspace_root().join("crates/core/src/flow/fixtures");
    sandbox.import(&fixtures.join("estate.json"), &[]);
    let sound = fixtures.join("sound.yaml");
    let early = std::fs::read_to_string(&sound)
        .unwrap()
        .replace("id: invoice-triage\n", "id: invoice-early\n")
        .replace("start: approve", "start: issue-db");
    let early = sandbox.write("invoice-early.yaml", early);
    sandbox
        .bridle(&[
            "flow",
            "import",
            sound.to_str().unwrap(),
            early.to_str().unwrap(),
        ])
        .ok();
    sandbox
}

#[test]
fn each_flow_has_a_section_with_its_findings_diagram_and_cedar() {
    let sandbox = with_flows();
    let (path, written) = pdf(&sandbox, "pack.pdf", AT);
    let text = text_of(&path);
    let start = text
        .find("Approval flows Each approval flow")
        .expect("the PDF has an Approval flows chapter");
    let end = text[start..]
        .find("Privilege paths to crown jewels Each figure")
        .map_or(text.len(), |i| start + i);
    let chapter = &text[start..end];
    for part in [
        "Flow invoice-triage",
        "Flow invoice-early",
        "Steps of invoice-early",
        "fail / critical flow-approval-dominates@invoice-early/stage",
        "pass / critical flow-approval-dominates@invoice-triage/stage",
        r#"@id("grant:read-invoices")"#,
        "full policies in pack.pdf.flows/invoice-early.cedar",
        "MEASURE 2.7",
    ] {
        assert!(
            chapter.contains(part),
            "the chapter lacks `{part}`:\n{chapter}"
        );
    }
    // The subcategories the flow checks bear on name the flows; the method lists their checks
    // and limits.
    assert!(
        text.contains("Flows: invoice-early — ") && text.contains("(see “Approval flows”)"),
        "no subcategory names the flows"
    );
    for part in [
        "flow-approval-dominates",
        "flow-drift-excess-reach",
        "Longest just-in-time grant of an approval flow",
    ] {
        assert!(text.contains(part), "the method lacks `{part}`");
    }

    // The Cedar sidecars are written and their hashes printed.
    for name in ["invoice-triage.cedar", "invoice-early.cedarschema"] {
        let file = sandbox.path(&format!("pack.pdf.flows/{name}"));
        assert!(text.contains(&sha256_file(&file)), "no hash of {name}");
    }
    let policies =
        std::fs::read_to_string(sandbox.path("pack.pdf.flows/invoice-early.cedar")).unwrap();
    assert!(policies.contains(r#"@id("grant:read-invoices")"#));

    // Every page renders, and a second export is the same bytes.
    let pages = written["pages"].as_u64().unwrap();
    let out = sandbox.path("flowpage");
    tool(
        "pdftoppm",
        &[
            "-png".as_ref(),
            "-r".as_ref(),
            "20".as_ref(),
            path.as_os_str(),
            out.as_os_str(),
        ],
    );
    let rendered = std::fs::read_dir(sandbox.path("."))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with("flowpage") && name.ends_with(".png")
        })
        .count();
    assert_eq!(rendered as u64, pages);
    let first = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (path, _) = pdf(&sandbox, "pack.pdf", AT);
    assert!(
        first == std::fs::read(&path).unwrap(),
        "two exports with flows differ"
    );
    assert!(!String::from_utf8_lossy(&first).contains("/Image"));

    let verify = sandbox.bridle(&["evidence", "verify", path.to_str().unwrap(), "--json"]);
    verify.ok();
    assert_eq!(verify.json()["snapshot_holds"], true);
}

/// The pack, its sidecars, exports and the database are readable by their owner only, and a
/// symlink planted where a pack is written is replaced, never written through.
#[cfg(unix)]
#[test]
fn written_files_are_owner_only_and_never_follow_a_planted_link() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| {
        std::fs::symlink_metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let sandbox = demo();
    let elsewhere = sandbox.write("someone-elses.txt", "keep");
    let pack = sandbox.path("pack.pdf");
    std::os::unix::fs::symlink(&elsewhere, &pack).unwrap();
    pdf(&sandbox, "pack.pdf", AT);
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep");
    for name in [
        "pack.pdf",
        "pack.pdf.snapshot.json",
        "pack.pdf.findings.json",
    ] {
        assert_eq!(mode(&sandbox.path(name)), 0o600, "{name}");
    }
    let csv = sandbox.path("findings.csv");
    sandbox
        .bridle(&[
            "export",
            "--format",
            "csv",
            "--what",
            "findings",
            "--at",
            AT,
            "-o",
            csv.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(mode(&csv), 0o600);
    assert_eq!(mode(&sandbox.db()), 0o600);
    let leftovers: Vec<String> = std::fs::read_dir(sandbox.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
