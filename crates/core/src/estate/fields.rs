//! Reads one entity object field by field, recording every problem with its JSON path instead of
//! stopping at the first one.

use serde_json::{Map, Value};

use super::diagnostic::Diagnostic;
use crate::model::{Action, ActionSet};
use crate::time::{Timestamp, parse_utc};

/// The longest id estate/v1 allows, in bytes.
pub const MAX_ID_BYTES: usize = 512;

/// Names the JSON type of a value for messages ("expected a string, found a number").
pub fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks an id against the namespace rules; `Err` carries the message.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        Err("an id must not be empty".to_owned())
    } else if id.len() > MAX_ID_BYTES {
        Err(format!(
            "an id must be at most {MAX_ID_BYTES} bytes; this one has {}",
            id.len()
        ))
    } else {
        Ok(())
    }
}

/// An environment is "any lower-case word": letters, digits, `-` and `_`, starting with a letter
/// or digit.
pub fn check_environment(word: &str) -> Result<(), String> {
    let mut chars = word.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = word
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if starts_well && rest_ok {
        Ok(())
    } else {
        Err(format!(
            "`{word}` is not a lower-case word (use e.g. prod, staging, dev, or null when unknown)"
        ))
    }
}

/// One JSON object being read. Each accessor returns `None` after recording an error; the caller
/// builds the entity only when every field came back.
pub struct Fields<'a> {
    path: String,
    map: Map<String, Value>,
    out: &'a mut Vec<Diagnostic>,
}

impl<'a> Fields<'a> {
    /// Starts reading `value` found at `path`; records an error and returns `None` when it is
    /// not an object.
    pub fn new(path: String, value: Value, out: &'a mut Vec<Diagnostic>) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Fields { path, map, out }),
            other => {
                out.push(Diagnostic::error(
                    path,
                    format!("expected an object, found {}", describe(&other)),
                ));
                None
            }
        }
    }

    fn field_path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn error_at(&mut self, key: &str, message: impl Into<String>) {
        let path = self.field_path(key);
        self.out.push(Diagnostic::error(path, message));
    }

    /// Records an error on this object as a whole.
    pub fn error(&mut self, message: impl Into<String>) {
        self.out.push(Diagnostic::error(self.path.clone(), message));
    }

    /// A required, non-null field.
    fn required(&mut self, key: &str) -> Option<Value> {
        match self.map.remove(key) {
            None => {
                self.error(format!("missing required field `{key}`"));
                None
            }
            Some(Value::Null) => {
                self.error_at(key, format!("`{key}` must not be null"));
                None
            }
            Some(value) => Some(value),
        }
    }

    /// An optional field: absent and `null` both mean "unknown".
    fn optional(&mut self, key: &str) -> Option<Value> {
        match self.map.remove(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    fn expect_string(&mut self, key: &str, value: Value) -> Option<String> {
        match value {
            Value::String(text) => Some(text),
            other => {
                self.error_at(
                    key,
                    format!("expected a string, found {}", describe(&other)),
                );
                None
            }
        }
    }

    pub fn required_string(&mut self, key: &str) -> Option<String> {
        let value = self.required(key)?;
        self.expect_string(key, value)
    }

    /// `Some(None)` when absent or null; `None` after an error.
    pub fn optional_string(&mut self, key: &str) -> Option<Option<String>> {
        match self.optional(key) {
            None => Some(None),
            Some(value) => self.expect_string(key, value).map(Some),
        }
    }

    /// A required id (of this entity, or a reference to another).
    pub fn id(&mut self, key: &str) -> Option<String> {
        let id = self.required_string(key)?;
        self.checked_id(key, id)
    }

    fn checked_id(&mut self, key: &str, id: String) -> Option<String> {
        match check_id(&id) {
            Ok(()) => Some(id),
            Err(message) => {
                self.error_at(key, message);
                None
            }
        }
    }

    /// An optional reference to another entity.
    pub fn optional_id(&mut self, key: &str) -> Option<Option<String>> {
        match self.optional_string(key)? {
            None => Some(None),
            Some(id) => self.checked_id(key, id).map(Some),
        }
    }

    pub fn required_bool(&mut self, key: &str) -> Option<bool> {
        match self.required(key)? {
            Value::Bool(flag) => Some(flag),
            other => {
                self.error_at(
                    key,
                    format!("expected true or false, found {}", describe(&other)),
                );
                None
            }
        }
    }

    /// A required word from a closed vocabulary.
    pub fn vocabulary<T>(
        &mut self,
        key: &str,
        what: &str,
        parse: fn(&str) -> Option<T>,
        expected: String,
    ) -> Option<T> {
        let word = self.required_string(key)?;
        match parse(&word) {
            Some(value) => Some(value),
            None => {
                self.error_at(
                    key,
                    format!("unknown {what} `{word}` (expected one of: {expected})"),
                );
                None
            }
        }
    }

    /// An optional RFC 3339 UTC timestamp.
    pub fn time(&mut self, key: &str) -> Option<Option<Timestamp>> {
        match self.optional_string(key)? {
            None => Some(None),
            Some(text) => match parse_utc(&text) {
                Ok(time) => Some(Some(time)),
                Err(message) => {
                    self.error_at(key, message);
                    None
                }
            },
        }
    }

    /// An optional environment word.
    pub fn environment(&mut self, key: &str) -> Option<Option<String>> {
        match self.optional_string(key)? {
            None => Some(None),
            Some(word) => match check_environment(&word) {
                Ok(()) => Some(Some(word)),
                Err(message) => {
                    self.error_at(key, message);
                    None
                }
            },
        }
    }

    /// A list of ids; absent means empty. Every bad element is reported.
    pub fn id_list(&mut self, key: &str) -> Option<Vec<String>> {
        let items = match self.map.remove(key) {
            None => return Some(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error_at(
                    key,
                    format!("expected an array of ids, found {}", describe(&other)),
                );
                return None;
            }
        };
        let mut ids = Vec::with_capacity(items.len());
        let mut ok = true;
        for (index, item) in items.into_iter().enumerate() {
            let element = format!("{key}[{index}]");
            match item {
                Value::String(id) => match check_id(&id) {
                    Ok(()) => ids.push(id),
                    Err(message) => {
                        self.error_at(&element, message);
                        ok = false;
                    }
                },
                other => {
                    self.error_at(
                        &element,
                        format!("expected an id string, found {}", describe(&other)),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(ids)
    }

    /// A required, non-empty list of actions.
    pub fn actions(&mut self, key: &str) -> Option<ActionSet> {
        let value = self.required(key)?;
        let Value::Array(items) = value else {
            self.error_at(
                key,
                format!("expected an array of actions, found {}", describe(&value)),
            );
            return None;
        };
        if items.is_empty() {
            self.error_at(key, "actions must not be empty");
            return None;
        }
        let mut set = ActionSet::EMPTY;
        let mut ok = true;
        for (index, item) in items.into_iter().enumerate() {
            let element = format!("{key}[{index}]");
            match item {
                Value::String(word) => match Action::parse(&word) {
                    Some(action) => set.insert(action),
                    None => {
                        self.error_at(
                            &element,
                            format!(
                                "unknown action `{word}` (expected one of: {})",
                                Action::expected()
                            ),
                        );
                        ok = false;
                    }
                },
                other => {
                    self.error_at(
                        &element,
                        format!("expected an action word, found {}", describe(&other)),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(set)
    }

    /// A list of nested objects, each read by `read`; absent means empty.
    pub fn objects<T>(
        &mut self,
        key: &str,
        mut read: impl FnMut(&mut Fields<'_>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let items = match self.map.remove(key) {
            None => return Some(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error_at(
                    key,
                    format!("expected an array, found {}", describe(&other)),
                );
                return None;
            }
        };
        let mut values = Vec::with_capacity(items.len());
        let mut ok = true;
        for (index, item) in items.into_iter().enumerate() {
            let path = format!("{}.{key}[{index}]", self.path);
            let Some(mut nested) = Fields::new(path, item, self.out) else {
                ok = false;
                continue;
            };
            match read(&mut nested) {
                Some(value) if nested.finish() => values.push(value),
                _ => ok = false,
            }
        }
        ok.then_some(values)
    }

    /// Warns about fields estate/v1 does not define (usually a typo). Returns `true` so it can be
    /// chained after the reads.
    pub fn finish(&mut self) -> bool {
        let unknown: Vec<String> = self.map.keys().cloned().collect();
        for key in unknown {
            let path = self.field_path(&key);
            self.out.push(Diagnostic::warning(
                path,
                format!("unknown field `{key}` is ignored (not part of estate/v1)"),
            ));
        }
        self.map.clear();
        true
    }
}
