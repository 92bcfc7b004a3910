//! The OpenBao/Vault broker end to end: a real `bao` dev server configured through its API
//! (approle, jwt, kubernetes and token roles, policies with globs, `+` and deny, KV v2 secrets,
//! identity entities and groups, several tokens), synced by the real `bridle` binary into a real
//! SQLite file; drift, revocation, unknown parts, and the faults a sync must survive.

use std::path::Path;

use serde_json::{Value, json};

use crate::broker_support::{Bao, Fault, Proxy, random_value};
use crate::support::{Sandbox, with_suffix};

fn find<'a>(rows: &'a [Value], id: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r["id"] == id)
}

fn get<'a>(rows: &'a [Value], id: &str) -> &'a Value {
    find(rows, id).unwrap_or_else(|| {
        let ids: Vec<&Value> = rows.iter().map(|r| &r["id"]).collect();
        panic!("no `{id}` among {ids:?}")
    })
}

fn observations(sandbox: &Sandbox, profile: &str, kind: &str) -> Vec<Value> {
    let run = sandbox.bridle(&["broker", "observations", profile, "--kind", kind, "--json"]);
    run.ok();
    run.json().as_array().cloned().unwrap_or_default()
}

fn sync(sandbox: &Sandbox, profile: &str, env: &[(&str, &Path)]) -> Value {
    let db = sandbox.db();
    let args: Vec<&std::ffi::OsStr> = vec![
        "--db".as_ref(),
        db.as_os_str(),
        "sync".as_ref(),
        profile.as_ref(),
        "--json".as_ref(),
    ];
    let run = sandbox.bridle_with(&args, env);
    assert!(
        run.code == 0 || run.code == 1,
        "sync exited {}: {}",
        run.code,
        run.stderr
    );
    run.json()
}

/// The whole configuration of the first test, through the real API.
struct Estate {
    approle_accessor: String,
    entity: String,
    group: String,
    orphan: (String, String),
    limited: (String, String),
    victim: (String, String),
    blocked: (String, String),
    secret_values: Vec<String>,
}

fn configure(bao: &Bao) -> Estate {
    bao.run(&["auth", "enable", "approle"]);
    bao.run(&["auth", "enable", "jwt"]);
    bao.run(&["auth", "enable", "kubernetes"]);
    bao.policy(
        "app",
        r#"
path "secret/data/app/*" {
  capabilities = ["read", "list"]
}
path "secret/data/+/config" {
  capabilities = ["create", "update"]
}
path "secret/data/app/admin" {
  capabilities = ["deny"]
}
"#,
    );
    bao.policy(
        "reader",
        "path \"secret/data/shared/*\" {\n  capabilities = [\"read\"]\n}\n",
    );
    bao.policy(
        "guard",
        "path \"secret/data/shared/root-ca\" {\n  capabilities = [\"deny\"]\n}\n",
    );
    bao.policy(
        "blocker",
        "path \"secret/*\" {\n  capabilities = [\"deny\"]\n}\n",
    );
    // Reads everything a sync needs except what takes sudo (token accessors, leases).
    bao.policy(
        "limited",
        r#"
path "sys/*" { capabilities = ["read", "list"] }
path "auth/*" { capabilities = ["read", "list"] }
path "identity/*" { capabilities = ["read", "list"] }
path "secret/*" { capabilities = ["read", "list"] }
"#,
    );
    bao.write_json(
        "auth/approle/role/ci",
        &json!({"token_policies": ["app"], "token_ttl": "1h", "token_max_ttl": "4h", "secret_id_ttl": "10m"}),
    );
    bao.write_json(
        "auth/jwt/role/agent",
        &json!({
            "role_type": "jwt", "user_claim": "sub", "bound_audiences": ["bridle"],
            "bound_claims": {"team": "ml"}, "token_policies": ["reader"],
            "token_ttl": "15m", "token_max_ttl": "1h"
        }),
    );
    bao.write_json(
        "auth/kubernetes/role/agents",
        &json!({
            "bound_service_account_names": ["agent"], "bound_service_account_namespaces": ["ml"],
            "token_policies": ["reader"], "token_ttl": "20m"
        }),
    );
    bao.write_json(
        "auth/token/roles/deployer",
        &json!({"allowed_policies": ["reader"], "orphan": true, "token_explicit_max_ttl": "2h"}),
    );
    let mut secret_values = Vec::new();
    for (path, key) in [
        ("secret/app/db", "password"),
        ("secret/app/admin", "token"),
        ("secret/shared/root-ca", "key"),
        ("secret/shared/readme", "text"),
        ("secret/team/config", "dsn"),
    ] {
        let value = random_value("kvsecret");
        bao.run(&["kv", "put", path, &format!("{key}={value}")]);
        secret_values.push(value);
    }
    let entity: Value = serde_json::from_str(&bao.run(&[
        "write",
        "-format=json",
        "identity/entity",
        "name=ml-agent",
        "policies=reader",
    ]))
    .unwrap();
    let entity = entity["data"]["id"].as_str().unwrap().to_owned();
    let auths: Value = serde_json::from_str(&bao.run(&["auth", "list", "-format=json"])).unwrap();
    let approle_accessor = auths["approle/"]["accessor"].as_str().unwrap().to_owned();
    bao.run(&[
        "write",
        "identity/entity-alias",
        "name=ci-runner",
        &format!("mount_accessor={approle_accessor}"),
        &format!("canonical_id={entity}"),
    ]);
    let group: Value = serde_json::from_str(&bao.run(&[
        "write",
        "-format=json",
        "identity/group",
        "name=ml-team",
        "policies=app",
        &format!("member_entity_ids={entity}"),
    ]))
    .unwrap();
    let group = group["data"]["id"].as_str().unwrap().to_owned();
    Estate {
        approle_accessor,
        entity,
        group,
        orphan: bao.token(&[
            "-orphan",
            "-policy=app",
            "-ttl=1h",
            "-display-name=orphan-agent",
        ]),
        limited: bao.token(&["-policy=limited", "-ttl=1h", "-display-name=limited"]),
        victim: bao.token(&[
            "-policy=reader",
            "-policy=guard",
            "-ttl=30m",
            "-display-name=victim",
        ]),
        blocked: bao.token(&[
            "-policy=reader",
            "-policy=blocker",
            "-ttl=30m",
            "-display-name=blocked",
        ]),
        secret_values,
    }
}

#[test]
fn openbao_sync_inventory_grants_drift_revocation_and_no_secret_in_the_database() {
    let sandbox = Sandbox::new();
    let bao = Bao::start(&sandbox.path(""));
    let estate = configure(&bao);
    let root_file = sandbox.write_secret("root-token", &bao.root_token);
    let address = bao.address();

    sandbox
        .bridle(&[
            "broker",
            "add",
            "bao",
            "--kind",
            "openbao",
            "--address",
            &address,
            "--credential",
            &format!("file:{}", root_file.display()),
            "--timeout",
            "20",
        ])
        .ok();
    let test = sandbox.bridle(&["broker", "test", "bao", "--json"]);
    test.ok();
    assert_eq!(test.json()["ok"], true);

    let report = sync(&sandbox, "bao", &[]);
    assert_eq!(report["run"]["status"], "ok", "{report}");
    assert_eq!(report["run"]["unknown_parts"], json!([]), "{report}");

    // Identities: roles of every auth method, the entity, the group, a principal per token.
    let identities = sandbox.list("identities");
    for (id, kind) in [
        ("vault:bao:auth/approle/role/ci", "vault_role"),
        ("vault:bao:auth/jwt/role/agent", "vault_role"),
        ("vault:bao:auth/kubernetes/role/agents", "vault_role"),
        ("vault:bao:auth/token/roles/deployer", "vault_role"),
    ] {
        let row = get(&identities, id);
        assert_eq!(row["kind"], kind, "{row}");
        assert_eq!(row["provenance"]["origin"], "broker:bao", "{row}");
    }
    let entity_id = format!("vault:bao:identity/entity/id/{}", estate.entity);
    let group_id = format!("vault:bao:identity/group/id/{}", estate.group);
    assert_eq!(get(&identities, &entity_id)["name"], "entity ml-agent");
    assert_eq!(get(&identities, &group_id)["name"], "group ml-team");

    // Credentials: tokens by accessor, with creation and expiry; the root token never expires.
    let credentials = sandbox.list("credentials");
    let orphan_cred = format!("vault:bao:auth/token/accessors/{}", estate.orphan.1);
    let orphan = get(&credentials, &orphan_cred);
    assert_eq!(orphan["kind"], "token");
    assert_eq!(
        orphan["identity"],
        format!("vault:bao:token/{}", estate.orphan.1)
    );
    assert!(
        orphan["issued_at"].is_string() && orphan["expires_at"].is_string(),
        "{orphan}"
    );
    let tokens = observations(&sandbox, "bao", "vault.token");
    let token_facts = |accessor: &str| {
        tokens
            .iter()
            .find(|o| o["facts"]["accessor"] == accessor)
            .unwrap_or_else(|| panic!("no vault.token for {accessor}"))["facts"]
            .clone()
    };
    let orphan_facts = token_facts(&estate.orphan.1);
    assert_eq!(orphan_facts["orphan"], true);
    assert_eq!(orphan_facts["creation_ttl"], 3600);
    assert_eq!(orphan_facts["policies"], json!(["app", "default"]));
    assert_eq!(token_facts(&estate.victim.1)["orphan"], false);
    assert!(
        tokens
            .iter()
            .any(|o| o["facts"]["policies"] == json!(["root"])),
        "the root token's accessor is listed"
    );

    // Roles: TTLs and bound claims as observations.
    let roles = observations(&sandbox, "bao", "vault.role");
    let role = |id: &str| get(&roles, id)["facts"].clone();
    let ci = role("vault:bao:auth/approle/role/ci");
    assert_eq!(ci["token_ttl"], 3600);
    assert_eq!(ci["token_max_ttl"], 14400);
    assert_eq!(ci["secret_id_ttl"], 600);
    assert_eq!(ci["policies"], json!(["app", "default"]));
    let jwt = role("vault:bao:auth/jwt/role/agent");
    assert_eq!(jwt["bound_claims"], json!({"team": "ml"}));
    assert_eq!(jwt["bound_audiences"], json!(["bridle"]));
    assert_eq!(jwt["token_ttl"], 900);
    let k8s = role("vault:bao:auth/kubernetes/role/agents");
    assert_eq!(k8s["bound_service_account_names"], json!(["agent"]));
    assert_eq!(k8s["bound_service_account_namespaces"], json!(["ml"]));
    let deployer = role("vault:bao:auth/token/roles/deployer");
    assert_eq!(deployer["orphan"], true);
    let aliases = observations(&sandbox, "bao", "vault.alias");
    assert!(
        aliases
            .iter()
            .any(|a| a["facts"]["entity"] == entity_id && a["facts"]["name"] == "ci-runner"),
        "{aliases:?}"
    );

    // Grants: globs and `+` kept as patterns and marked; deny honoured.
    let grants = sandbox.list("grants");
    let grant = |subject: &str, target: &str| {
        grants
            .iter()
            .find(|g| g["subject"] == subject && g["target"] == target)
            .cloned()
    };
    let ci_role = "vault:bao:auth/approle/role/ci";
    let glob = grant(ci_role, "vault:bao:secret/data/app/*").expect("the glob rule is a grant");
    assert_eq!(glob["actions"], json!(["read"]));
    let conditions = glob["conditions"].as_str().unwrap();
    assert!(conditions.contains("over-approximation"), "{conditions}");
    assert!(
        conditions.contains("except `secret/data/app/admin`"),
        "the deny inside the glob is named: {conditions}"
    );
    assert_eq!(glob["source"], "vault:bao:sys/policies/acl/app");
    let plus = grant(ci_role, "vault:bao:secret/data/+/config").expect("the + rule is a grant");
    assert_eq!(plus["actions"], json!(["write"]));
    assert!(
        plus["conditions"]
            .as_str()
            .unwrap()
            .contains("over-approximation")
    );
    // Concrete secrets evaluated as Vault does.
    assert_eq!(
        grant(ci_role, "vault:bao:secret/data/app/db").expect("db is readable")["actions"],
        json!(["read"])
    );
    assert_eq!(
        grant(ci_role, "vault:bao:secret/data/team/config").expect("+ matches team")["actions"],
        json!(["write"])
    );
    assert!(
        grant(ci_role, "vault:bao:secret/data/app/admin").is_none(),
        "the denied secret is not granted"
    );
    // A deny in another policy wins over the glob for the path it names…
    let victim = format!("vault:bao:token/{}", estate.victim.1);
    assert!(grant(&victim, "vault:bao:secret/data/shared/readme").is_some());
    assert!(grant(&victim, "vault:bao:secret/data/shared/root-ca").is_none());
    assert!(
        grant(&victim, "vault:bao:secret/data/shared/*").unwrap()["conditions"]
            .as_str()
            .unwrap()
            .contains("deny in policy guard")
    );
    // …recorded where it shadows an allowing rule, never silent.
    let denied = observations(&sandbox, "bao", "vault.denied");
    assert!(
        denied.iter().any(|d| d["facts"]["subject"] == victim
            && d["facts"]["path"] == "secret/data/shared/root-ca"
            && d["facts"]["denied_by"] == "guard: secret/data/shared/root-ca"),
        "{denied:?}"
    );
    // A deny glob decides only where it is the most specific rule: `secret/*` loses to the
    // longer `secret/data/shared/*`, as the server itself answers.
    let blocked = format!("vault:bao:token/{}", estate.blocked.1);
    assert_eq!(
        grant(&blocked, "vault:bao:secret/data/shared/readme").expect("readable")["actions"],
        json!(["read"])
    );
    assert!(grant(&blocked, "vault:bao:secret/data/app/db").is_none());
    let (code, answer, stderr) = bao.cli_with_input(
        &["write", "-format=json", "sys/capabilities", "-"],
        Some(
            &json!({"token": estate.blocked.0, "paths": ["secret/data/shared/readme", "secret/data/app/db"]})
                .to_string(),
        ),
    );
    assert_eq!(code, 0, "{stderr}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["data"]["secret/data/shared/readme"], json!(["read"]));
    assert_eq!(answer["data"]["secret/data/app/db"], json!(["deny"]));
    // Memberships are facts: the entity's principal carries its group's policies (`app`), so
    // it reads what `app` allows, and no edge unites separately evaluated ACLs.
    assert!(grant(&entity_id, &group_id).is_none());
    assert_eq!(
        grant(&entity_id, "vault:bao:secret/data/app/db").expect("app via ml-team")["actions"],
        json!(["read"])
    );
    let entities = observations(&sandbox, "bao", "vault.entity");
    assert_eq!(
        get(&entities, &entity_id)["facts"]["groups"],
        json!([group_id.clone()])
    );
    // The root token reaches everything.
    let root_grant = grants
        .iter()
        .find(|g| g["target"] == "vault:bao:*")
        .expect("the root token has a grant on every path");
    assert_eq!(root_grant["actions"], json!(["admin", "read", "write"]));

    // A live root token is explicit: a critical finding on its credential.
    let root_accessor = tokens
        .iter()
        .find(|o| o["facts"]["policies"] == json!(["root"]))
        .expect("the root token's accessor")["facts"]["accessor"]
        .as_str()
        .unwrap()
        .to_owned();
    let check = sandbox.bridle(&["check", "--json"]);
    let report = check.json();
    let root_finding = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| {
            f["id"]
                == format!(
                    "credential-crown-jewel-admin@vault:bao:auth/token/accessors/{root_accessor}"
                )
        })
        .unwrap_or_else(|| panic!("no root-token finding in {report}"));
    assert_eq!(root_finding["status"], "fail", "{root_finding}");
    assert_eq!(root_finding["severity"], "critical", "{root_finding}");
    assert!(
        root_finding.to_string().contains("root policy"),
        "{root_finding}"
    );

    // Resources: the KV mount and its secrets as secret stores.
    let resources = sandbox.list("resources");
    assert_eq!(get(&resources, "vault:bao:secret/")["kind"], "secret_store");
    assert_eq!(
        get(&resources, "vault:bao:secret/data/app/db")["kind"],
        "secret_store"
    );

    // A token without sudo: accessors and leases unknown with the reason; the sync still lands.
    let limited_token = estate.limited.0.clone();
    sandbox
        .bridle(&[
            "broker",
            "add",
            "limited",
            "--kind",
            "vault",
            "--address",
            &address,
            "--credential",
            "env:BRIDLE_TEST_LIMITED_TOKEN",
        ])
        .ok();
    let limited = sync(
        &sandbox,
        "limited",
        &[("BRIDLE_TEST_LIMITED_TOKEN", Path::new(&limited_token))],
    );
    assert_eq!(limited["run"]["status"], "ok", "{limited}");
    let unknown = limited["run"]["unknown_parts"].as_array().unwrap();
    let accessors = unknown
        .iter()
        .find(|u| u["part"] == "token accessors")
        .unwrap_or_else(|| panic!("token accessors are unknown: {unknown:?}"));
    let reason = accessors["reason"].as_str().unwrap();
    assert!(
        reason.contains("403") && reason.contains("sudo"),
        "{reason}"
    );
    assert!(unknown.iter().any(|u| u["part"] == "leases"), "{unknown:?}");
    assert!(
        sandbox
            .list("identities")
            .iter()
            .any(|i| i["id"] == "vault:limited:auth/approle/role/ci")
    );
    // Without the environment variable the sync fails clearly and names the reference.
    let missing = sync(&sandbox, "limited", &[]);
    assert_eq!(missing["run"]["status"], "failed");
    assert!(
        missing["run"]["error"]
            .as_str()
            .unwrap()
            .contains("env:BRIDLE_TEST_LIMITED_TOKEN")
    );

    // Drift: a role's TTL changes and a policy is added.
    bao.policy(
        "ops",
        "path \"sys/health\" {\n  capabilities = [\"read\"]\n}\n",
    );
    bao.write_json(
        "auth/approle/role/ci",
        &json!({"token_policies": ["app", "ops"], "token_ttl": "2h", "token_max_ttl": "4h", "secret_id_ttl": "10m"}),
    );
    assert_eq!(sync(&sandbox, "bao", &[])["run"]["status"], "ok");
    let drift = sandbox.bridle(&["drift", "bao", "--json"]);
    drift.ok();
    let drift = drift.json();
    let changed_role = drift["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "vault.role" && o["id"] == ci_role)
        .unwrap_or_else(|| panic!("the role's change is drift: {drift}"));
    assert_eq!(changed_role["change"], "changed");
    let ttl = changed_role["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "token_ttl")
        .expect("token_ttl changed");
    assert_eq!(
        (ttl["before"].clone(), ttl["after"].clone()),
        (json!(3600), json!(7200))
    );
    assert!(
        drift["observations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "vault.policy"
                && o["change"] == "added"
                && o["id"] == "vault:bao:sys/policies/acl/ops")
    );
    assert!(
        drift["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "grant"
                && e["change"] == "added"
                && e["id"] == "vault:bao:grant/auth/approle/role/ci/rule/sys/health"),
        "{drift}"
    );
    let human = sandbox.bridle(&["drift", "bao"]);
    human.ok();
    assert!(
        human.stdout.contains("token_ttl: 3600 -> 7200"),
        "{}",
        human.stdout
    );

    // Revocation: refused without --yes, then done, audited, and gone at the next sync.
    let refused = sandbox.bridle(&["revoke", "bao", "--accessor", &estate.victim.1]);
    refused.expect_code(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(
        bao.cli(&["token", "lookup", "-accessor", &estate.victim.1])
            .0,
        0
    );
    let revoked = sandbox.bridle(&[
        "revoke",
        "bao",
        "--accessor",
        &estate.victim.1,
        "--yes",
        "--json",
    ]);
    revoked.ok();
    assert!(
        revoked.json()["answer"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    assert_ne!(
        bao.cli(&["token", "lookup", "-accessor", &estate.victim.1])
            .0,
        0,
        "the token is gone at the broker"
    );
    let audit = sandbox.bridle(&["audit", "log", "--json"]);
    audit.ok();
    let entry = audit
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "broker.revoke")
        .cloned()
        .expect("the revocation is audited");
    let detail: Value = serde_json::from_str(entry["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["id"], estate.victim.1.as_str());
    assert_eq!(detail["what"], "accessor");
    assert_eq!(detail["status"], "revoked");
    // The intent was written before the call, and the outcome names it.
    let intent = audit
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "broker.revoke.intent")
        .cloned()
        .expect("the intent is audited before the call");
    assert_eq!(detail["intent"], intent["seq"]);
    assert!(intent["seq"].as_i64() < entry["seq"].as_i64());
    assert!(entry["user"].as_str().is_some_and(|u| !u.is_empty()));
    sandbox.bridle(&["audit", "verify"]).ok();
    assert_eq!(sync(&sandbox, "bao", &[])["run"]["status"], "ok");
    let victim_cred = format!("vault:bao:auth/token/accessors/{}", estate.victim.1);
    assert!(find(&sandbox.list("credentials"), &victim_cred).is_none());
    let drift = sandbox.bridle(&["drift", "bao", "--json"]).json();
    assert!(
        drift["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == victim_cred.as_str() && e["change"] == "removed"),
        "{drift}"
    );

    // Leases (tokens with a TTL have one) are observed and can be revoked the same way: the
    // lease that appears with a new token is that token's.
    let lease_ids = |s: &Sandbox| -> Vec<String> {
        observations(s, "bao", "vault.lease")
            .iter()
            .filter_map(|l| l["facts"]["lease_id"].as_str().map(str::to_owned))
            .collect()
    };
    let before = lease_ids(&sandbox);
    let leased = bao.token(&["-policy=reader", "-ttl=45m", "-display-name=leased"]);
    assert_eq!(sync(&sandbox, "bao", &[])["run"]["status"], "ok");
    let after = lease_ids(&sandbox);
    let new: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    assert_eq!(new.len(), 1, "one new lease: {new:?}");
    let lease = new[0].clone();
    assert_eq!(bao.cli(&["token", "lookup", "-accessor", &leased.1]).0, 0);
    sandbox
        .bridle(&["revoke", "bao", "--lease", &lease])
        .expect_code(2);
    sandbox
        .bridle(&["revoke", "bao", "--lease", &lease, "--yes"])
        .ok();
    let after_lease = sync(&sandbox, "bao", &[]);
    assert_eq!(after_lease["run"]["status"], "ok", "{after_lease}");
    assert!(
        !lease_ids(&sandbox).contains(&lease),
        "the revoked lease is gone"
    );
    assert_ne!(
        bao.cli(&["token", "lookup", "-accessor", &leased.1]).0,
        0,
        "revoking its lease revoked the token"
    );
    let audit = sandbox.bridle(&["audit", "log", "--json"]).json();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "broker.revoke"
                && e["detail"].as_str().unwrap().contains(&lease))
    );
    // An id Bridle has not seen is refused before anything is sent, unless forced; what the
    // broker then does not know is refused by the broker, and that is audited too.
    let unseen = sandbox.bridle(&["revoke", "bao", "--accessor", "no-such-accessor", "--yes"]);
    unseen.expect_code(2);
    assert!(unseen.stderr.contains("--force"), "{}", unseen.stderr);
    let unknown = sandbox.bridle(&[
        "revoke",
        "bao",
        "--accessor",
        "no-such-accessor",
        "--yes",
        "--force",
    ]);
    unknown.expect_code(1);
    assert!(
        unknown.stderr.contains("auth/token/revoke-accessor"),
        "{}",
        unknown.stderr
    );
    let audit = sandbox.bridle(&["audit", "log", "--json"]).json();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "broker.revoke"
                && e["detail"].as_str().unwrap().contains("no-such-accessor")
                && e["detail"].as_str().unwrap().contains("\"failed\""))
    );

    // No token and no secret value anywhere in the database file or its WAL.
    let mut needles = vec![
        bao.root_token.clone(),
        estate.orphan.0.clone(),
        estate.limited.0.clone(),
        estate.victim.0.clone(),
        estate.blocked.0.clone(),
        leased.0.clone(),
    ];
    needles.extend(estate.secret_values.iter().cloned());
    for file in [sandbox.db(), with_suffix(&sandbox.db(), "-wal")] {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} contains a secret ({}…)",
                file.display(),
                &needle[..8]
            );
        }
    }
    // Nor in anything the CLI prints.
    let everything = [
        sandbox.bridle(&["broker", "ls", "--json"]).stdout,
        sandbox.bridle(&["broker", "show", "bao", "--json"]).stdout,
        sandbox.bridle(&["export", "--format", "estate"]).stdout,
        sandbox.bridle(&["audit", "log", "--json"]).stdout,
    ]
    .join("\n");
    for needle in &needles {
        assert!(
            !everything.contains(needle.as_str()),
            "output leaks a secret"
        );
    }
    let _ = estate.approle_accessor;
}

#[test]
fn openbao_faults_fail_the_sync_clearly_and_keep_the_last_snapshot() {
    let sandbox = Sandbox::new();
    let bao = Bao::start(&sandbox.path(""));
    bao.run(&["auth", "enable", "approle"]);
    bao.write_json(
        "auth/approle/role/ci",
        &json!({"token_policies": ["default"], "token_ttl": "1h"}),
    );
    bao.run(&["kv", "put", "secret/app/db", "password=fault-test-value"]);
    let proxy = Proxy::start(bao.port, bao.killer());
    let token_file = sandbox.write_secret("token", &bao.root_token);
    sandbox
        .bridle(&[
            "broker",
            "add",
            "bao",
            "--kind",
            "openbao",
            "--address",
            &proxy.address(),
            "--credential",
            &format!("file:{}", token_file.display()),
            "--timeout",
            "2",
        ])
        .ok();
    let good = sync(&sandbox, "bao", &[]);
    assert_eq!(good["run"]["status"], "ok", "{good}");
    let baseline = sandbox.export("baseline.json", None);
    let snapshots = |s: &Sandbox| {
        s.bridle(&["snapshots", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len()
    };
    let snapshot_count = snapshots(&sandbox);
    let proxy_address = format!("127.0.0.1:{}", proxy.port);

    let expect_failure = |label: &str, needles: &[&str]| {
        let report = sync(&sandbox, "bao", &[]);
        assert_eq!(report["run"]["status"], "failed", "{label}: {report}");
        let error = report["run"]["error"].as_str().unwrap().to_owned();
        for needle in needles {
            assert!(
                error.contains(needle),
                "{label}: `{needle}` not in: {error}"
            );
        }
        assert!(
            !error.contains(&bao.root_token),
            "{label}: the error shows the token"
        );
        assert_eq!(
            sandbox.export("after.json", None),
            baseline,
            "{label}: inventory changed"
        );
        assert_eq!(
            snapshots(&sandbox),
            snapshot_count,
            "{label}: a snapshot was added"
        );
        error
    };

    // Wrong token: 403 on the first call.
    std::fs::write(&token_file, random_value("wrong")).unwrap();
    expect_failure(
        "wrong token",
        &[&proxy_address, "/v1/auth/token/lookup-self", "403"],
    );
    let test = sandbox.bridle(&["broker", "test", "bao"]);
    test.expect_code(1);
    assert!(test.stdout.contains("403"), "{}", test.stdout);
    std::fs::write(&token_file, &bao.root_token).unwrap();

    proxy.set(Fault::Truncate);
    expect_failure("truncated", &[&proxy_address, "/v1/"]);
    proxy.set(Fault::Corrupt);
    expect_failure(
        "corrupted",
        &[&proxy_address, "/v1/auth/token/lookup-self", "malformed"],
    );
    proxy.set(Fault::Hang);
    expect_failure(
        "hanging",
        &[
            &proxy_address,
            "/v1/auth/token/lookup-self",
            "no answer within 2s",
        ],
    );

    // A sealed server answers 503 to everything.
    proxy.set(Fault::Pass);
    bao.run(&["operator", "seal"]);
    expect_failure("sealed (503)", &[&proxy_address, "503"]);
    bao.run(&["operator", "unseal", &bao.unseal_key()]);
    assert_eq!(
        sync(&sandbox, "bao", &[])["run"]["status"],
        "ok",
        "unsealed again"
    );
    let baseline_after = sandbox.export("baseline2.json", None);
    assert_eq!(
        baseline_after, baseline,
        "an unchanged broker syncs to the same inventory"
    );
    let snapshot_count = snapshots(&sandbox);

    // The real server stops in the middle of a sync.
    proxy.set(Fault::StopServerAfter(4));
    let report = sync(&sandbox, "bao", &[]);
    assert_eq!(report["run"]["status"], "failed", "{report}");
    assert!(
        report["run"]["error"]
            .as_str()
            .unwrap()
            .contains(&proxy_address)
    );
    assert_eq!(sandbox.export("after.json", None), baseline);
    assert_eq!(snapshots(&sandbox), snapshot_count);

    // And then refuses connections outright.
    bao.stop();
    sandbox
        .bridle(&[
            "broker",
            "add",
            "direct",
            "--kind",
            "openbao",
            "--address",
            &bao.address(),
            "--credential",
            &format!("file:{}", token_file.display()),
        ])
        .ok();
    let refused = sync(&sandbox, "direct", &[]);
    assert_eq!(refused["run"]["status"], "failed");
    let error = refused["run"]["error"].as_str().unwrap();
    assert!(
        error.contains("cannot connect") && error.contains(&format!("127.0.0.1:{}", bao.port)),
        "{error}"
    );

    // Every failure is on record, with an audit entry; the chain is intact.
    let show = sandbox.bridle(&["broker", "show", "bao", "--json"]).json();
    let runs = show["runs"].as_array().unwrap();
    let failed = runs.iter().filter(|r| r["status"] == "failed").count();
    assert_eq!(failed, 6, "{show}");
    let audit = sandbox.bridle(&["audit", "log", "--json"]).json();
    let failed_entries = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"] == "broker.sync" && e["detail"].as_str().unwrap().contains("\"failed\"")
        })
        .count();
    assert_eq!(failed_entries, 7);
    sandbox.bridle(&["audit", "verify"]).ok();
    let human = sandbox.bridle(&["broker", "ls"]);
    assert!(human.stdout.contains("failed"), "{}", human.stdout);
}

#[test]
fn broker_profiles_are_validated_hold_only_references_and_can_be_removed() {
    let sandbox = Sandbox::new();
    let add = |args: &[&str]| {
        let mut full = vec!["broker", "add"];
        full.extend_from_slice(args);
        sandbox.bridle(&full)
    };
    let bad = add(&["x", "--kind", "ldap", "--address", "http://127.0.0.1:1"]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("--kind `ldap`"), "{}", bad.stderr);
    let bad = add(&["x", "--kind", "openbao", "--address", "ftp://host"]);
    bad.expect_code(2);
    assert!(
        bad.stderr.contains("address `ftp://host/`"),
        "{}",
        bad.stderr
    );
    let bad = add(&["x", "--kind", "openbao", "--address", "http://127.0.0.1:1"]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("--credential"), "{}", bad.stderr);
    let bad = add(&[
        "x",
        "--kind",
        "oidc",
        "--address",
        "http://127.0.0.1:1",
        "--setting",
        "client_secret=hunter2",
    ]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("--credential"), "{}", bad.stderr);
    let bad = add(&[
        "x",
        "--kind",
        "openbao",
        "--address",
        "https://127.0.0.1:1",
        "--credential",
        "env:T",
        "--ca-file",
        "/nonexistent/ca.pem",
    ]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("ca.pem"), "{}", bad.stderr);
    // Transport: plain http only to loopback unless chosen; no password in an address.
    let bad = add(&[
        "x",
        "--kind",
        "openbao",
        "--address",
        "http://bao.example:8200",
        "--credential",
        "env:T",
    ]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("--allow-http"), "{}", bad.stderr);
    let bad = add(&[
        "x",
        "--kind",
        "mcp",
        "--address",
        "https://agent:s3cr3t-pw@tools.example/mcp",
    ]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("user or password"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("s3cr3t-pw"), "{}", bad.stderr);
    let bad = add(&[
        "x",
        "--kind",
        "mcp",
        "--address",
        "https://tools.example/mcp?key=s3cr3t-q",
    ]);
    bad.expect_code(2);
    assert!(!bad.stderr.contains("s3cr3t-q"), "{}", bad.stderr);
    add(&[
        "clear",
        "--kind",
        "mcp",
        "--address",
        "http://tools.example:9000/mcp",
        "--allow-http",
    ])
    .ok();
    let log = sandbox.bridle(&["audit", "log", "--json"]).json();
    let added = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "broker.add" && e["subject"] == "broker clear")
        .unwrap();
    let detail: Value = serde_json::from_str(added["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["transport"]["allow_http"], true, "{added}");
    sandbox.bridle(&["broker", "rm", "clear"]).ok();
    let db = std::fs::read(sandbox.db()).unwrap();
    for secret in [b"s3cr3t-pw".as_slice(), b"s3cr3t-q"] {
        assert!(!db.windows(secret.len()).any(|w| w == secret));
    }

    add(&[
        "kc",
        "--kind",
        "vault",
        "--address",
        "http://127.0.0.1:1",
        "--credential",
        "keychain:bridle/bao",
        "--setting",
        "environment=prod",
    ])
    .ok();
    add(&[
        "kc",
        "--kind",
        "vault",
        "--address",
        "http://127.0.0.1:1",
        "--credential",
        "env:T",
    ])
    .expect_code(1);
    let listed = sandbox.bridle(&["broker", "ls", "--json"]).json();
    assert_eq!(listed[0]["credential"], "keychain:bridle/bao");
    assert_eq!(listed[0]["kind"], "openbao");
    assert_eq!(listed[0]["settings"]["environment"], "prod");
    let report = sync(&sandbox, "kc", &[]);
    assert_eq!(report["run"]["status"], "failed");
    assert!(
        report["run"]["error"]
            .as_str()
            .unwrap()
            .contains("keychain"),
        "{report}"
    );
    sandbox.bridle(&["broker", "rm", "kc"]).ok();
    sandbox.bridle(&["broker", "rm", "kc"]).expect_code(2);
    assert_eq!(
        sandbox.bridle(&["broker", "ls", "--json"]).json(),
        json!([])
    );
    let audit = sandbox.bridle(&["audit", "log", "--json"]).json();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "broker.add",
            "broker.rm",
            "broker.add",
            "broker.sync",
            "broker.rm"
        ]
    );
}
