//! `JSON_VALUE(json, path)`: the scalar at a JSON path of a JSON text, as a string, as Flink's
//! `JSON_VALUE` with its defaults (`RETURNING STRING`, `NULL ON EMPTY`, `NULL ON ERROR`).
//!
//! Paths are the lax JSON paths Flink users write: `$`, then `.name`, `['name']` or `[index]`
//! steps. A path that leads nowhere or to an object or array, and a text that is not JSON, give
//! `NULL`; a path that cannot be read is a planning error.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType as ArrowType;
use datafusion::common::{exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use serde_json::Value as Json;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A member of an object.
    Member(String),
    /// An element of an array.
    Element(usize),
}

/// The steps of `path`, or what is wrong with it.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let rest = path.trim();
    // Flink's paths may start with a mode, `lax` (the default) or `strict`.
    let rest = rest.strip_prefix("lax ").or_else(|| rest.strip_prefix("strict ")).unwrap_or(rest).trim_start();
    let Some(mut rest) = rest.strip_prefix('$') else {
        return Err(format!("the JSON path '{path}' does not start with '$'"));
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() {
                return Err(format!("the JSON path '{path}' has a '.' without a member name after it"));
            }
            steps.push(Step::Member(name.to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return Err(format!("the JSON path '{path}' has a '[' without its ']'"));
            };
            let inside = after[..end].trim();
            let quoted = inside
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inside.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
            match (quoted, inside.parse::<usize>()) {
                (Some(name), _) => steps.push(Step::Member(name.to_string())),
                (None, Ok(index)) => steps.push(Step::Element(index)),
                (None, Err(_)) => {
                    return Err(format!("the JSON path '{path}' has '[{inside}]': write an index or a quoted name"))
                }
            }
            rest = &after[end + 1..];
        } else {
            return Err(format!("the JSON path '{path}' has '{rest}' where '.' or '[' was expected"));
        }
    }
    Ok(steps)
}

/// The scalar of `json` at `steps`, as text.
fn value_at(json: &str, steps: &[Step]) -> Option<String> {
    let parsed: Json = serde_json::from_str(json).ok()?;
    let mut current = &parsed;
    for step in steps {
        current = match step {
            Step::Member(name) => current.as_object()?.get(name)?,
            Step::Element(index) => current.as_array()?.get(*index)?,
        };
    }
    match current {
        Json::String(text) => Some(text.clone()),
        Json::Number(number) => Some(number.to_string()),
        Json::Bool(flag) => Some(flag.to_string()),
        Json::Null | Json::Array(_) | Json::Object(_) => None,
    }
}

/// The `JSON_VALUE` function as DataFusion's planner sees it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct JsonValue {
    signature: Signature,
}

impl JsonValue {
    pub(crate) fn new() -> Self {
        JsonValue { signature: Signature::string(2, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for JsonValue {
    fn name(&self) -> &str {
        "json_value"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[ArrowType]) -> datafusion::common::Result<ArrowType> {
        Ok(ArrowType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> datafusion::common::Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [json, path] = arrays.as_slice() else {
            return plan_err!("JSON_VALUE takes a JSON text and a path: JSON_VALUE(json, '$.name')");
        };
        let json = datafusion::arrow::compute::cast(json, &ArrowType::Utf8)?;
        let path = datafusion::arrow::compute::cast(path, &ArrowType::Utf8)?;
        let (json, path) = (json.as_string::<i32>(), path.as_string::<i32>());
        let mut parsed: Option<(String, Vec<Step>)> = None;
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for row in 0..rows {
            if json.is_null(row) || path.is_null(row) {
                out.append_null();
                continue;
            }
            let text = path.value(row);
            if parsed.as_ref().is_none_or(|(cached, _)| cached != text) {
                match parse_path(text) {
                    Ok(steps) => parsed = Some((text.to_string(), steps)),
                    Err(message) => return exec_err!("{message}"),
                }
            }
            let steps = parsed.as_ref().map(|(_, steps)| steps.as_slice()).unwrap_or_default();
            out.append_option(value_at(json.value(row), steps));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str =
        r#"{"name": "Flink", "tel": 123, "ok": true, "addr": {"country": "Germany"}, "tags": ["a", "b"]}"#;

    fn at(path: &str) -> Option<String> {
        value_at(DATA, &parse_path(path).unwrap())
    }

    #[test]
    fn scalars_at_paths_read_as_text() {
        assert_eq!(at("$.name").as_deref(), Some("Flink"));
        assert_eq!(at("$.tel").as_deref(), Some("123"));
        assert_eq!(at("$.ok").as_deref(), Some("true"));
        assert_eq!(at("$.addr.country").as_deref(), Some("Germany"));
        assert_eq!(at("$['addr']['country']").as_deref(), Some("Germany"));
        assert_eq!(at("lax $.tags[1]").as_deref(), Some("b"));
    }

    #[test]
    fn missing_values_objects_and_bad_json_are_null() {
        assert_eq!(at("$.nothing"), None);
        assert_eq!(at("$.addr"), None);
        assert_eq!(at("$.tags[5]"), None);
        assert_eq!(value_at("not json", &parse_path("$.a").unwrap()), None);
    }

    #[test]
    fn bad_paths_say_what_is_wrong() {
        assert!(parse_path("name").unwrap_err().contains("does not start with '$'"));
        assert!(parse_path("$.a[x]").unwrap_err().contains("write an index or a quoted name"));
        assert!(parse_path("$.").unwrap_err().contains("without a member name"));
    }
}
