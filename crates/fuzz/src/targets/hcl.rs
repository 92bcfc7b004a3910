//! The OpenBao/Vault policy parser (`openbao::policy::parse_policy`). Policies are generated as a
//! model (blocks, labels, attributes) and rendered as HCL or as the JSON form, so the generator
//! knows on which lines each block sits; then sometimes damaged byte by byte, or random text.
//!
//! Properties: no panic; a rejection names the policy and a line and column inside the text; a
//! rejection about one block (`path "…": …`, or a block with the wrong number of labels) points
//! at a line of that block; an accepted policy has one rule per `path` block, each with a line
//! inside one of the blocks of its label.

use bridle_brokers::openbao::policy::parse_policy;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::harness::{Outcome, check, no_panic, with_input};
use crate::located::check_line_column;
use crate::mutate::{apply_bytes, byte_edits, fuzz_string};

const POLICY_NAME: &str = "fuzz";

const CAPABILITY_WORDS: &[&str] = &[
    "create",
    "read",
    "update",
    "delete",
    "list",
    "sudo",
    "deny",
    "patch",
    "scan",
    "subscribe",
    "recover",
    "reed",
    "READ",
    "root",
];

const LEGACY_WORDS: &[&str] = &["deny", "read", "write", "sudo", "admin"];

const SEGMENTS: &[&str] = &[
    "secret",
    "data",
    "metadata",
    "app",
    "kv",
    "sys",
    "auth",
    "token",
    "+",
    "*",
    "+*",
    "{{identity.entity.name}}",
    "{{identity.entity.id",
    "",
    "ünï",
    "a\"b",
    "a\\b",
    "line\nbreak",
    "${var}",
];

const ATTRIBUTE_KEYS: &[&str] = &[
    "capabilities",
    "policy",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "expiration",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "unknown_key",
];

const HCL_TOKENS: &[&str] = &[
    "path", "\"", "{", "}", "=", "[", "]", ",", "${", "%{", "<<EOF\n", "EOF\n", "/*", "*/", "#",
    "//", "\\", "{{", "}}", "\n", "+*", "\u{feff}", "\u{ff}", "1e999", "null", "true",
];

#[derive(Debug, Clone)]
enum Attribute {
    Words(Vec<String>),
    Word(String),
    Number(i64),
    Bool(bool),
    Parameters(Vec<(String, Vec<String>)>),
    Heredoc(String),
    Expression(&'static str),
    /// A list nested `depth` times.
    Nested(u16),
}

#[derive(Debug, Clone)]
struct Block {
    identifier: &'static str,
    labels: Vec<String>,
    attributes: Vec<(String, Attribute)>,
    /// Non-ASCII label characters written as `\u` escapes.
    escape_unicode: bool,
    one_line: bool,
}

#[derive(Debug, Clone)]
struct Model {
    blocks: Vec<Block>,
    json_form: bool,
    /// The JSON form's `path` as a list of one-entry objects instead of one object.
    json_list: bool,
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (
            any::<bool>(),
            vec(proptest::sample::select(SEGMENTS), 1..6),
            proptest::sample::select(&["", "*", "/", "+*"][..]),
        )
            .prop_map(|(slash, segments, end)| {
                format!("{}{}{end}", if slash { "/" } else { "" }, segments.join("/"))
            }),
        1 => fuzz_string(SEGMENTS),
    ]
}

fn attribute() -> impl Strategy<Value = Attribute> {
    let word = || {
        prop_oneof![
            4 => proptest::sample::select(CAPABILITY_WORDS).prop_map(str::to_owned),
            1 => fuzz_string(CAPABILITY_WORDS),
        ]
    };
    prop_oneof![
        6 => vec(word(), 0..5).prop_map(Attribute::Words),
        2 => prop_oneof![
            proptest::sample::select(LEGACY_WORDS).prop_map(str::to_owned),
            fuzz_string(LEGACY_WORDS),
        ]
        .prop_map(Attribute::Word),
        1 => any::<i64>().prop_map(Attribute::Number),
        1 => any::<bool>().prop_map(Attribute::Bool),
        2 => vec(("[a-z*]{0,6}", vec("[a-z*]{0,4}", 0..3)), 0..3).prop_map(Attribute::Parameters),
        1 => "[a-z \n]{0,20}".prop_map(Attribute::Heredoc),
        1 => proptest::sample::select(&["1 + 2", "var.x", "[for x in y: x]", "f(1)", "a ? b : c"][..])
            .prop_map(Attribute::Expression),
        1 => prop_oneof![1u16..6, 60u16..200].prop_map(Attribute::Nested),
    ]
}

fn block() -> impl Strategy<Value = Block> {
    (
        prop_oneof![9 => Just("path"), 1 => Just("other")],
        prop_oneof![12 => vec(label(), 1..=1), 1 => vec(label(), 0..=0), 1 => vec(label(), 2..=3)],
        vec(
            (
                prop_oneof![
                    6 => Just("capabilities".to_owned()),
                    3 => proptest::sample::select(ATTRIBUTE_KEYS).prop_map(str::to_owned),
                ],
                attribute(),
            ),
            0..4,
        ),
        prop_oneof![5 => Just(false), 1 => Just(true)],
        any::<bool>(),
    )
        .prop_map(
            |(identifier, labels, mut attributes, escape_unicode, one_line)| {
                // HCL has one attribute per key in a body.
                let mut seen = std::collections::BTreeSet::new();
                attributes.retain(|(key, _)| seen.insert(key.clone()));
                Block {
                    identifier,
                    labels,
                    attributes,
                    escape_unicode,
                    one_line,
                }
            },
        )
}

fn model() -> impl Strategy<Value = Model> {
    (
        vec(block(), 0..6),
        prop_oneof![4 => Just(false), 1 => Just(true)],
        any::<bool>(),
    )
        .prop_map(|(blocks, json_form, json_list)| Model {
            blocks,
            json_form,
            json_list,
        })
}

fn quote(text: &str, escape_unicode: bool) -> String {
    let mut out = String::from("\"");
    // `${` and `%{` open a template in a quoted string; doubled, they are the text itself.
    let text = text.replace("${", "$${").replace("%{", "%%{");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if escape_unicode && !c.is_ascii() && (c as u32) < 0x10000 => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render_attribute(value: &Attribute) -> String {
    match value {
        Attribute::Words(words) => format!(
            "[{}]",
            words
                .iter()
                .map(|w| quote(w, false))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Attribute::Word(word) => quote(word, false),
        Attribute::Number(n) => n.to_string(),
        Attribute::Bool(b) => b.to_string(),
        Attribute::Parameters(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, vs)| format!(
                    "{} = [{}]",
                    quote(k, false),
                    vs.iter()
                        .map(|v| quote(v, false))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Attribute::Heredoc(text) => format!("<<EOT\n{text}\nEOT\n"),
        Attribute::Expression(expression) => (*expression).to_owned(),
        Attribute::Nested(depth) => {
            let depth = usize::from(*depth);
            format!("{}\"read\"{}", "[".repeat(depth), "]".repeat(depth))
        }
    }
}

fn json_attribute(value: &Attribute) -> Value {
    match value {
        Attribute::Words(words) => json!(words),
        Attribute::Word(word) | Attribute::Heredoc(word) => json!(word),
        Attribute::Number(n) => json!(n),
        Attribute::Bool(b) => json!(b),
        Attribute::Parameters(map) => Value::Object(
            map.iter()
                .map(|(k, vs)| (k.clone(), json!(vs)))
                .collect::<Map<_, _>>(),
        ),
        Attribute::Expression(expression) => json!(expression),
        Attribute::Nested(depth) => {
            let mut value = json!("read");
            for _ in 0..*depth {
                value = json!([value]);
            }
            value
        }
    }
}

/// The rendered text and, in the HCL form, each block's first and last line.
fn render(model: &Model) -> (String, Vec<(usize, usize)>) {
    if model.json_form {
        let entries: Vec<(String, Value)> = model
            .blocks
            .iter()
            .filter(|b| b.identifier == "path")
            .filter_map(|b| {
                let body: Map<String, Value> = b
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), json_attribute(v)))
                    .collect();
                b.labels.first().map(|l| (l.clone(), Value::Object(body)))
            })
            .collect();
        let path = if model.json_list {
            Value::Array(
                entries
                    .into_iter()
                    .map(|(k, v)| Value::Object(Map::from_iter([(k, v)])))
                    .collect(),
            )
        } else {
            Value::Object(entries.into_iter().collect())
        };
        let text = serde_json::to_string_pretty(&json!({ "path": path }))
            .expect("a JSON value always renders");
        return (text, Vec::new());
    }
    let mut text = String::from("# generated policy\n");
    let mut spans = Vec::new();
    for block in &model.blocks {
        let first = text.lines().count() + 1;
        let labels: Vec<String> = block
            .labels
            .iter()
            .map(|l| quote(l, block.escape_unicode))
            .collect();
        let head = format!("{} {}", block.identifier, labels.join(" "));
        let simple = block.attributes.len() <= 1
            && !block
                .attributes
                .iter()
                .any(|(_, v)| matches!(v, Attribute::Heredoc(_)));
        if block.one_line && simple {
            let body = block
                .attributes
                .iter()
                .map(|(k, v)| format!("{k} = {}", render_attribute(v)))
                .collect::<String>();
            text.push_str(&format!("{head} {{ {body} }}\n"));
        } else {
            text.push_str(&format!("{head} {{\n"));
            for (key, value) in &block.attributes {
                let rendered = render_attribute(value);
                text.push_str(&format!("  {key} = {rendered}"));
                if !rendered.ends_with('\n') {
                    text.push('\n');
                }
            }
            text.push_str("}\n\n");
        }
        spans.push((first, text.lines().count()));
    }
    (text, spans)
}

#[derive(Debug, Clone)]
struct Case {
    model: Model,
    damage: Vec<crate::mutate::ByteEdit>,
    random: Option<Vec<u8>>,
}

impl Case {
    fn bytes(&self) -> (Vec<u8>, Vec<(usize, usize)>) {
        if let Some(random) = &self.random {
            return (random.clone(), Vec::new());
        }
        let (text, spans) = render(&self.model);
        let mut bytes = text.into_bytes();
        apply_bytes(&mut bytes, &self.damage);
        (bytes, spans)
    }
}

fn cases() -> impl Strategy<Value = Case> {
    (
        model(),
        byte_edits(HCL_TOKENS),
        prop_oneof![15 => Just(None), 1 => vec(any::<u8>(), 0..200).prop_map(Some)],
    )
        .prop_map(|(model, damage, random)| Case {
            model,
            damage,
            random,
        })
}

fn property(case: &Case) -> Result<(), String> {
    let (bytes, spans) = case.bytes();
    let fail = |problem: String| with_input(problem, &bytes);
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(());
    };
    // Block lines are known only for undamaged HCL.
    let exact = case.random.is_none() && case.damage.is_empty() && !case.model.json_form;
    let path_blocks: Vec<(&Block, (usize, usize))> = case
        .model
        .blocks
        .iter()
        .zip(spans.iter().copied())
        .filter(|(b, _)| b.identifier == "path")
        .collect();
    let in_block_of = |label: &str, line: usize| {
        path_blocks.iter().any(|(b, (first, last))| {
            b.labels.len() == 1 && b.labels[0] == label && (*first..=*last).contains(&line)
        })
    };
    match no_panic(|| parse_policy(POLICY_NAME, text)).map_err(fail)? {
        Err(error) => {
            if error.policy != POLICY_NAME || error.message.trim().is_empty() {
                return Err(fail(format!(
                    "a rejection without its policy or message: {error}"
                )));
            }
            check_line_column(&bytes, error.line, error.column)
                .map_err(|p| fail(format!("`{error}`: {p}")))?;
            if !exact {
                return Ok(());
            }
            if error.message.contains("exactly one quoted path label") {
                let (_, (first, last)) = path_blocks
                    .iter()
                    .find(|(b, _)| b.labels.len() != 1)
                    .ok_or_else(|| fail(format!("`{error}` but every block has one label")))?;
                if !(*first..=*last).contains(&error.line) {
                    return Err(fail(format!(
                        "`{error}` points at line {}, the block is on lines {first}-{last}",
                        error.line
                    )));
                }
            }
            let about: Vec<&str> = path_blocks
                .iter()
                .filter(|(b, _)| b.labels.len() == 1)
                .map(|(b, _)| b.labels[0].as_str())
                .filter(|l| error.message.starts_with(&format!("path \"{l}\": ")))
                .collect();
            if !about.is_empty() && !about.iter().any(|l| in_block_of(l, error.line)) {
                return Err(fail(format!(
                    "`{error}` points at line {}, outside every block of that path",
                    error.line
                )));
            }
            Ok(())
        }
        Ok(policy) => {
            for rule in &policy.rules {
                check_line_column(&bytes, rule.line, 1)
                    .map_err(|p| fail(format!("rule `{}`: {p}", rule.path)))?;
            }
            if exact {
                if policy.rules.len() != path_blocks.len() {
                    return Err(fail(format!(
                        "{} rules from {} path blocks",
                        policy.rules.len(),
                        path_blocks.len()
                    )));
                }
                for (block, (first, last)) in &path_blocks {
                    let label = &block.labels[0];
                    let stripped = label.strip_prefix('/').unwrap_or(label);
                    let placed = policy
                        .rules
                        .iter()
                        .any(|r| r.path == stripped && (*first..=*last).contains(&r.line));
                    if !placed {
                        return Err(fail(format!(
                            "no rule of path `{label}` on lines {first}-{last} (rules at {:?})",
                            policy
                                .rules
                                .iter()
                                .map(|r| (&r.path, r.line))
                                .collect::<Vec<_>>()
                        )));
                    }
                }
            }
            Ok(())
        }
    }
}

pub fn run(seed: u64, cases_to_run: u32) -> Outcome {
    check(seed, cases_to_run, cases(), property)
}
