//! Differential test of paged listings: every page the store answers in SQL (sorted, filtered,
//! searched) against the same rows cut from the full listing by a plain reference in Rust, on
//! the demo plus a generated estate, hundreds of queries from a seeded generator.

use std::cmp::Ordering;

use bridle_core::EntityKind;
use bridle_core::time::parse_utc;
use bridle_protocol::console::ColumnFilter;
use bridle_protocol::{ListPage, ListQuery};
use serde_json::Value;

use crate::test_support::{import_generated, with_demo};

/// The scalar columns of each kind (lists sort by their JSON text, which the reference does not
/// model), and which of them are human text or times.
fn scalar_columns(kind: EntityKind) -> &'static [&'static str] {
    match kind {
        EntityKind::Agent => &["name", "owner", "environment", "autonomy"],
        EntityKind::Identity => &["kind", "name", "owner", "provider"],
        EntityKind::Credential => &[
            "identity",
            "kind",
            "issued_at",
            "expires_at",
            "last_rotated",
            "last_used",
            "fingerprint",
        ],
        EntityKind::Resource => &["kind", "name", "sensitivity", "crown_jewel", "environment"],
        EntityKind::Tool => &["name", "server", "runs_as"],
        EntityKind::Grant => &[
            "subject",
            "target",
            "standing",
            "expires_at",
            "conditions",
            "source",
        ],
    }
}

const NOCASE: &[&str] = &["name", "owner", "environment", "provider", "server"];
const TIMES: &[&str] = &[
    "issued_at",
    "expires_at",
    "last_rotated",
    "last_used",
    "first_seen",
];

/// A row's value of `column` from its JSON form (`origin` and `first_seen` sit in
/// `provenance`).
fn value<'a>(row: &'a Value, column: &str) -> &'a Value {
    match column {
        "origin" | "first_seen" => &row["provenance"][column],
        _ => &row[column],
    }
}

/// The value as a filter writes it: flags as yes/no, none as the empty text.
fn printed(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compare(column: &str, a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) if TIMES.contains(&column) => {
            parse_utc(a).unwrap().cmp(&parse_utc(b).unwrap())
        }
        (Value::String(a), Value::String(b)) if NOCASE.contains(&column) => {
            a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase())
        }
        (Value::String(a), Value::String(b)) => a.cmp(b),
        _ => panic!("{column}: cannot compare {a} and {b}"),
    }
}

/// The reference: filter, search and sort the full listing (values present first, in the
/// direction asked; ties and the rows without a value by id in the same direction).
fn reference(rows: &[Value], query: &ListQuery) -> Vec<String> {
    let needle = query.search.to_ascii_lowercase();
    let mut kept: Vec<&Value> = rows
        .iter()
        .filter(|row| {
            query
                .filters
                .iter()
                .all(|f| printed(value(row, &f.column)) == f.value)
        })
        .filter(|row| {
            needle.is_empty()
                || row
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(key, _)| key.as_str() != "provenance")
                    .map(|(_, v)| v)
                    .chain(std::iter::once(&row["provenance"]["origin"]))
                    .any(|v| match v {
                        Value::String(s) => s.to_ascii_lowercase().contains(&needle),
                        Value::Array(_) | Value::Object(_) => {
                            v.to_string().to_ascii_lowercase().contains(&needle)
                        }
                        _ => false,
                    })
        })
        .collect();
    let sort = query.sort.as_deref().unwrap_or("id");
    kept.sort_by(|a, b| {
        let (va, vb) = (value(a, sort), value(b, sort));
        let by_id = || value(a, "id").as_str().cmp(&value(b, "id").as_str());
        let order = match (va.is_null(), vb.is_null()) {
            (false, true) => return Ordering::Less,
            (true, false) => return Ordering::Greater,
            (true, true) => by_id(),
            (false, false) => compare(sort, va, vb).then_with(by_id),
        };
        if query.descending {
            order.reverse()
        } else {
            order
        }
    });
    let from = (query.offset as usize).min(kept.len());
    let to = query
        .limit
        .map_or(kept.len(), |l| (from + l as usize).min(kept.len()));
    kept[from..to]
        .iter()
        .map(|row| row["id"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(page: &ListPage) -> Vec<String> {
    let rows = serde_json::to_value(page).unwrap();
    rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap().to_owned())
        .collect()
}

/// splitmix64: a seeded, dependency-free source of test cases.
struct Cases(u64);

impl Cases {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[tokio::test]
async fn every_page_equals_the_same_slice_of_the_full_listing() {
    let (_dir, bridle) = with_demo().await;
    import_generated(&bridle, 3).await;

    let seed = std::env::var("BRIDLE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026_u64);
    let mut cases = Cases(seed);
    let mut checked = 0;
    for kind in EntityKind::ALL {
        let full = serde_json::to_value(bridle.list(kind).await.unwrap()).unwrap();
        let rows = full["rows"].as_array().unwrap().clone();
        assert!(!rows.is_empty(), "{kind:?} has rows");
        let sortable: Vec<&str> = ["id", "origin", "first_seen"]
            .into_iter()
            .chain(scalar_columns(kind).iter().copied())
            .collect();
        for _ in 0..60 {
            let mut query = ListQuery {
                sort: Some(sortable[cases.below(sortable.len())].to_owned()),
                descending: cases.below(2) == 1,
                offset: cases.below(rows.len() + 3) as u64,
                limit: [None, Some(1), Some(7), Some(50)][cases.below(4)],
                ..ListQuery::default()
            };
            match cases.below(4) {
                0 => {
                    // A filter on a value some row holds.
                    let column = scalar_columns(kind)[cases.below(scalar_columns(kind).len())];
                    let row = &rows[cases.below(rows.len())];
                    let wanted = printed(value(row, column));
                    query.filters.push(ColumnFilter {
                        column: column.to_owned(),
                        value: wanted,
                    });
                    query.offset = cases.below(4) as u64;
                }
                1 => {
                    // A piece of some row's id, in another case.
                    let id = rows[cases.below(rows.len())]["id"].as_str().unwrap();
                    let start = cases.below(id.len());
                    let end = (start + 1 + cases.below(4)).min(id.len());
                    query.search = id[start..end].to_ascii_uppercase();
                    query.offset = 0;
                }
                _ => {}
            }
            let expected = reference(&rows, &query);
            let page = match bridle.list_page(kind, &query).await {
                Ok(page) => page,
                // A filter of "no value" on a column that always has one is refused, not empty.
                Err(e) => {
                    assert!(
                        query.filters.iter().any(|f| f.value.is_empty()),
                        "seed {seed}: {kind:?} {query:?}: {e:?}"
                    );
                    continue;
                }
            };
            assert_eq!(
                ids(&page),
                expected,
                "seed {seed} (BRIDLE_TEST_SEED): {kind:?} {query:?}"
            );
            assert_eq!(page.total, rows.len() as u64);
            let mut everything = query.clone();
            everything.offset = 0;
            everything.limit = None;
            assert_eq!(
                page.matched,
                reference(&rows, &everything).len() as u64,
                "seed {seed}: {kind:?} {query:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} queries were compared");
}

#[tokio::test]
async fn entity_pages_by_point_queries_name_what_the_full_scan_named() {
    let (_dir, bridle) = with_demo().await;
    let estate = bridle.estate(None).await.unwrap();
    let mut ids: Vec<String> = Vec::new();
    ids.extend(estate.agents.iter().map(|e| e.id.clone()));
    ids.extend(estate.identities.iter().map(|e| e.id.clone()));
    ids.extend(estate.credentials.iter().map(|e| e.id.clone()));
    ids.extend(estate.resources.iter().map(|e| e.id.clone()));
    ids.extend(estate.tools.iter().map(|e| e.id.clone()));
    for id in &ids {
        let detail = bridle.show(id).await.unwrap();
        let out: Vec<&str> = estate
            .grants
            .iter()
            .filter(|g| g.subject == *id)
            .map(|g| g.id.as_str())
            .collect();
        let shown: Vec<&str> = detail.grants_out.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(shown, out, "{id}: grants out");
        let into: Vec<&str> = estate
            .grants
            .iter()
            .filter(|g| g.target == *id)
            .map(|g| g.id.as_str())
            .collect();
        let shown: Vec<&str> = detail.grants_in.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(shown, into, "{id}: grants in");
        let held: Vec<&String> = estate
            .resources
            .iter()
            .filter(|r| r.id == *id)
            .flat_map(|r| &r.holds_credentials)
            .collect();
        let credentials: Vec<&str> = estate
            .credentials
            .iter()
            .filter(|c| c.identity == *id || held.contains(&&c.id))
            .map(|c| c.id.as_str())
            .collect();
        let shown: Vec<&str> = detail.credentials.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(shown, credentials, "{id}: credentials");
        let tools: Vec<&str> = estate
            .tools
            .iter()
            .filter(|t| {
                t.runs_as.as_deref() == Some(id.as_str())
                    || t.acts_on.iter().any(|a| a.resource == *id)
            })
            .map(|t| t.id.as_str())
            .collect();
        let shown: Vec<&str> = detail.tools.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(shown, tools, "{id}: tools");
        let mut referencing = 0;
        referencing += estate
            .agents
            .iter()
            .filter(|a| a.runs_as.contains(id))
            .count();
        referencing += estate
            .resources
            .iter()
            .map(|r| {
                usize::from(r.runs_as.contains(id)) + usize::from(r.holds_credentials.contains(id))
            })
            .sum::<usize>();
        assert_eq!(
            detail.referenced_by.len(),
            referencing,
            "{id}: referenced by"
        );
    }
    assert!(bridle.show("agent:does-not-exist").await.is_err());
}

/// The dashboard's figures, counted in SQL, equal the same rules applied to the loaded estate,
/// including at the boundaries (a grant's expiry, a credential's rotation limit exactly).
#[tokio::test]
async fn overview_figures_counted_in_sql_equal_the_rules_on_the_loaded_estate() {
    let (_dir, bridle) = with_demo().await;
    import_generated(&bridle, 5).await;
    let estate = bridle.estate(None).await.unwrap();
    let limit = chrono::Duration::days(i64::from(bridle.settings.rotation_limit_days));
    let mut times = vec![parse_utc("2026-06-01T00:00:00Z").unwrap(), crate::now()];
    times.extend(estate.grants.iter().filter_map(|g| g.expires_at).take(5));
    times.extend(
        estate
            .credentials
            .iter()
            .filter_map(|c| c.last_rotated.or(c.issued_at))
            .take(5)
            .map(|t| t + limit),
    );
    for at in times {
        let overview = bridle.overview(at).await.unwrap();
        let long_lived = estate
            .credentials
            .iter()
            .filter(|c| {
                let age_from = c.last_rotated.or(c.issued_at);
                c.expires_at.is_none() || age_from.is_some_and(|from| at - from > limit)
            })
            .count() as u64;
        let standing = estate
            .grants
            .iter()
            .filter(|g| g.standing && !g.is_expired_at(at))
            .count() as u64;
        let ownerless = estate.agents.iter().filter(|a| a.owner.is_none()).count() as u64;
        assert_eq!(overview.long_lived_credentials, long_lived, "at {at}");
        assert_eq!(overview.standing_grants, standing, "at {at}");
        assert_eq!(overview.agents_without_owner, ownerless);
        assert_eq!(overview.counts.grants, estate.grants.len() as u64);
        assert_eq!(overview.counts.agents, estate.agents.len() as u64);
    }
}

/// `reach --json` streamed from the tree is byte for byte the materialised report, for every
/// agent of the demo and of a generated estate.
#[tokio::test]
async fn streamed_reach_json_equals_the_materialised_report() {
    let (_dir, bridle) = with_demo().await;
    import_generated(&bridle, 9).await;
    let at = parse_utc("2026-06-01T00:00:00Z").unwrap();
    let estate = bridle.estate(None).await.unwrap();
    let mut compared = 0;
    for agent in &estate.agents {
        let materialised =
            serde_json::to_string_pretty(&bridle.reach(&agent.id, at).await.unwrap()).unwrap();
        let tree = bridle.reach_tree(&agent.id, at).await.unwrap();
        let streamed = serde_json::to_string_pretty(&crate::ReachJson(&tree)).unwrap();
        assert_eq!(streamed, materialised, "{}", agent.id);
        compared += usize::from(!tree.reachable.is_empty());
    }
    assert!(compared > 10, "only {compared} agents reach anything");
}
