//! Structural mutations of a JSON tree (drop, duplicate, retype, rename, swap, graft, nest) and
//! byte-level damage of the rendered text (truncation, insertion of syntax tokens, bit flips).
//! Edits address nodes by a number taken modulo the node count, so any edit applies to any tree
//! and a shrunk edit list is still meaningful.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// One step from the root to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// One structural edit of a document tree.
#[derive(Debug, Clone)]
pub enum TreeEdit {
    /// Removes a node (an object member or an array element).
    Remove { at: u32 },
    /// Repeats an array element, or copies an object member under a new key.
    Duplicate { at: u32 },
    /// Puts a value of another type (or an odd value of the same type) in a node's place.
    Replace { at: u32, with: Value },
    /// Renames an object member (a typo, another case, an unknown field).
    Rename { at: u32, to: String },
    /// Adds a member to an object or an element to an array.
    Insert { at: u32, key: String, value: Value },
    /// Exchanges two subtrees.
    Swap { a: u32, b: u32 },
    /// Copies one subtree over another (an agent where a grant belongs, an id elsewhere).
    Graft { from: u32, to: u32 },
    /// Wraps a node in `depth` arrays or objects.
    Nest {
        at: u32,
        depth: u16,
        in_objects: bool,
    },
}

/// Damage to rendered bytes.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    Truncate { at: u32 },
    Remove { at: u32, len: u8 },
    Insert { at: u32, bytes: Vec<u8> },
    Flip { at: u32, mask: u8 },
}

/// Every node's path in pre-order (the root first).
fn node_paths(root: &Value) -> Vec<Vec<Step>> {
    let mut paths = Vec::new();
    let mut stack = vec![(Vec::new(), root)];
    while let Some((path, value)) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter().rev() {
                    let mut child_path = path.clone();
                    child_path.push(Step::Key(key.clone()));
                    stack.push((child_path, child));
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate().rev() {
                    let mut child_path = path.clone();
                    child_path.push(Step::Index(index));
                    stack.push((child_path, child));
                }
            }
            _ => {}
        }
        paths.push(path);
    }
    paths
}

fn get_mut<'v>(root: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    let mut node = root;
    for step in path {
        node = match (step, node) {
            (Step::Key(key), Value::Object(map)) => map.get_mut(key)?,
            (Step::Index(index), Value::Array(items)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(node)
}

fn get<'v>(root: &'v Value, path: &[Step]) -> Option<&'v Value> {
    let mut node = root;
    for step in path {
        node = match (step, node) {
            (Step::Key(key), Value::Object(map)) => map.get(key)?,
            (Step::Index(index), Value::Array(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(node)
}

fn pick(paths: &[Vec<Step>], at: u32) -> &[Step] {
    &paths[at as usize % paths.len()]
}

/// A non-root node's path (`None` for a tree that is only its root).
fn pick_child(paths: &[Vec<Step>], at: u32) -> Option<&[Step]> {
    (paths.len() > 1).then(|| paths[1 + at as usize % (paths.len() - 1)].as_slice())
}

/// `true` when `inner` lies inside (or is) `outer`.
fn within(inner: &[Step], outer: &[Step]) -> bool {
    inner.len() >= outer.len() && inner[..outer.len()] == *outer
}

/// Applies `edits` to `root` in order; an edit that does not fit the tree does nothing.
pub fn apply_tree(root: &mut Value, edits: &[TreeEdit]) {
    for edit in edits {
        let paths = node_paths(root);
        match edit {
            TreeEdit::Remove { at } => {
                if let Some(path) = pick_child(&paths, *at) {
                    remove(root, path);
                }
            }
            TreeEdit::Duplicate { at } => {
                if let Some(path) = pick_child(&paths, *at) {
                    duplicate(root, path);
                }
            }
            TreeEdit::Replace { at, with } => {
                if let Some(node) = get_mut(root, pick(&paths, *at)) {
                    *node = with.clone();
                }
            }
            TreeEdit::Rename { at, to } => {
                if let Some(path) = pick_child(&paths, *at)
                    && let (Some(Step::Key(key)), parent) = (path.last(), &path[..path.len() - 1])
                    && let Some(Value::Object(map)) = get_mut(root, parent)
                    && let Some(value) = map.remove(key)
                {
                    map.insert(to.clone(), value);
                }
            }
            TreeEdit::Insert { at, key, value } => match get_mut(root, pick(&paths, *at)) {
                Some(Value::Object(map)) => {
                    map.insert(key.clone(), value.clone());
                }
                Some(Value::Array(items)) => {
                    let index = key.len() % (items.len() + 1);
                    items.insert(index, value.clone());
                }
                _ => {}
            },
            TreeEdit::Swap { a, b } => {
                let (a, b) = (pick(&paths, *a).to_vec(), pick(&paths, *b).to_vec());
                if within(&a, &b) || within(&b, &a) {
                    continue;
                }
                let (Some(va), Some(vb)) = (get(root, &a).cloned(), get(root, &b).cloned()) else {
                    continue;
                };
                if let Some(node) = get_mut(root, &a) {
                    *node = vb;
                }
                if let Some(node) = get_mut(root, &b) {
                    *node = va;
                }
            }
            TreeEdit::Graft { from, to } => {
                let (from, to) = (pick(&paths, *from).to_vec(), pick(&paths, *to).to_vec());
                if let Some(value) = get(root, &from).cloned()
                    && let Some(node) = get_mut(root, &to)
                {
                    *node = value;
                }
            }
            TreeEdit::Nest {
                at,
                depth,
                in_objects,
            } => {
                if let Some(node) = get_mut(root, pick(&paths, *at)) {
                    let mut value = node.take();
                    for _ in 0..*depth {
                        value = if *in_objects {
                            Value::Object(Map::from_iter([("n".to_owned(), value)]))
                        } else {
                            Value::Array(vec![value])
                        };
                    }
                    *node = value;
                }
            }
        }
    }
}

fn remove(root: &mut Value, path: &[Step]) {
    let (last, parent) = path.split_last().expect("a child path is not empty");
    match (last, get_mut(root, parent)) {
        (Step::Key(key), Some(Value::Object(map))) => {
            map.remove(key);
        }
        (Step::Index(index), Some(Value::Array(items))) if *index < items.len() => {
            items.remove(*index);
        }
        _ => {}
    }
}

fn duplicate(root: &mut Value, path: &[Step]) {
    let (last, parent) = path.split_last().expect("a child path is not empty");
    match (last, get_mut(root, parent)) {
        (Step::Key(key), Some(Value::Object(map))) => {
            if let Some(value) = map.get(key).cloned() {
                map.insert(format!("{key}_copy"), value);
            }
        }
        (Step::Index(index), Some(Value::Array(items))) if *index < items.len() => {
            let value = items[*index].clone();
            items.insert(*index, value);
        }
        _ => {}
    }
}

/// Applies byte damage in order.
pub fn apply_bytes(bytes: &mut Vec<u8>, edits: &[ByteEdit]) {
    for edit in edits {
        let position = |at: u32, len: usize| at as usize % (len + 1);
        match edit {
            ByteEdit::Truncate { at } => {
                let cut = position(*at, bytes.len());
                bytes.truncate(cut);
            }
            ByteEdit::Remove { at, len } => {
                let start = position(*at, bytes.len());
                let end = (start + usize::from(*len)).min(bytes.len());
                bytes.drain(start..end);
            }
            ByteEdit::Insert {
                at,
                bytes: inserted,
            } => {
                let start = position(*at, bytes.len());
                bytes.splice(start..start, inserted.iter().copied());
            }
            ByteEdit::Flip { at, mask } => {
                if !bytes.is_empty() {
                    let index = *at as usize % bytes.len();
                    bytes[index] ^= mask.max(&1);
                }
            }
        }
    }
}

/// Strings that break readers: empty, blank, over-long, control characters, right-to-left
/// overrides, non-BMP characters, lone combining marks, path-like and template-like text.
const ODD_STRINGS: &[&str] = &[
    "",
    " ",
    "\t\n",
    "\0",
    "\u{7f}",
    "\u{202e}evil",
    "\u{feff}",
    "ünïcödé",
    "\u{1F600}",
    "\u{0301}",
    "a\u{0}b",
    "\\",
    "\"",
    "'",
    "${x}",
    "%{if}",
    "{{identity.entity.id}}",
    "*",
    "+",
    "+*",
    "/",
    "//",
    "..",
    ".",
    "null",
    "true",
    "0",
    "-1",
    "1e999",
    "0x10",
    "~",
    "- a",
    "a: b",
    "&anchor",
    "*alias",
    "!!binary",
    "<<",
    "2026-02-30T00:00:00Z",
    "2026-01-01T00:00:00+02:00",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "15m",
    "0s",
    "1.5s",
    "99999999999999999999y",
    "spiffe://",
    "spiffe://UPPER/x",
    "spiffe://td/a//b",
    "spiffe://td/a/",
    "http://127.0.0.1:1/",
];

/// A string for a field: a word the reader knows, an odd string, arbitrary text, or a long one.
pub fn fuzz_string(words: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        4 => proptest::sample::select(words).prop_map(str::to_owned),
        3 => proptest::sample::select(ODD_STRINGS).prop_map(str::to_owned),
        2 => "\\PC{0,24}",
        1 => (1usize..3000, proptest::sample::select(&["x", "é", "/", "a/"][..]))
            .prop_map(|(n, unit)| unit.repeat(n)),
    ]
    .boxed()
}

/// Integers at the edges of the types readers convert them to, and the ends of chrono's range.
pub const EDGE_INTEGERS: &[i64] = &[
    0,
    -1,
    1,
    i32::MAX as i64,
    i32::MAX as i64 + 1,
    i32::MIN as i64,
    i64::MAX,
    i64::MIN,
    9_007_199_254_740_993,
    253_402_300_800,
    -62_135_596_801,
    8_210_298_412_800,
];

/// Numbers at the edges: 0, −1, the ends of i32, i64 and u64, 2^53 + 1, floats, fractions.
fn fuzz_number() -> BoxedStrategy<Value> {
    prop_oneof![
        proptest::sample::select(EDGE_INTEGERS).prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<i64>().prop_map(Value::from),
        proptest::sample::select(&[0.5f64, -0.0, 1e308, -1e308, 1e-300, 3600.0, 1.5][..])
            .prop_map(Value::from),
    ]
    .boxed()
}

/// Any JSON value, leaning towards the odd ones; containers stay small.
pub fn fuzz_value(words: &'static [&'static str]) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        fuzz_number(),
        fuzz_string(words).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 12, 4, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((fuzz_string(words), inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A list of structural edits; `words` are the field names and values the reader knows.
pub fn tree_edits(words: &'static [&'static str]) -> BoxedStrategy<Vec<TreeEdit>> {
    let node = any::<u32>();
    let edit = prop_oneof![
        3 => node.prop_map(|at| TreeEdit::Remove { at }),
        2 => node.prop_map(|at| TreeEdit::Duplicate { at }),
        4 => (node, fuzz_value(words)).prop_map(|(at, with)| TreeEdit::Replace { at, with }),
        2 => (node, fuzz_string(words)).prop_map(|(at, to)| TreeEdit::Rename { at, to }),
        2 => (node, fuzz_string(words), fuzz_value(words))
            .prop_map(|(at, key, value)| TreeEdit::Insert { at, key, value }),
        1 => (node, node).prop_map(|(a, b)| TreeEdit::Swap { a, b }),
        2 => (node, node).prop_map(|(from, to)| TreeEdit::Graft { from, to }),
        1 => (node, prop_oneof![1u16..8, 100u16..300], any::<bool>())
            .prop_map(|(at, depth, in_objects)| TreeEdit::Nest { at, depth, in_objects }),
    ];
    vec(edit, 0..5).boxed()
}

/// A list of byte edits, mostly none, using `tokens` of the document's syntax.
pub fn byte_edits(tokens: &'static [&'static str]) -> BoxedStrategy<Vec<ByteEdit>> {
    let at = any::<u32>();
    let edit = prop_oneof![
        2 => at.prop_map(|at| ByteEdit::Truncate { at }),
        1 => (at, 1u8..16).prop_map(|(at, len)| ByteEdit::Remove { at, len }),
        3 => (at, proptest::sample::select(tokens))
            .prop_map(|(at, token)| ByteEdit::Insert { at, bytes: token.as_bytes().to_vec() }),
        1 => (at, vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| ByteEdit::Insert { at, bytes }),
        1 => (at, any::<u8>()).prop_map(|(at, mask)| ByteEdit::Flip { at, mask }),
    ];
    prop_oneof![
        3 => Just(Vec::new()),
        1 => vec(edit, 1..4),
    ]
    .boxed()
}

/// Syntax tokens of JSON, and bytes no UTF-8 text has.
pub const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "\\",
    "\\u0000",
    "\\ud800",
    "1e999",
    "-0",
    "true",
    "null",
    "NaN",
    "// c\n",
    "\u{feff}",
    "\u{ff}",
    "\n",
    " ",
    "18446744073709551616",
];

/// Syntax tokens of YAML (anchors, aliases, merges, tags, document markers, block scalars).
pub const YAML_TOKENS: &[&str] = &[
    "- ",
    ": ",
    "? ",
    "&a ",
    "*a",
    "*nope",
    "!!str ",
    "!!binary ",
    "!!int ",
    "<<: *a\n",
    "---\n",
    "...\n",
    "\t",
    "|\n",
    ">-\n",
    "%YAML 1.2\n",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "# c\n",
    "\n  ",
    "\n",
    "~",
    "\u{feff}",
    "\u{ff}",
    ",",
    "!",
    "@",
    "`",
];

/// The bytes of a value rendered as JSON, pretty or compact.
pub fn to_json(value: &Value, pretty: bool) -> Vec<u8> {
    if pretty {
        serde_json::to_vec_pretty(value).expect("a JSON value always renders")
    } else {
        serde_json::to_vec(value).expect("a JSON value always renders")
    }
}

/// The bytes of a value rendered as YAML (the JSON rendering when YAML cannot say it).
pub fn to_yaml(value: &Value) -> Vec<u8> {
    serde_norway::to_string(value)
        .map(String::into_bytes)
        .unwrap_or_else(|_| to_json(value, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn edits_address_nodes_modulo_their_count() {
        let mut doc = json!({"a": [1, 2], "b": {"c": true}});
        // Nodes in pre-order: root, a, a[0], a[1], b, b.c; child index 2 (mod 5) is a[1].
        apply_tree(&mut doc, &[TreeEdit::Remove { at: 7 }]);
        assert_eq!(doc, json!({"a": [1], "b": {"c": true}}));
        apply_tree(
            &mut doc,
            &[TreeEdit::Nest {
                at: 0,
                depth: 2,
                in_objects: false,
            }],
        );
        assert_eq!(doc, json!([[{"a": [1], "b": {"c": true}}]]));
    }

    #[test]
    fn byte_edits_stay_inside_the_text() {
        let mut bytes = b"{\"a\": 1}".to_vec();
        apply_bytes(
            &mut bytes,
            &[
                ByteEdit::Remove { at: 3, len: 200 },
                ByteEdit::Insert {
                    at: 3,
                    bytes: b"]".to_vec(),
                },
            ],
        );
        assert_eq!(bytes, b"{\"a]");
    }
}
