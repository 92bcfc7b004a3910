//! The audit log against someone who can write the database file but does not hold the key.

use bridle_core::risk::Treatment;

use super::*;
use crate::NewRisk;
use crate::tests::{actor, open, time};

fn risk(title: &str) -> NewRisk {
    NewRisk {
        title: title.into(),
        description: "d".into(),
        categories: Vec::new(),
        likelihood: 3,
        impact: 4,
        residual_likelihood: None,
        residual_impact: None,
        owner: None,
        treatment: Treatment::Mitigate,
        due: None,
        findings: Vec::new(),
        controls: Vec::new(),
        agents: Vec::new(),
    }
}

async fn sql(store: &Store, statement: &'static str) {
    sqlx::raw_sql(statement).execute(&store.pool).await.unwrap();
}

/// What a forger does with the published scheme: edit entry `seq` and recompute every hash
/// after it, and the anchor's head (the anchor's MAC needs the key, which the forger lacks).
async fn forge(store: &Store, seq: i64, new_detail: &str) {
    sqlx::query("UPDATE audit_log SET detail = ? WHERE seq = ?")
        .bind(new_detail)
        .bind(seq)
        .execute(&store.pool)
        .await
        .unwrap();
    let rows: Vec<(i64, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT seq, at, user, host, action, subject, detail FROM audit_log ORDER BY seq",
    )
    .fetch_all(&store.pool)
    .await
    .unwrap();
    let mut prev = genesis_hash(store.database_id());
    for (seq, at, user, host, action, subject, detail) in rows {
        let hash = EntryFields {
            prev_hash: &prev,
            seq,
            at: &at,
            user: &user,
            host: &host,
            action: &action,
            subject: &subject,
            detail: &detail,
        }
        .hash();
        sqlx::query("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?")
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(&store.pool)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_anchor SET head_hash = ?")
        .bind(&prev)
        .execute(&store.pool)
        .await
        .unwrap();
}

fn refused(result: Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(e @ StoreError::AuditBroken { .. }) => e.to_string(),
        other => panic!("the write was not refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_forged_entry_stays_broken_after_the_next_write_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let t = time("2026-11-01T00:00:00Z");
    store.add_risk(&risk("one"), t, &actor()).await.unwrap();
    store.add_risk(&risk("two"), t, &actor()).await.unwrap();
    forge(&store, 1, "{\"forged\":true}").await;
    let verified = store.verify_audit().await.unwrap();
    assert!(!verified.intact());

    // The owner's next ordinary write is refused, naming what broke; nothing re-signs the head.
    let message = refused(store.comment_risk(1, "hello", t, &actor()).await);
    assert!(message.contains("authentication code"), "{message}");
    assert!(!store.verify_audit().await.unwrap().intact());

    // An acknowledgement needs a reason, records the break and starts a new segment.
    assert!(store.acknowledge_audit(" ", t, &actor()).await.is_err());
    let acknowledged = store
        .acknowledge_audit("restored after the 2026-11 incident", t, &actor())
        .await
        .unwrap();
    assert!(!acknowledged.problems.is_empty());
    let verified = store.verify_audit().await.unwrap();
    assert!(verified.intact(), "{:?}", verified.problems);
    assert_eq!(verified.acknowledged.len(), 1, "the break stays visible");
    assert_eq!(
        verified.acknowledged[0].reason,
        "restored after the 2026-11 incident"
    );

    // Writing works again, and the acknowledged range may not change afterwards.
    store.comment_risk(1, "after", t, &actor()).await.unwrap();
    sql(&store, "UPDATE audit_log SET detail = '{}' WHERE seq = 2").await;
    let verified = store.verify_audit().await.unwrap();
    assert!(
        verified
            .problems
            .iter()
            .any(|p| p.contains("changed after entry")),
        "{:?}",
        verified.problems
    );
    // On an intact log there is nothing to acknowledge.
    let fresh = tempfile::tempdir().unwrap();
    let other = open(&fresh).await;
    other.add_risk(&risk("x"), t, &actor()).await.unwrap();
    assert!(matches!(
        other.acknowledge_audit("why", t, &actor()).await,
        Err(StoreError::AuditIntact(_))
    ));
}

#[tokio::test]
async fn a_copy_restored_from_an_older_backup_or_an_emptied_log_fails() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let t = time("2026-11-01T00:00:00Z");
    store.add_risk(&risk("one"), t, &actor()).await.unwrap();
    let backup = dir.path().join("backup.db");
    sqlx::query("VACUUM INTO ?")
        .bind(backup.to_string_lossy().into_owned())
        .execute(&store.pool)
        .await
        .unwrap();
    store.add_risk(&risk("two"), t, &actor()).await.unwrap();
    store.close().await.unwrap();

    // The older copy put back over the database.
    let db = dir.path().join("x.db");
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(dir.path().join(format!("x.db{suffix}")));
    }
    fs::copy(&backup, &db).unwrap();
    let store = open(&dir).await;
    let verified = store.verify_audit().await.unwrap();
    assert!(
        verified
            .problems
            .iter()
            .any(|p| p.contains("entries were removed")),
        "{:?}",
        verified.problems
    );
    refused(store.add_risk(&risk("three"), t, &actor()).await);

    // An emptied log (and anchor) in a database that had one.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    store.add_risk(&risk("one"), t, &actor()).await.unwrap();
    sql(&store, "DELETE FROM risk_events; DELETE FROM risk_versions; DELETE FROM risks; DELETE FROM audit_log; DELETE FROM audit_anchor;").await;
    let verified = store.verify_audit().await.unwrap();
    assert!(!verified.intact());
    assert!(
        verified
            .problems
            .iter()
            .any(|p| p.contains("entries were removed")),
        "{:?}",
        verified.problems
    );
}

#[tokio::test]
async fn a_direct_edit_of_a_risk_is_reported_with_its_row_and_blocks_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let t = time("2026-11-01T00:00:00Z");
    store.add_risk(&risk("one"), t, &actor()).await.unwrap();
    store
        .comment_risk(1, "a comment", t, &actor())
        .await
        .unwrap();
    assert!(store.verify_audit().await.unwrap().intact());
    sql(
        &store,
        "UPDATE risks SET status = 'accepted', treatment = 'accept', accepted_by = 'mallory', \
         acceptance_expires = '2027-01-01T00:00:00Z' WHERE id = 1",
    )
    .await;
    let verified = store.verify_audit().await.unwrap();
    assert!(
        verified
            .problems
            .iter()
            .any(|p| p.contains("risk R-1 (row risks/1) was changed outside Bridle")),
        "{:?}",
        verified.problems
    );
    let message = refused(store.comment_risk(1, "more", t, &actor()).await);
    assert!(message.contains("risk R-1"), "{message}");
    // A row inserted behind Bridle's back, too.
    sql(
        &store,
        "INSERT INTO risks (id, title, description, categories, likelihood, impact, treatment, \
         status, findings, controls, agents, created_at, updated_at) VALUES (7, 't', 'd', '[]', \
         1, 1, 'mitigate', 'open', '[]', '[]', '[]', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')",
    )
    .await;
    let verified = store.verify_audit().await.unwrap();
    assert!(
        verified
            .problems
            .iter()
            .any(|p| p.contains("risk R-7 (row risks/7) was added outside Bridle")),
        "{:?}",
        verified.problems
    );
}
