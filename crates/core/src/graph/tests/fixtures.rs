//! One fixture per rule and edge case, each rendered as text and compared with its snapshot
//! (`UPDATE_EXPECT=1 cargo test -p bridle-core` rewrites the snapshots).

use expect_test::{Expect, expect};

use super::*;

fn join(reasons: &[EdgeReason]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Renders `reach` from each of `sources` in the fixture `name`.
fn check(name: &str, sources: &[&str], expected: Expect) {
    let graph = graph(name);
    let rendered: String = sources
        .iter()
        .map(|source| render_reach(&graph.reach(source).unwrap()))
        .collect();
    expected.assert_eq(&rendered);
}

#[test]
fn rule1_an_agent_reaches_its_runs_as_identities() {
    check(
        "rule1-agent-runs-as.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          id:a1 identity hops=1 path=agent:a > id:a1
          id:a2 identity hops=1 path=agent:a > id:a2
    "#]],
    );
}

#[test]
fn rule2_grants_by_target_kind() {
    check(
        "rule2-grants.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          agent:d agent hops=2 path=agent:a > id:a > agent:d
          id:a identity hops=1 path=agent:a > id:a
          id:b identity hops=2 path=agent:a > id:a > id:b
          id:c identity hops=2 path=agent:a > id:a > id:c
          res:direct resource [admin] hops=1 path=agent:a > res:direct
          res:r resource [read,write] hops=2 path=agent:a > id:a > res:r
          tool:t tool hops=2 path=agent:a > id:a > tool:t
    "#]],
    );
}

#[test]
fn rule3_a_tool_reaches_its_identity_and_acts_on() {
    check(
        "rule3-tools.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          id:t identity hops=2 path=agent:a > tool:t > id:t
          res:x resource [read] hops=2 path=agent:a > tool:t > res:x
          res:y resource [admin,write] hops=2 path=agent:a > tool:t > res:y
          res:z resource [read] hops=3 path=agent:a > tool:t > id:t > res:z
          tool:t tool hops=1 path=agent:a > tool:t
    "#]],
    );
}

#[test]
fn rule4_read_or_admin_yields_held_credentials() {
    check(
        "rule4-holds-credentials.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          cred:1 credential hops=3 path=agent:a > id:a > res:s1-read > cred:1
          cred:2 credential hops=3 path=agent:a > id:a > res:s2-admin > cred:2
          id:1 identity hops=4 path=agent:a > id:a > res:s1-read > cred:1 > id:1
          id:2 identity hops=4 path=agent:a > id:a > res:s2-admin > cred:2 > id:2
          id:a identity hops=1 path=agent:a > id:a
          res:s1-read resource [read] hops=2 path=agent:a > id:a > res:s1-read
          res:s2-admin resource [admin] hops=2 path=agent:a > id:a > res:s2-admin
          res:s3-write resource [write] hops=2 path=agent:a > id:a > res:s3-write
    "#]],
    );
}

#[test]
fn rule5_write_or_admin_yields_the_runs_as_identity() {
    check(
        "rule5-resource-runs-as.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          id:1 identity hops=3 path=agent:a > id:a > res:p1-write > id:1
          id:2 identity hops=3 path=agent:a > id:a > res:p2-admin > id:2
          id:a identity hops=1 path=agent:a > id:a
          res:p1-write resource [write] hops=2 path=agent:a > id:a > res:p1-write
          res:p2-admin resource [admin] hops=2 path=agent:a > id:a > res:p2-admin
          res:p3-read resource [read] hops=2 path=agent:a > id:a > res:p3-read
    "#]],
    );
}

#[test]
fn rule6_a_credential_reaches_its_identity() {
    check(
        "rule6-credential-identity.json",
        &["cred:c"],
        expect![[r#"
        reach cred:c
          cred:d credential hops=3 path=cred:c > id:c > res:vault > cred:d
          id:c identity hops=1 path=cred:c > id:c
          id:d identity hops=4 path=cred:c > id:c > res:vault > cred:d > id:d
          res:jewel resource [read] hops=5 path=cred:c > id:c > res:vault > cred:d > id:d > res:jewel
          res:vault resource [read] hops=2 path=cred:c > id:c > res:vault
    "#]],
    );
}

#[test]
fn rule7_read_and_write_without_holds_or_runs_as_end_the_path() {
    check(
        "rule7-nothing-else.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          id:a identity hops=1 path=agent:a > id:a
          res:plain resource [admin,read,write] hops=2 path=agent:a > id:a > res:plain
    "#]],
    );
}

#[test]
fn admin_does_not_imply_assume() {
    check(
        "admin-does-not-imply-assume.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          id:a identity hops=1 path=agent:a > id:a
          id:runner identity hops=3 path=agent:a > id:a > res:pipeline > id:runner
          res:pipeline resource [admin] hops=2 path=agent:a > id:a > res:pipeline
    "#]],
    );
}

#[test]
fn expired_grants_are_not_edges() {
    check(
        "expired-grant.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          id:a identity hops=1 path=agent:a > id:a
          res:future resource [read] hops=2 path=agent:a > id:a > res:future
          res:never resource [write] hops=2 path=agent:a > id:a > res:never
    "#]],
    );
}

#[test]
fn expired_credentials_yield_no_identity() {
    check(
        "expired-credential.json",
        &["agent:a", "cred:old", "cred:now", "cred:live"],
        expect![[r#"
            reach agent:a
              cred:live credential hops=3 path=agent:a > id:a > res:vault > cred:live
              cred:now credential hops=3 path=agent:a > id:a > res:vault > cred:now
              cred:old credential hops=3 path=agent:a > id:a > res:vault > cred:old
              id:a identity hops=1 path=agent:a > id:a
              id:live identity hops=4 path=agent:a > id:a > res:vault > cred:live > id:live
              res:vault resource [read] hops=2 path=agent:a > id:a > res:vault
            reach cred:old
            reach cred:now
            reach cred:live
              id:live identity hops=1 path=cred:live > id:live
        "#]],
    );
}

#[test]
fn meaningless_actions_are_not_edges() {
    check(
        "meaningless-actions.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          id:a identity hops=1 path=agent:a > id:a
          res:mixed resource [read] hops=2 path=agent:a > id:a > res:mixed
          res:q resource [write] hops=2 path=agent:a > tool:u > res:q
          tool:u tool hops=1 path=agent:a > tool:u
    "#]],
    );
}

#[test]
fn read_side_and_write_side_count_hops_separately() {
    check(
        "read-write-sides.json",
        &["agent:x"],
        expect![[r#"
        reach agent:x
          cred:c credential hops=4 path=agent:x > id:a > id:b > res:r > cred:c
          id:a identity hops=1 path=agent:x > id:a
          id:b identity hops=2 path=agent:x > id:a > id:b
          id:c identity hops=5 path=agent:x > id:a > id:b > res:r > cred:c > id:c
          id:run identity hops=3 path=agent:x > id:a > res:r > id:run
          res:r resource [read,write] hops=2 path=agent:x > id:a > res:r
    "#]],
    );
}

#[test]
fn a_cycle_back_never_lists_the_source() {
    check(
        "cycle-back.json",
        &["agent:x", "id:x"],
        expect![[r#"
        reach agent:x
          cred:x credential hops=3 path=agent:x > id:x > res:vault > cred:x
          id:x identity hops=1 path=agent:x > id:x
          id:y identity hops=2 path=agent:x > id:x > id:y
          res:vault resource [read] hops=2 path=agent:x > id:x > res:vault
        reach id:x
          agent:x agent hops=1 path=id:x > agent:x
          cred:x credential hops=2 path=id:x > res:vault > cred:x
          id:y identity hops=1 path=id:x > id:y
          res:vault resource [read] hops=1 path=id:x > res:vault
    "#]],
    );
}

#[test]
fn several_ways_give_the_union_of_actions_at_the_fewest_hops() {
    check(
        "union-of-actions.json",
        &["agent:x"],
        expect![[r#"
        reach agent:x
          id:a identity hops=1 path=agent:x > id:a
          res:r resource [read,write] hops=2 path=agent:x > id:a > res:r
          tool:t tool hops=2 path=agent:x > id:a > tool:t
    "#]],
    );
}

#[test]
fn delegation_chains() {
    check(
        "delegation-chain.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          agent:b agent hops=1 path=agent:a > agent:b
          agent:c agent hops=2 path=agent:a > agent:b > agent:c
          agent:d agent hops=4 path=agent:a > agent:b > agent:c > id:c > agent:d
          id:c identity hops=3 path=agent:a > agent:b > agent:c > id:c
          res:r resource [read] hops=4 path=agent:a > agent:b > agent:c > id:c > res:r
    "#]],
    );
}

#[test]
fn a_tool_without_runs_as_acts_only_through_acts_on() {
    check(
        "tool-null-runs-as.json",
        &["agent:a"],
        expect![[r#"
        reach agent:a
          cred:k credential hops=3 path=agent:a > tool:t > res:r > cred:k
          id:k identity hops=4 path=agent:a > tool:t > res:r > cred:k > id:k
          res:r resource [read] hops=2 path=agent:a > tool:t > res:r
          tool:t tool hops=1 path=agent:a > tool:t
    "#]],
    );
}

#[test]
fn unknown_and_wrong_kind_sources_are_typed_errors() {
    let graph = graph("rule3-tools.json");
    expect![[r#"
        (
            UnknownId(
                "agent:nobody",
            ),
            WrongKind {
                id: "tool:t",
                kind: Tool,
                expected: "an agent, identity or credential",
            },
            UnknownId(
                "res:nowhere",
            ),
        )
    "#]]
    .assert_debug_eq(&(
        graph.reach("agent:nobody").unwrap_err(),
        graph.reach("tool:t").unwrap_err(),
        graph.who_can_reach("res:nowhere").unwrap_err(),
    ));
}

#[test]
fn paths_shortest_first_with_the_grants_behind_each_step() {
    let graph = graph("chokepoints.json");
    let mut out = String::new();
    for (from, to) in [
        ("agent:a", "res:ledger"),
        ("agent:b", "res:db"),
        ("agent:c", "id:a"),
    ] {
        let paths = graph.paths(from, to, 5, 8).unwrap();
        writeln!(
            out,
            "{from} -> {to}: shortest={:?} truncated={}",
            paths.shortest, paths.truncated
        )
        .unwrap();
        for path in &paths.paths {
            let steps: Vec<String> = path
                .via
                .iter()
                .map(|reasons| {
                    reasons
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect();
            writeln!(
                out,
                "  {} hops: {}\n    via {}",
                path.hops,
                path.nodes.join(" > "),
                steps.join(" ; ")
            )
            .unwrap();
        }
    }
    let limited = graph.paths("agent:b", "res:db", 5, 2).unwrap();
    writeln!(
        out,
        "agent:b -> res:db within 2 hops: {}",
        limited.paths.len()
    )
    .unwrap();
    expect![[r#"
        agent:a -> res:ledger: shortest=Some(5) truncated=false
          5 hops: agent:a > id:a > res:vault > cred:svc > id:svc > res:ledger
            via runs_as ; grant g-a-vault (read) ; holds_credentials ; credential identity ; grant g-svc-ledger (read,write)
        agent:b -> res:db: shortest=Some(2) truncated=false
          2 hops: agent:b > id:b > res:db
            via runs_as ; grant g-b-db (read)
          5 hops: agent:b > id:b > res:vault > cred:svc > id:svc > res:db
            via runs_as ; grant g-b-vault (read) ; holds_credentials ; credential identity ; grant g-svc-db (read)
        agent:c -> id:a: shortest=None truncated=false
        agent:b -> res:db within 2 hops: 1
    "#]].assert_eq(&out);
}

#[test]
fn who_can_reach_lists_agents_identities_and_credentials_with_hops() {
    let graph = graph("chokepoints.json");
    let mut out = String::new();
    for target in ["res:ledger", "id:svc"] {
        let who = graph.who_can_reach(target).unwrap();
        writeln!(out, "{target}:").unwrap();
        for source in &who.sources {
            writeln!(
                out,
                "  {} {} hops={}",
                source.source, source.kind, source.hops
            )
            .unwrap();
        }
    }
    expect![[r#"
        res:ledger:
          agent:a agent hops=5
          agent:b agent hops=5
          agent:c agent hops=2
          cred:svc credential hops=2
          id:a identity hops=4
          id:b identity hops=4
          id:c identity hops=1
          id:svc identity hops=1
        id:svc:
          agent:a agent hops=4
          agent:b agent hops=4
          agent:c agent hops=3
          cred:svc credential hops=1
          id:a identity hops=3
          id:b identity hops=3
          id:c identity hops=2
    "#]]
    .assert_eq(&out);
}

#[test]
fn blast_radius_riskiest_first() {
    let graph = graph("chokepoints.json");
    let mut out = String::new();
    let radius = graph.blast_radius(true);
    for entry in &radius.entries {
        writeln!(
            out,
            "{} {} resources={} worst={:?} jewels=[{}]",
            entry.source,
            entry.kind,
            entry.resources,
            entry.worst_sensitivity.map(|s| s.as_str()),
            radius.jewel_ids(entry).collect::<Vec<_>>().join(", ")
        )
        .unwrap();
    }
    for hops in graph.blast_radius_hops() {
        writeln!(
            out,
            "{} max_hops={} reached={}",
            hops.source, hops.max_hops, hops.reached
        )
        .unwrap();
    }
    expect![[r#"
        agent:a agent resources=3 worst=Some("restricted") jewels=[res:db, res:ledger]
        agent:b agent resources=3 worst=Some("restricted") jewels=[res:db, res:ledger]
        agent:c agent resources=3 worst=Some("restricted") jewels=[res:db, res:ledger]
        cred:svc credential resources=2 worst=Some("restricted") jewels=[res:db, res:ledger]
        agent:a max_hops=5 reached=6
        agent:b max_hops=5 reached=6
        agent:c max_hops=4 reached=6
    "#]]
    .assert_eq(&out);
}

#[test]
fn chokepoints_with_exact_cuts_and_a_greedy_set() {
    let graph = graph("chokepoints.json");
    let chokepoints = graph.chokepoints(20);
    let mut out = format!("total pairs {}\n", chokepoints.total_pairs);
    for c in &chokepoints.items {
        writeln!(out, "  cuts {}: {:?}", c.cut_pairs, c.item).unwrap();
    }
    let set = graph.chokepoint_set(3);
    writeln!(out, "greedy set, combined cut {}:", set.combined_cut).unwrap();
    for c in &set.items {
        writeln!(out, "  +{}: {:?}", c.cut_pairs, c.item).unwrap();
    }
    expect![[r#"
        total pairs 6
          cuts 3: Credential { id: "cred:svc", identity: "id:svc" }
          cuts 3: Holding { resource: "res:vault", credential: "cred:svc" }
          cuts 2: Grant { id: "g-a-vault", subject: "id:a", target: "res:vault" }
          cuts 2: Grant { id: "g-svc-db", subject: "id:svc", target: "res:db" }
          cuts 2: Grant { id: "g-svc-ledger", subject: "id:svc", target: "res:ledger" }
          cuts 1: Grant { id: "g-b-vault", subject: "id:b", target: "res:vault" }
          cuts 1: Grant { id: "g-c-tool", subject: "id:c", target: "tool:t" }
        greedy set, combined cut 5:
          +3: Credential { id: "cred:svc", identity: "id:svc" }
          +1: Grant { id: "g-b-db", subject: "id:b", target: "res:db" }
          +1: Grant { id: "g-c-tool", subject: "id:c", target: "tool:t" }
    "#]]
    .assert_eq(&out);
}

#[test]
fn what_if_lists_lost_and_shrunk_pairs() {
    let graph = graph("chokepoints.json");
    let what_if = graph
        .what_if(&["g-svc-ledger".to_owned()], &["cred:svc".to_owned()])
        .unwrap();
    let mut out = String::new();
    for lost in &what_if.lost {
        writeln!(
            out,
            "lost {} {} [{}]",
            lost.agent, lost.resource, lost.actions
        )
        .unwrap();
    }
    for shrunk in &what_if.shrunk {
        writeln!(
            out,
            "shrunk {} {} [{}] -> [{}]",
            shrunk.agent, shrunk.resource, shrunk.before, shrunk.after
        )
        .unwrap();
    }
    writeln!(out, "kept {}", what_if.kept).unwrap();
    writeln!(
        out,
        "{:?}",
        (
            graph.what_if(&["g-nope".to_owned()], &[]).unwrap_err(),
            graph.what_if(&[], &["res:db".to_owned()]).unwrap_err(),
        )
    )
    .unwrap();
    expect![[r#"
        lost agent:a res:db [read]
        lost agent:a res:ledger [read,write]
        lost agent:b res:ledger [read,write]
        shrunk agent:c res:ledger [read,write] -> [read]
        kept 5
        (UnknownId("g-nope"), WrongKind { id: "res:db", kind: Resource, expected: "a credential" })
    "#]]
    .assert_eq(&out);
}

#[test]
fn edge_reasons_name_the_grants() {
    let graph = graph("chokepoints.json");
    let mut out = String::new();
    for (from, to) in [
        ("id:svc", "res:ledger"),
        ("res:vault", "cred:svc"),
        ("agent:a", "id:a"),
    ] {
        let reasons = graph.edge_reasons(from, to).unwrap();
        writeln!(out, "{from} -> {to}: {}", join(&reasons)).unwrap();
    }
    expect![[r#"
        id:svc -> res:ledger: grant g-svc-ledger (read,write)
        res:vault -> cred:svc: holds_credentials
        agent:a -> id:a: runs_as
    "#]]
    .assert_eq(&out);
}

#[test]
fn neighbourhood_and_layout() {
    let graph = graph("chokepoints.json");
    let subgraph = graph.neighbourhood("agent:c", 100).unwrap();
    let placed = layout(&subgraph);
    let mut out = String::new();
    for node in &placed.nodes {
        writeln!(
            out,
            "{} layer={} order={} at=({}, {})",
            node.id, node.layer, node.order, node.x, node.y
        )
        .unwrap();
    }
    for edge in &placed.edges {
        let reasons = &subgraph.edges[edge.edge].reasons;
        writeln!(
            out,
            "{} -> {} via {}",
            placed.nodes[edge.from].id,
            placed.nodes[edge.to].id,
            join(reasons)
        )
        .unwrap();
    }
    writeln!(
        out,
        "crossings={} truncated={:?}",
        placed.crossings, placed.truncated
    )
    .unwrap();
    let small = graph.neighbourhood("agent:c", 3).unwrap();
    let ids: Vec<&str> = small.nodes.iter().map(|n| n.id.as_str()).collect();
    writeln!(out, "capped at 3: {ids:?}, omitted {}", small.omitted).unwrap();
    let capped = layout_with_cap(&subgraph, 4);
    writeln!(
        out,
        "layout capped at 4: {}",
        capped.truncated.map(|t| t.summary()).unwrap_or_default()
    )
    .unwrap();
    expect![[r#"
        agent:c layer=0 order=0 at=(0, 32)
        id:c layer=1 order=0 at=(240, 32)
        res:ledger layer=2 order=0 at=(480, 0)
        tool:t layer=2 order=1 at=(480, 64)
        id:svc layer=3 order=0 at=(720, 0)
        res:wiki layer=3 order=1 at=(720, 64)
        res:db layer=4 order=0 at=(960, 32)
        agent:c -> id:c via runs_as
        id:c -> res:ledger via grant g-c-ledger (read)
        id:c -> tool:t via grant g-c-tool (invoke)
        id:svc -> res:db via grant g-svc-db (read)
        id:svc -> res:ledger via grant g-svc-ledger (read,write)
        tool:t -> id:svc via tool runs_as
        tool:t -> res:wiki via tool acts_on (read)
        crossings=0 truncated=None
        capped at 3: ["agent:c", "id:c", "res:ledger"], omitted 4
        layout capped at 4: truncated: 3 more nodes (showing the nearest 4 and every crown jewel path that fits)
    "#]].assert_eq(&out);
}
