//! The MCP connector (`mcp::collect`) against a loopback tool server that serves generated
//! answers: `initialize`, the `notifications/initialized` status, and one to four `tools/list`
//! pages linked by cursors, each a mutated JSON-RPC message sent as plain JSON or as a
//! server-sent-event stream (CRLF line ends, data split over lines, a notification first),
//! sometimes damaged, cut short or answered with another status.
//!
//! Properties: no panic; every rejection says where: a malformed answer names the server's
//! address and, when the answer arrived whole, the JSON-RPC method it answered (and a tool
//! index that was served); an error status is one the server sent; a JSON-RPC error names a
//! method that was called; nothing else (the server always answers); an accepted server maps to
//! an estate that the estate reader accepts as it stands.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use bridle_brokers::{BrokerError, BrokerKind, Profile, TlsOptions, Transport};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::answer::{AnswerPlan, answer_plan, served_summary};
use crate::harness::{Outcome, check, no_panic};
use crate::http::{Handler, Reply, Request, Server};

const METHODS: [&str; 2] = ["initialize", "tools/list"];

/// Field names and values of MCP messages.
const WORDS: &[&str] = &[
    "jsonrpc",
    "2.0",
    "id",
    "result",
    "error",
    "code",
    "message",
    "protocolVersion",
    "2025-06-18",
    "capabilities",
    "tools",
    "serverInfo",
    "name",
    "version",
    "nextCursor",
    "title",
    "description",
    "inputSchema",
    "properties",
    "annotations",
    "readOnlyHint",
    "destructiveHint",
    "idempotentHint",
    "openWorldHint",
    "search",
    "delete_all",
    "c1",
    "c2",
    "c0",
    "@ID@",
];

/// How one answer is framed on the wire.
#[derive(Debug, Clone)]
enum Framing {
    Json,
    Stream {
        /// A notification event before the answer.
        notice_first: bool,
        crlf: bool,
        /// The message over several `data:` lines (one per line of pretty JSON).
        split: bool,
    },
}

#[derive(Debug, Clone)]
struct RpcAnswer {
    plan: AnswerPlan,
    framing: Framing,
}

#[derive(Debug, Clone)]
struct McpCase {
    initialize: RpcAnswer,
    notified_status: u16,
    pages: Vec<RpcAnswer>,
    session: Option<&'static str>,
}

fn rpc_answer() -> impl Strategy<Value = RpcAnswer> {
    let framing = prop_oneof![
        2 => Just(Framing::Json),
        1 => (any::<bool>(), any::<bool>(), any::<bool>())
            .prop_map(|(notice_first, crlf, split)| Framing::Stream { notice_first, crlf, split }),
    ];
    (answer_plan(WORDS), framing).prop_map(|(plan, framing)| RpcAnswer { plan, framing })
}

fn cases() -> impl Strategy<Value = McpCase> {
    (
        rpc_answer(),
        prop_oneof![8 => Just(202u16), 1 => Just(200u16), 1 => Just(400u16), 1 => Just(500u16)],
        vec(rpc_answer(), 1..5),
        prop_oneof![
            2 => Just(None),
            1 => proptest::sample::select(&["session-1", "", "a b", "s\u{e9}"][..]).prop_map(Some),
        ],
    )
        .prop_map(|(initialize, notified_status, pages, session)| McpCase {
            initialize,
            notified_status,
            pages,
            session,
        })
}

fn initialize_template() -> Value {
    json!({"jsonrpc": "2.0", "id": "@ID@", "result": {
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {"listChanged": false}, "logging": {}},
        "serverInfo": {"name": "fuzz-tools", "version": "1.0"},
    }})
}

fn tool(index: usize) -> Value {
    json!({
        "name": format!("tool-{index}"),
        "title": "A tool",
        "description": "Does something to something",
        "inputSchema": {"type": "object", "properties": {"query": {"type": "string"}}},
        "annotations": {"readOnlyHint": index.is_multiple_of(2), "destructiveHint": false,
                        "idempotentHint": true, "openWorldHint": null},
    })
}

/// Page `index` of `count`: two tools, and the cursor of the next page unless it is the last.
fn page_template(index: usize, count: usize) -> Value {
    let mut result = Map::new();
    result.insert(
        "tools".into(),
        json!([tool(2 * index), tool(2 * index + 1)]),
    );
    if index + 1 < count {
        result.insert("nextCursor".into(), json!(format!("c{}", index + 1)));
    }
    json!({"jsonrpc": "2.0", "id": "@ID@", "result": result})
}

fn framed(answer: &RpcAnswer, body: Vec<u8>) -> (Vec<u8>, Vec<(String, String)>) {
    match answer.framing {
        Framing::Json => (
            body,
            vec![("Content-Type".to_owned(), "application/json".to_owned())],
        ),
        Framing::Stream {
            notice_first,
            crlf,
            split,
        } => {
            let text = String::from_utf8_lossy(&body).into_owned();
            let mut stream = String::new();
            if notice_first {
                stream.push_str("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n");
            }
            stream.push_str("event: message\n");
            if split {
                for line in text.lines() {
                    stream.push_str(&format!("data: {line}\n"));
                }
            } else {
                stream.push_str(&format!("data: {}\n", text.replace('\n', " ")));
            }
            stream.push('\n');
            if crlf {
                stream = stream.replace('\n', "\r\n");
            }
            (
                stream.into_bytes(),
                vec![("Content-Type".to_owned(), "text/event-stream".to_owned())],
            )
        }
    }
}

/// The JSON-RPC method, id and cursor of a request body.
fn rpc_call(body: &[u8]) -> (String, Value, Option<String>) {
    let message: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let cursor = message
        .pointer("/params/cursor")
        .and_then(Value::as_str)
        .map(str::to_owned);
    (method, id, cursor)
}

/// What the server sent, for the property and the failure report.
#[derive(Default)]
struct Sent {
    bodies: Vec<String>,
    /// Tools in the `tools/list` answers, in the order they were sent.
    tools: usize,
}

fn handler(case: &McpCase, sent: Arc<Mutex<Sent>>) -> Handler {
    let case = case.clone();
    Box::new(move |request: &Request| {
        if request.method == "DELETE" {
            return Reply::empty(200);
        }
        let (method, id, cursor) = rpc_call(&request.body);
        let id_text = serde_json::to_string(&id).expect("a JSON value always renders");
        let fill = [("\"@ID@\"", id_text)];
        let (answer, template) = match method.as_str() {
            "initialize" => (&case.initialize, initialize_template()),
            "notifications/initialized" => return Reply::empty(case.notified_status),
            "tools/list" => {
                let index = cursor
                    .and_then(|c| c.strip_prefix('c').and_then(|n| n.parse::<usize>().ok()))
                    .unwrap_or(0)
                    .min(case.pages.len() - 1);
                (&case.pages[index], page_template(index, case.pages.len()))
            }
            _ => return Reply::empty(400),
        };
        let tree = answer.plan.tree(&template);
        let body = answer.plan.render(&tree, &fill);
        let (body, mut headers) = framed(answer, body);
        if method == "initialize"
            && let Some(session) = case.session
        {
            headers.push(("Mcp-Session-Id".to_owned(), session.to_owned()));
        }
        if let Ok(mut sent) = sent.lock() {
            sent.bodies
                .push(format!("{method}: {}", String::from_utf8_lossy(&body)));
            if method == "tools/list" {
                sent.tools += tree
                    .pointer("/result/tools")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
            }
        }
        answer.plan.reply(body, headers)
    })
}

fn profile(base: &str) -> Profile {
    Profile {
        name: "fuzz".into(),
        kind: BrokerKind::Mcp,
        address: url::Url::parse(&format!("{base}/mcp")).expect("the loopback address is a URL"),
        tls: TlsOptions::default(),
        connect_timeout: std::time::Duration::from_secs(5),
        request_timeout: std::time::Duration::from_secs(20),
        credential: None,
        settings: Map::new(),
        transport: Transport::default(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The index in `tools[N]` of a detail, if it names one.
fn tool_index(detail: &str) -> Option<usize> {
    let start = detail.find("tools[")? + "tools[".len();
    let end = detail[start..].find(']')? + start;
    detail[start..end].parse().ok()
}

fn property(
    server: &Server,
    runtime: &RefCell<tokio::runtime::Runtime>,
    case: &McpCase,
) -> Result<(), String> {
    let sent = Arc::new(Mutex::new(Sent::default()));
    server.serve(handler(case, Arc::clone(&sent)));
    let base = server.base();
    let address = format!("{base}/mcp");
    let profile = profile(&base);
    let result = no_panic(|| {
        runtime
            .borrow()
            .block_on(bridle_brokers::mcp::collect(&profile))
    });
    let served = server.served();
    let (bodies, tools_sent) = sent
        .lock()
        .map(|s| (s.bodies.join("\n"), s.tools))
        .unwrap_or_default();
    let fail = |problem: String| {
        format!(
            "{problem}\nserved: {}\nsession: {:?}\nbodies:\n{bodies}",
            served_summary(&served),
            case.session
        )
    };
    let result = match result {
        Ok(result) => result,
        Err(panic) => {
            *runtime.borrow_mut() = self::runtime();
            return Err(fail(panic));
        }
    };
    let any_cut =
        case.initialize.plan.cut.is_some() || case.pages.iter().any(|p| p.plan.cut.is_some());
    match result {
        Ok(collected) => super::check_connector_estate(&collected.estate).map_err(fail),
        Err(BrokerError::Malformed {
            address: at,
            detail,
            ..
        }) => {
            if at != address || detail.trim().is_empty() {
                return Err(fail(format!(
                    "a malformed answer reported at `{at}`: `{detail}`"
                )));
            }
            let names_method = METHODS
                .iter()
                .any(|m| detail.starts_with(&format!("{m}: ")));
            if !names_method && !any_cut {
                return Err(fail(format!(
                    "`{detail}` does not name the method it answered"
                )));
            }
            if let Some(index) = tool_index(&detail)
                && index >= tools_sent
            {
                return Err(fail(format!(
                    "`{detail}` names a tool that was never served"
                )));
            }
            Ok(())
        }
        Err(BrokerError::Status { status, .. })
            if served.iter().any(|(_, served)| *served == status) =>
        {
            Ok(())
        }
        Err(BrokerError::Rpc { method, .. }) if METHODS.contains(&method.as_str()) => Ok(()),
        Err(other) => Err(fail(format!("an unexpected rejection: {other:?}"))),
    }
}

pub fn run(seed: u64, cases_to_run: u32) -> Outcome {
    let server = Server::start();
    let runtime = RefCell::new(runtime());
    check(seed, cases_to_run, cases(), |case| {
        property(&server, &runtime, case)
    })
}
