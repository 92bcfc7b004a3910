//! The console's command list is written in four places that must agree: the permissions
//! `src-tauri/build.rs` generates, the handlers `src-tauri/src/main.rs` registers, the
//! permissions `src-tauri/capabilities/default.json` grants the window, and the commands
//! `ui/src/ipc.rs` calls. A command missing from one of them fails at run time only (the
//! window's call is refused, or a handler is unreachable); this test makes it fail here.

use std::collections::BTreeSet;

use crate::support::workspace_root;

fn read(relative: &str) -> String {
    std::fs::read_to_string(workspace_root().join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The quoted words inside `.commands(&[ … ])` of build.rs.
fn generated_permissions() -> BTreeSet<String> {
    let text = read("src-tauri/build.rs");
    let start = text
        .find(".commands(&[")
        .expect("build.rs lists the commands");
    let end = start + text[start..].find("])").expect("the list ends");
    text[start..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The `module::name` entries of `generate_handler![ … ]` in main.rs.
fn registered_handlers() -> BTreeSet<String> {
    let text = read("src-tauri/src/main.rs");
    let start = text
        .find("generate_handler![")
        .expect("main.rs registers handlers");
    let end = start + text[start..].find(']').expect("the list ends");
    text[start + "generate_handler![".len()..end]
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| entry.rsplit("::").next().unwrap().to_owned())
        .collect()
}

/// The window's `allow-…` permissions, as command names.
fn granted_permissions() -> (BTreeSet<String>, Vec<String>) {
    let capability: serde_json::Value =
        serde_json::from_str(&read("src-tauri/capabilities/default.json")).unwrap();
    let mut own = BTreeSet::new();
    let mut other = Vec::new();
    for permission in capability["permissions"].as_array().unwrap() {
        let permission = permission.as_str().expect("permissions are names");
        match permission.strip_prefix("allow-") {
            Some(command) => {
                own.insert(command.replace('-', "_"));
            }
            None => other.push(permission.to_owned()),
        }
    }
    (own, other)
}

/// The command names `ipc.rs` passes to `call(…)`.
fn called_commands() -> BTreeSet<String> {
    let text = read("ui/src/ipc.rs");
    let mut called = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("call(") {
        rest = &rest[at + "call(".len()..];
        let trimmed = rest.trim_start();
        if let Some(quoted) = trimmed.strip_prefix('"') {
            let name = &quoted[..quoted.find('"').unwrap()];
            called.insert(name.to_owned());
        }
    }
    called
}

#[test]
fn the_console_commands_are_generated_registered_granted_and_called_alike() {
    let generated = generated_permissions();
    let registered = registered_handlers();
    let (granted, other) = granted_permissions();
    let called = called_commands();
    assert!(generated.len() > 40, "{generated:?}");
    assert_eq!(
        registered, generated,
        "main.rs handlers vs build.rs permissions"
    );
    assert_eq!(
        granted, generated,
        "capability grants vs build.rs permissions"
    );
    assert_eq!(
        called, generated,
        "ui/src/ipc.rs calls vs build.rs permissions"
    );
    // The window gets nothing but the app's own commands (no dialog, fs, shell or http).
    assert_eq!(other, Vec::<String>::new(), "{other:?}");
}
