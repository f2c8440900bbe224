//! Writes a config tree (JSON values, in their order) as block YAML that `config::load` reads
//! back to the same values. Written by hand: the crate we read YAML with (saphyr-parser) has no
//! writer, and a config needs only maps, lists and scalars. A string is written plain when
//! nothing in it could be read as something else, else double-quoted with JSON's escapes
//! (valid YAML); `${` becomes `$${` so that interpolation gives the text back.

use serde_json::Value;

/// The tree as YAML, one key or item per line, two spaces per level.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&string(key));
        out.push(':');
        write_nested(out, value, indent);
    }
}

/// After `key:` or `-`: a scalar or an empty collection on the same line, else the block below.
fn write_nested(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_list(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            // `- key: value` with the map's other keys under the first.
            Value::Object(map) if !map.is_empty() => {
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&string(key));
                    out.push(':');
                    write_nested(out, value, indent + 2);
                }
            }
            other => write_nested(out, other, indent),
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

/// Marks a string made by `variable`: no text from AWS starts with NUL.
const VARIABLE: char = '\u{0}';

/// A value written as `${NAME}`, which `config::load` reads from the environment (every other
/// string is written to read back as it is).
pub fn variable(name: &str) -> Value {
    Value::String(format!("{VARIABLE}{name}"))
}

/// Plain when it is safe to be, else double-quoted.
fn string(text: &str) -> String {
    if let Some(name) = text.strip_prefix(VARIABLE) {
        return format!("\"${{{name}}}\"");
    }
    let text = text.replace("${", "$${");
    if is_plain_safe(&text) {
        text
    } else {
        serde_json::to_string(&text).expect("a string serializes")
    }
}

/// Letters, digits and a few punctuation marks that mean nothing at the start of a YAML plain
/// scalar, and not a word YAML 1.1 or 1.2 reads as a boolean, null or number.
fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-./@+=:,".contains(c);
    if !(first.is_ascii_alphanumeric() || first == '_' || first == '/')
        || !text.chars().all(allowed)
        || text.ends_with(':')
        || text.contains(": ")
    {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    let reserved = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ];
    let numeric = text
        .trim_start_matches(['+', '-'])
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '_' || c == 'e' || c == 'E')
        || lower.starts_with("0x")
        || lower.starts_with("0o")
        || lower == ".inf"
        || lower == ".nan";
    !reserved.contains(&lower.as_str()) && !numeric
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_lists_and_scalars_are_block_yaml() {
        let tree = json!({
            "app": "api",
            "service": { "subnets": ["subnet-1", "subnet-2"], "desired_count": 2, "tags": {} },
            "containers": [
                { "name": "app", "port": 8080, "environment": { "A": "1.10", "B": "yes" } },
                { "name": "log-router", "image": "public.ecr.aws/x/fluent-bit:3" }
            ],
            "empty": []
        });
        assert_eq!(
            to_yaml(&tree),
            "\
app: api
service:
  subnets:
    - subnet-1
    - subnet-2
  desired_count: 2
  tags: {}
containers:
  - name: app
    port: 8080
    environment:
      A: \"1.10\"
      B: \"yes\"
  - name: log-router
    image: public.ecr.aws/x/fluent-bit:3
empty: []
"
        );
    }

    #[test]
    fn strings_that_could_read_as_something_else_are_quoted() {
        for (text, written) in [
            ("arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x"),
            ("0347126", "\"0347126\""),
            ("on", "\"on\""),
            ("a: b", "\"a: b\""),
            ("# not a comment", "\"# not a comment\""),
            (
                "wget -q http://x || exit 1",
                "\"wget -q http://x || exit 1\"",
            ),
            ("line\nbreak", "\"line\\nbreak\""),
            ("${HOME}", "\"$${HOME}\""),
            ("", "\"\""),
        ] {
            assert_eq!(string(text), written, "{text}");
        }
        assert_eq!(
            to_yaml(&json!({ "DB_PASSWORD": variable("DB_PASSWORD") })),
            "DB_PASSWORD: \"${DB_PASSWORD}\"\n"
        );
    }
}
