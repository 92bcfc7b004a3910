//! Store tests on a real SQLite file with the real migrations.

use bridle_core::Estate;
use bridle_core::estate::{Syntax, canonical_sha256, parse};
use bridle_core::time::{Timestamp, parse_utc};

use crate::{Actor, AuditKey, Store};

const FIRST: &str = r#"{"bridle":"estate/v1",
 "agents":[{"id":"agent:a","name":"A","owner":"o@example.com","environment":"prod","autonomy":"autonomous","runs_as":["id:a"]}],
 "identities":[{"id":"id:a","kind":"spiffe","name":"a"},{"id":"id:b","kind":"service_account","name":"b"}],
 "resources":[{"id":"res:db","kind":"database","name":"db","sensitivity":"restricted","crown_jewel":true}],
 "grants":[{"id":"g1","subject":"id:a","target":"res:db","actions":["read"],"standing":true},
           {"id":"g2","subject":"id:b","target":"res:db","actions":["write"],"standing":false}]}"#;

fn estate(text: &str) -> Estate {
    parse(text.as_bytes(), Syntax::Json)
        .estate
        .expect("test estate is valid")
}

pub(crate) fn time(text: &str) -> Timestamp {
    parse_utc(text).unwrap()
}

pub(crate) fn actor() -> Actor {
    Actor {
        user: "tester".into(),
        host: "test-host".into(),
    }
}

/// A fresh store (real migrations) in `dir`, with its audit key beside it.
pub(crate) async fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(
        &dir.path().join("x.db"),
        AuditKey::at(dir.path().join("audit.key")),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn snapshots_reconstruct_after_changes_and_keep_first_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let first = estate(FIRST);
    let t1 = time("2026-11-01T00:00:00Z");
    let s1 = store
        .import("import", None, &first, t1, &actor(), |_| Ok(()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s1.snapshot.added, s1.snapshot.changed, s1.snapshot.removed),
        (6, 0, 0)
    );

    // g1 changes, g2 goes, g3 arrives.
    let second_text = FIRST
        .replace(r#""actions":["read"],"standing":true"#, r#""actions":["read","write"],"standing":true"#)
        .replace(
            r#"{"id":"g2","subject":"id:b","target":"res:db","actions":["write"],"standing":false}"#,
            r#"{"id":"g3","subject":"id:b","target":"res:db","actions":["admin"],"standing":false}"#,
        );
    let second = estate(&second_text);
    let t2 = time("2026-11-02T00:00:00Z");
    let s2 = store
        .import("import", None, &second, t2, &actor(), |_| Ok(()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s2.snapshot.added, s2.snapshot.changed, s2.snapshot.removed),
        (1, 1, 1)
    );

    assert_eq!(
        canonical_sha256(&store.estate_at(1).await.unwrap()),
        canonical_sha256(&first)
    );
    assert_eq!(
        canonical_sha256(&store.estate_at(2).await.unwrap()),
        canonical_sha256(&second)
    );
    assert_eq!(s1.snapshot.estate_sha256, canonical_sha256(&first));
    assert_eq!(s2.snapshot.estate_sha256, canonical_sha256(&second));

    let grants = store.current_grants().await.unwrap();
    let g1 = grants.iter().find(|g| g.entity.id == "g1").unwrap();
    let g3 = grants.iter().find(|g| g.entity.id == "g3").unwrap();
    assert_eq!(
        (g1.first_seen, g1.last_seen),
        (t1, t2),
        "a changed entity keeps its first-seen time"
    );
    assert_eq!((g3.first_seen, g3.last_seen), (t2, t2));

    let audit = store.verify_audit().await.unwrap();
    assert!(audit.intact(), "{:?}", audit.problems);
    assert_eq!(audit.entries, 2);
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_refused_check_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let outcome = store
        .import(
            "import",
            None,
            &estate(FIRST),
            time("2026-11-01T00:00:00Z"),
            &actor(),
            |_| Err(vec!["no".into()]),
        )
        .await
        .unwrap();
    assert!(outcome.is_err());
    assert!(store.snapshots().await.unwrap().is_empty());
    assert!(store.audit_entries().await.unwrap().is_empty());
    assert_eq!(store.current_estate().await.unwrap(), Estate::default());
}

#[tokio::test]
async fn sources_replace_only_their_own_entities() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let at = time("2026-11-01T00:00:00Z");
    store
        .import("import:a", None, &estate(FIRST), at, &actor(), |_| Ok(()))
        .await
        .unwrap()
        .unwrap();
    let other = estate(
        r#"{"bridle":"estate/v1","identities":[{"id":"id:other","kind":"human","name":"h"}]}"#,
    );
    store
        .import("import:b", None, &other, at, &actor(), |others| {
            assert_eq!(
                others.ids.get("agent:a").map(|(_, s)| s.as_str()),
                Some("import:a")
            );
            Ok(())
        })
        .await
        .unwrap()
        .unwrap();
    // Re-importing source b empty removes only b's identity.
    store
        .import("import:b", None, &Estate::default(), at, &actor(), |_| {
            Ok(())
        })
        .await
        .unwrap()
        .unwrap();
    let current = store.current_estate().await.unwrap();
    assert_eq!(current.identities.len(), 2);
    assert_eq!(current.agents.len(), 1);
}

#[tokio::test]
async fn a_database_from_a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', 1, x'00', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    store.close().await.unwrap();
    let path = dir.path().join("x.db");
    let before = std::fs::read(&path).unwrap();

    let error = Store::open(&path, AuditKey::at(dir.path().join("audit.key")))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("written by a newer Bridle (schema version 99990101000000"),
        "{error}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Loading goes through SQLite's JSON aggregation in chunks: rows on both sides of chunk
/// boundaries, text that JSON must escape, NULLs and flags all come back exactly, for the current
/// state and for a past snapshot whose rows are interleaved with newer ones.
#[tokio::test]
async fn loads_cross_chunk_boundaries_and_keep_awkward_text() {
    use bridle_core::{Action, ActionSet, Grant};
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut first = estate(FIRST);
    first.agents[0].name = "Ünïcode \"quoted\" \\ back\nslash\t😀 \u{1}".into();
    first.agents[0].owner = None;
    let count = crate::inventory::LOAD_CHUNK_ROWS as usize * 2 + 7;
    for n in 0..count {
        first.grants.push(Grant {
            id: format!("bulk:{n:06}"),
            subject: "id:b".into(),
            target: "res:db".into(),
            actions: if n % 2 == 0 {
                ["read"].as_slice()
            } else {
                &["read", "write"]
            }
            .iter()
            .map(|w| Action::parse(w).unwrap())
            .collect::<ActionSet>(),
            standing: n % 3 == 0,
            expires_at: (n % 5 == 0).then(|| time("2027-01-01T00:00:00Z")),
            conditions: (n % 7 == 0).then(|| format!("ticket \"{n}\"")),
            source: None,
        });
    }
    first.grants.sort_by(|a, b| a.id.cmp(&b.id));
    let indexes = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'grants' ORDER BY name",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        // The text of a recreated index is the code's constant: equal up to spacing.
        .map(|sql| sql.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
    };
    let declared = indexes().await;
    assert_eq!(declared.len(), 5, "{declared:?}");
    // More than BULK_ROWS new grants in an empty table: the indexes are rebuilt after the insert.
    store
        .import(
            "import",
            None,
            &first,
            time("2026-11-01T00:00:00Z"),
            &actor(),
            |_| Ok(()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.current_estate().await.unwrap(), first);
    assert_eq!(indexes().await, declared);

    // Change every tenth grant: the second snapshot's rows interleave with the first's.
    let mut second = first.clone();
    for grant in second.grants.iter_mut().step_by(10) {
        grant.standing = !grant.standing;
    }
    store
        .import(
            "import",
            None,
            &second,
            time("2026-11-02T00:00:00Z"),
            &actor(),
            |_| Ok(()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.current_estate().await.unwrap(), second);
    assert_eq!(store.estate_at(1).await.unwrap(), first);
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_and_its_wal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let trusted: i64 = sqlx::query_scalar("PRAGMA trusted_schema")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(trusted, 0, "the schema of a database file is not trusted");
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("x.db"), 0o600);
    for side in ["x.db-wal", "x.db-shm"] {
        if dir.path().join(side).exists() {
            assert_eq!(mode(side), 0o600, "{side}");
        }
    }
    store.close().await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn an_existing_database_left_open_to_others_is_made_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    open(&dir).await.close().await.unwrap();
    let db = dir.path().join("x.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = open(&dir).await;
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    store.close().await.unwrap();
}

/// `entity_text` holds exactly the ids and names of the current rows, after adds, changes and
/// removals by two sources, and a failed import leaves it as it was.
#[tokio::test]
async fn search_text_follows_the_current_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let t = time("2026-11-01T00:00:00Z");
    store
        .import("import", None, &estate(FIRST), t, &actor(), |_| Ok(()))
        .await
        .unwrap()
        .unwrap();
    let other = r#"{"bridle":"estate/v1",
     "identities":[{"id":"id:other","kind":"spiffe","name":"Other Service"}]}"#;
    store
        .import(
            "import:other",
            None,
            &estate(other),
            t,
            &actor(),
            |_| Ok(()),
        )
        .await
        .unwrap()
        .unwrap();
    // agent:a renamed, id:b and g2 gone, g3 new.
    let second = FIRST
        .replace(r#""name":"A""#, r#""name":"Renamed Agent""#)
        .replace(
            r#",{"id":"id:b","kind":"service_account","name":"b"}"#,
            "",
        )
        .replace(
            r#"{"id":"g2","subject":"id:b","target":"res:db","actions":["write"],"standing":false}"#,
            r#"{"id":"g3","subject":"id:a","target":"res:db","actions":["write"],"standing":false}"#,
        );
    store
        .import("import", None, &estate(&second), t, &actor(), |_| Ok(()))
        .await
        .unwrap()
        .unwrap();
    let refused = store
        .import("import", None, &Estate::default(), t, &actor(), |_| {
            Err(vec!["no".into()])
        })
        .await
        .unwrap();
    assert!(refused.is_err());

    let mut indexed: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT kind, id, name FROM entity_text ORDER BY id")
            .fetch_all(&store.pool)
            .await
            .unwrap();
    indexed.sort();
    let current = store.current_estate().await.unwrap();
    let mut expected: Vec<(String, String, Option<String>)> = Vec::new();
    expected.extend(
        current
            .agents
            .iter()
            .map(|e| ("agent".into(), e.id.clone(), Some(e.name.clone()))),
    );
    expected.extend(
        current
            .identities
            .iter()
            .map(|e| ("identity".into(), e.id.clone(), Some(e.name.clone()))),
    );
    expected.extend(
        current
            .resources
            .iter()
            .map(|e| ("resource".into(), e.id.clone(), Some(e.name.clone()))),
    );
    expected.extend(
        current
            .grants
            .iter()
            .map(|e| ("grant".into(), e.id.clone(), None)),
    );
    expected.sort();
    assert_eq!(indexed, expected);

    let (hits, matched) = store.search_current("RENAMED", 10).await.unwrap();
    assert_eq!((hits.len(), matched), (1, 1));
    assert_eq!(hits[0].id, "agent:a");
    // Exact id first, then prefixes, then the rest; short text scans.
    let (hits, _) = store.search_current("id:a", 10).await.unwrap();
    assert_eq!(hits[0].id, "id:a");
    let (hits, matched) = store.search_current("g", 10).await.unwrap();
    assert!(hits.iter().any(|h| h.id == "g3") && matched >= 2);
    assert!(!hits.iter().any(|h| h.id == "g2"));
    let (hits, matched) = store.search_current("100%", 10).await.unwrap();
    assert_eq!((hits.len(), matched), (0, 0));
}
