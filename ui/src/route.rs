//! Hash routes (`#/inventory/agents`, `#/entity/<id>`): they survive a reload, work with the
//! back button, and need no server. Later pages (graph, findings, risks, brokers, evidence) add a
//! variant here and an entry in the navigation.

use bridle_protocol::console::InventoryKind;
use leptos::prelude::window;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Dashboard,
    Inventory(InventoryKind),
    Entity(String),
    Import,
    Brokers,
    Evidence,
    /// The privilege graph; its source, target and hops are in the query (`graph_route.rs`).
    Graph,
    Findings,
    Frameworks,
    Risks,
    /// Stored approval flows.
    Flows,
    /// The flow designer: a stored flow by id, or a new draft.
    FlowEdit(Option<String>),
    NotFound(String),
}

impl Route {
    pub fn parse(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let (head, rest) = path.split_once('/').unwrap_or((path, ""));
        // Query parameters (`#/findings?status=fail`) are read by the page itself.
        let head = head.split_once('?').map_or(head, |(head, _)| head);
        match head {
            "" | "dashboard" => Route::Dashboard,
            "inventory" if rest.is_empty() => Route::Inventory(InventoryKind::Agents),
            "inventory" => match InventoryKind::parse(rest) {
                Some(kind) => Route::Inventory(kind),
                None => Route::NotFound(path.to_owned()),
            },
            "entity" if !rest.is_empty() => Route::Entity(decode(rest)),
            "import" => Route::Import,
            "brokers" => Route::Brokers,
            "evidence" => Route::Evidence,
            "graph" => Route::Graph,
            "findings" => Route::Findings,
            "frameworks" => Route::Frameworks,
            "risks" => Route::Risks,
            "flows" if rest.is_empty() => Route::Flows,
            "flows" => match rest.split_once('?') {
                Some(("edit", query)) => Route::FlowEdit(param(query, "id")),
                None if rest == "edit" => Route::FlowEdit(None),
                _ => Route::NotFound(path.to_owned()),
            },
            _ => Route::NotFound(path.to_owned()),
        }
    }

    pub fn href(&self) -> String {
        match self {
            Route::Dashboard => "#/".to_owned(),
            Route::Inventory(kind) => format!("#/inventory/{}", kind.as_str()),
            Route::Entity(id) => format!("#/entity/{}", encode(id)),
            Route::Import => "#/import".to_owned(),
            Route::Brokers => "#/brokers".to_owned(),
            Route::Evidence => "#/evidence".to_owned(),
            Route::Graph => "#/graph".to_owned(),
            Route::Findings => "#/findings".to_owned(),
            Route::Frameworks => "#/frameworks".to_owned(),
            Route::Risks => "#/risks".to_owned(),
            Route::Flows => "#/flows".to_owned(),
            Route::FlowEdit(None) => "#/flows/edit".to_owned(),
            Route::FlowEdit(Some(id)) => format!("#/flows/edit?id={}", encode(id)),
            Route::NotFound(path) => format!("#/{path}"),
        }
    }
}

pub fn entity_href(id: &str) -> String {
    Route::Entity(id.to_owned()).href()
}

/// The route the window shows now.
pub fn current() -> Route {
    Route::parse(&window().location().hash().unwrap_or_default())
}

/// A query parameter of the current route (`#/findings?status=fail` → `status` = `fail`).
pub fn query_param(name: &str) -> Option<String> {
    let hash = window().location().hash().unwrap_or_default();
    let (_, query) = hash.split_once('?')?;
    param(query, name)
}

/// A parameter of a query string (`a=1&b=2`), decoded.
fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| decode(value))
    })
}

/// Navigates; the `hashchange` listener updates the route signal.
pub fn go(route: &Route) {
    // Setting the hash cannot fail for a same-document fragment.
    let _ = window().location().set_hash(&route.href());
}

/// Percent-encodes everything but unreserved characters, so ids with `/`, `#`, spaces or
/// non-ASCII text survive the URL.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_round_trip_awkward_ids() {
        for id in [
            "agent:support-bot",
            "agent with spaces / and slashes",
            "res:#général",
            "agent:résumé-bot 🤖",
            "100%",
        ] {
            let route = Route::Entity(id.to_owned());
            assert_eq!(Route::parse(&route.href()), route, "{id}");
        }
        assert_eq!(
            Route::parse("#/inventory/grants"),
            Route::Inventory(InventoryKind::Grants)
        );
        assert_eq!(Route::parse(""), Route::Dashboard);
        assert_eq!(Route::parse(&Route::Brokers.href()), Route::Brokers);
        assert_eq!(Route::parse("#/flows"), Route::Flows);
        assert_eq!(Route::parse("#/flows/edit"), Route::FlowEdit(None));
        let edit = Route::FlowEdit(Some("invoice triage/1".to_owned()));
        assert_eq!(Route::parse(&edit.href()), edit);
    }
}
