//! `${VAR}` and `${VAR:-default}` in config values, from the environment.
//!
//! Only values are interpolated, never keys or comments. `$${` writes a literal `${`. An
//! interpolated value is the text it was: `VERSION=1.10` stays `1.10`, `SHORT_SHA=0347126`
//! stays `0347126`. Only where the config's model wants a number or a boolean (`port:
//! ${PORT:-5000}`) is the text read as one (`config::load` does that, by the path serde names).

use super::diagnostic::{Diagnostic, Location};
use super::yaml::{Node, Value};

/// Interpolates every string value in the tree; returns all problems found.
pub fn interpolate_tree(
    root: &mut Node,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        if let Value::String(text) = &node.value
            && text.contains('$')
        {
            match expand(text, lookup) {
                // A plain scalar keeps `plain`: `source_map::to_json` offers its typed reading
                // to the fields that need one.
                Ok(expanded) => node.value = Value::String(expanded),
                Err(problem) => {
                    let location = problem_location(node, text, problem.offset);
                    problems.push(problem.into_diagnostic(file, location));
                }
            }
            continue;
        }
        match &mut node.value {
            Value::Seq(items) => pending.extend(items.iter_mut()),
            Value::Map(entries) => pending.extend(entries.iter_mut().map(|e| &mut e.value)),
            _ => {}
        }
    }
    problems.sort_by_key(|d| d.location);
    problems
}

/// A single-line plain scalar maps offsets to columns exactly; elsewhere point at the value.
fn problem_location(node: &Node, text: &str, offset: usize) -> Location {
    if node.plain && !text.contains('\n') {
        Location {
            line: node.location.line,
            column: node.location.column + text[..offset].chars().count(),
        }
    } else {
        node.location
    }
}

#[derive(Debug, PartialEq)]
pub struct Problem {
    /// Byte offset of the `${` in the value.
    pub offset: usize,
    pub kind: ProblemKind,
}

#[derive(Debug, PartialEq)]
pub enum ProblemKind {
    Unset(String),
    Unclosed,
    BadName(String),
}

impl Problem {
    fn into_diagnostic(self, file: &str, location: Location) -> Diagnostic {
        match self.kind {
            ProblemKind::Unset(name) => Diagnostic::error(
                "unset-variable",
                file,
                location,
                format!("environment variable `{name}` is not set and has no default"),
            )
            .with_fix(format!(
                "export {name}=..., or give a default: `${{{name}:-value}}`"
            )),
            ProblemKind::Unclosed => Diagnostic::error(
                "bad-interpolation",
                file,
                location,
                "`${` is not closed by `}`",
            )
            .with_fix("write `${NAME}` or `${NAME:-default}`; for a literal `${` write `$${`"),
            ProblemKind::BadName(name) => Diagnostic::error(
                "bad-interpolation",
                file,
                location,
                format!("`{name}` is not a variable name"),
            )
            .with_fix("variable names are letters, digits and `_`, not starting with a digit"),
        }
    }
}

/// Expands one string.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Problem> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed = 0;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(escaped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = escaped;
            consumed += at + 3;
            continue;
        }
        if !after.starts_with("${") {
            out.push('$');
            rest = &after[1..];
            consumed += at + 1;
            continue;
        }
        let offset = consumed + at;
        let Some(close) = after.find('}') else {
            return Err(Problem {
                offset,
                kind: ProblemKind::Unclosed,
            });
        };
        let inner = &after[2..close];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if !is_variable_name(name) {
            return Err(Problem {
                offset,
                kind: ProblemKind::BadName(name.to_string()),
            });
        }
        match (lookup(name), default) {
            // `:-` also applies to a variable that is set but empty, as in the shell.
            (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(Problem {
                    offset,
                    kind: ProblemKind::Unset(name.to_string()),
                });
            }
        }
        rest = &after[close + 1..];
        consumed += at + close + 1;
    }
    out.push_str(rest);
    Ok(out)
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;

    fn env(name: &str) -> Option<String> {
        match name {
            "REGION" => Some("eu-west-1".into()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("8080".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_set_unset_default_and_escape() {
        assert_eq!(expand("${REGION}", &env).unwrap(), "eu-west-1");
        assert_eq!(expand("a-${MISSING:-b}-c", &env).unwrap(), "a-b-c");
        assert_eq!(expand("${EMPTY:-fallback}", &env).unwrap(), "fallback");
        assert_eq!(
            expand("cost $5 and $${HOME}", &env).unwrap(),
            "cost $5 and ${HOME}"
        );
        assert_eq!(expand("${MISSING:-}", &env).unwrap(), "");
    }

    #[test]
    fn reports_unset_unclosed_and_bad_names_with_offsets() {
        assert_eq!(
            expand("x ${NOPE}", &env).unwrap_err(),
            Problem {
                offset: 2,
                kind: ProblemKind::Unset("NOPE".into())
            }
        );
        assert_eq!(
            expand("${OPEN", &env).unwrap_err().kind,
            ProblemKind::Unclosed
        );
        assert_eq!(
            expand("${9X}", &env).unwrap_err().kind,
            ProblemKind::BadName("9X".into())
        );
    }

    #[test]
    fn interpolated_values_keep_their_text_and_errors_point_at_the_variable() {
        let mut root = yaml::parse(
            "port: ${PORT}\nname: \"${PORT}\"\ntag: v-${NOPE}\n",
            "d.yaml",
        )
        .unwrap();
        let problems = interpolate_tree(&mut root, "d.yaml", &env);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].location, Location { line: 3, column: 8 });
        assert!(problems[0].message.contains("`NOPE`"));
        let Value::Map(entries) = &root.value else {
            panic!()
        };
        // The text as it was; `config::load` reads it as a number where a field wants one.
        assert_eq!(entries[0].value.value, Value::String("8080".into()));
        assert!(entries[0].value.plain);
        assert_eq!(entries[1].value.value, Value::String("8080".into()));
        assert!(!entries[1].value.plain);
    }
}
