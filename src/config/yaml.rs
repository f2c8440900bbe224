//! Reads YAML into a tree whose every node remembers where it came from.
//!
//! serde's YAML deserializers report the first error and forget positions once a value is
//! typed. shipit wants every problem of a config reported at once with file:line:column, so it
//! reads the event stream of `saphyr-parser` into this small tree, and the later stages look
//! positions up by the path of a value (`service.subnets[0]`).
//!
//! The reader is iterative (an explicit stack, no recursion) and bounded in depth and size, so a
//! hostile file cannot overflow the stack or expand aliases without end.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::diagnostic::{Diagnostic, Location};

/// Nesting deeper than this is refused: no deploy.yaml needs it, and serde recurses per level.
pub const MAX_DEPTH: usize = 64;
/// Upper bound on nodes after alias expansion (guards against "billion laughs" files).
pub const MAX_NODES: usize = 200_000;
/// Upper bound on the text (scalars and keys) after alias expansion: a few aliases of one long
/// string are few nodes but many bytes. Four times the largest file shipit reads.
pub const MAX_EXPANDED_BYTES: usize = 4 * super::MAX_FILE_BYTES;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub location: Location,
    /// Plain (unquoted) scalars get their type from their text; `${VAR}` interpolation uses this
    /// to type `port: ${PORT}` as a number and `port: "${PORT}"` as a string.
    pub plain: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_location: Location,
    pub value: Node,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

fn location(span: &Span) -> Location {
    Location {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// Resolves a plain scalar the way YAML 1.2's core schema does.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(n) = i64::from_str_radix(hex, 16) {
            return Value::Int(n);
        }
    } else if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(n) = i64::from_str_radix(oct, 8) {
            return Value::Int(n);
        }
    } else if looks_like_int(text) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Int(n);
        }
    } else if looks_like_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(text.to_string())
}

fn looks_like_int(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn looks_like_float(text: &str) -> bool {
    // YAML 1.2 core: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
}

/// A collection being built: the reader keeps one per open sequence or mapping.
enum Open {
    Seq {
        items: Vec<Node>,
        location: Location,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        location: Location,
        anchor: usize,
        /// A key read, waiting for its value.
        pending_key: Option<(String, Location)>,
        /// Keys that came from `<<` merges: an explicit key replaces them.
        merged: HashSet<String>,
        /// Key -> its entry's index: duplicate keys are found without a scan of the entries
        /// (a file of 16,000 keys took seconds with one).
        index: HashMap<String, usize>,
    },
}

struct Reader {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    bytes: usize,
    root: Option<Node>,
    documents: usize,
}

/// Reads one YAML document. `file` names the source in diagnostics.
pub fn parse(text: &str, file: &str) -> Result<Node, Box<Diagnostic>> {
    let mut reader = Reader {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        bytes: 0,
        root: None,
        documents: 0,
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|err| Box::new(scan_error(text, file, &err)))?;
        reader.on_event(event, span, file)?;
    }
    reader.root.ok_or_else(|| {
        Box::new(
            Diagnostic::error(
                "empty-file",
                file,
                Location { line: 1, column: 1 },
                "the file holds no configuration",
            )
            .with_fix("start from `shipit init`, or copy deploy.yaml.example"),
        )
    })
}

impl Reader {
    fn on_event(
        &mut self,
        event: Event<'_>,
        span: Span,
        file: &str,
    ) -> Result<(), Box<Diagnostic>> {
        let here = location(&span);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Box::new(Diagnostic::error(
                        "multiple-documents",
                        file,
                        here,
                        "a second YAML document starts here",
                    )
                    .with_fix("deploy.yaml holds one document: remove the extra `---` and what follows, or merge it into the first")));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(0, text.len(), here, file)?;
                let plain = style == ScalarStyle::Plain && tag.is_none();
                let value = if plain {
                    resolve_plain(&text)
                } else {
                    Value::String(text.into_owned())
                };
                let node = Node {
                    value,
                    location: here,
                    plain,
                };
                self.finish(node, anchor, file)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(
                    Open::Seq {
                        items: Vec::new(),
                        location: here,
                        anchor,
                    },
                    here,
                    file,
                )?;
            }
            Event::MappingStart(anchor, _) => {
                self.open(
                    Open::Map {
                        entries: Vec::new(),
                        location: here,
                        anchor,
                        pending_key: None,
                        merged: HashSet::new(),
                        index: HashMap::new(),
                    },
                    here,
                    file,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Open::Seq {
                        items,
                        location,
                        anchor,
                    }) => (
                        Node {
                            value: Value::Seq(items),
                            location,
                            plain: false,
                        },
                        anchor,
                    ),
                    Some(Open::Map {
                        entries,
                        location,
                        anchor,
                        ..
                    }) => (
                        Node {
                            value: Value::Map(entries),
                            location,
                            plain: false,
                        },
                        anchor,
                    ),
                    None => return Ok(()),
                };
                self.finish(node, anchor, file)?;
            }
            Event::Alias(anchor) => {
                let Some(node) = self.anchors.get(&anchor).cloned() else {
                    return Err(Box::new(unknown_alias(file, here)));
                };
                let (nodes, bytes) = weigh(&node);
                self.count(nodes, bytes, here, file)?;
                // Keep the original's content but point at the alias for errors.
                let node = Node {
                    location: here,
                    ..node
                };
                self.finish(node, 0, file)?;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
        Ok(())
    }

    fn open(
        &mut self,
        collection: Open,
        here: Location,
        file: &str,
    ) -> Result<(), Box<Diagnostic>> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Box::new(too_deep(file, here)));
        }
        self.stack.push(collection);
        Ok(())
    }

    fn count(
        &mut self,
        nodes: usize,
        bytes: usize,
        here: Location,
        file: &str,
    ) -> Result<(), Box<Diagnostic>> {
        self.nodes += nodes;
        self.bytes += bytes;
        let over = if self.nodes > MAX_NODES {
            format!("more than {MAX_NODES} values")
        } else if self.bytes > MAX_EXPANDED_BYTES {
            format!("more than {MAX_EXPANDED_BYTES} bytes of text")
        } else {
            return Ok(());
        };
        Err(Box::new(
            Diagnostic::error(
                "too-large",
                file,
                here,
                format!("{over} (after expanding aliases)"),
            )
            .with_fix(
                "deploy.yaml describes one service: remove the repeated or generated content",
            ),
        ))
    }

    /// Places a finished node in its parent (or as the document root).
    fn finish(&mut self, node: Node, anchor: usize, file: &str) -> Result<(), Box<Diagnostic>> {
        // Text is counted where it is read (a scalar, or an alias weighed whole).
        self.count(1, 0, node.location, file)?;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map {
                entries,
                pending_key,
                merged,
                index,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match node.value {
                        Value::String(s) => s,
                        Value::Int(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Null => "null".to_string(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(Box::new(
                                Diagnostic::error(
                                    "complex-key",
                                    file,
                                    node.location,
                                    "a mapping key must be a plain word, not a list or mapping",
                                )
                                .with_fix("write keys as `name: value`"),
                            ));
                        }
                    };
                    *pending_key = Some((key, node.location));
                }
                Some((key, key_location)) => {
                    if key == "<<" {
                        merge_into(entries, merged, index, node, file)?;
                    } else if merged.remove(&key) {
                        let at = index[&key];
                        entries[at] = Entry {
                            key,
                            key_location,
                            value: node,
                        };
                    } else {
                        if let Some(first) = index.get(&key).map(|&at| &entries[at]) {
                            return Err(Box::new(Diagnostic::error(
                                "duplicate-key",
                                file,
                                key_location,
                                format!(
                                    "key `{key}` appears twice in this mapping (first at line {})",
                                    first.key_location.line
                                ),
                            )
                            .with_fix("keep one of them: YAML tools disagree on which one wins")));
                        }
                        index.insert(key.clone(), entries.len());
                        entries.push(Entry {
                            key,
                            key_location,
                            value: node,
                        });
                    }
                }
            },
        }
        Ok(())
    }
}

/// YAML merge keys (`<<: *defaults`): keys already present win over merged ones.
fn merge_into(
    entries: &mut Vec<Entry>,
    merged: &mut HashSet<String>,
    index: &mut HashMap<String, usize>,
    node: Node,
    file: &str,
) -> Result<(), Box<Diagnostic>> {
    let sources = match node.value {
        Value::Map(map) => vec![map],
        Value::Seq(items) => {
            let mut maps = Vec::new();
            for item in items {
                match item.value {
                    Value::Map(map) => maps.push(map),
                    _ => return Err(Box::new(merge_error(file, item.location))),
                }
            }
            maps
        }
        _ => return Err(Box::new(merge_error(file, node.location))),
    };
    for source in sources {
        for entry in source {
            if !index.contains_key(&entry.key) {
                merged.insert(entry.key.clone());
                index.insert(entry.key.clone(), entries.len());
                entries.push(entry);
            }
        }
    }
    Ok(())
}

fn merge_error(file: &str, at: Location) -> Diagnostic {
    Diagnostic::error("bad-merge", file, at, "`<<` merges mappings only")
        .with_fix("write `<<: *anchor` where the anchor names a mapping")
}

fn unknown_alias(file: &str, at: Location) -> Diagnostic {
    Diagnostic::error(
        "unknown-alias",
        file,
        at,
        "this alias names no anchor defined before it",
    )
    .with_fix("define the anchor (`&name`) before using it (`*name`)")
}

fn too_deep(file: &str, at: Location) -> Diagnostic {
    Diagnostic::error(
        "too-deep",
        file,
        at,
        format!("the nesting is too deep (shipit reads at most {MAX_DEPTH} levels)"),
    )
    .with_fix("deploy.yaml needs a few levels at most: check the indentation and brackets")
}

/// The nodes and the bytes of text (scalars and keys) in a tree: what an alias to it adds.
fn weigh(node: &Node) -> (usize, usize) {
    let (mut nodes, mut bytes) = (0, 0);
    let mut pending = vec![node];
    while let Some(n) = pending.pop() {
        nodes += 1;
        match &n.value {
            Value::String(text) => bytes += text.len(),
            Value::Seq(items) => pending.extend(items.iter()),
            Value::Map(entries) => {
                bytes += entries.iter().map(|e| e.key.len()).sum::<usize>();
                pending.extend(entries.iter().map(|e| &e.value));
            }
            _ => {}
        }
    }
    (nodes, bytes)
}

/// Turns a scanner error into a diagnostic, recognising the common causes.
fn scan_error(text: &str, file: &str, err: &saphyr_parser::ScanError) -> Diagnostic {
    let marker = err.marker();
    let at = Location {
        line: marker.line().max(1),
        column: marker.col() + 1,
    };
    if err.info().contains("recursion limit") {
        return too_deep(file, at);
    }
    if err.info().contains("unknown anchor") {
        return unknown_alias(file, at);
    }
    // A tab in the indentation is the classic cause of a confusing YAML error.
    // The scanner often reports it on the line before the tab, or says "found a tab".
    let lines_to_check = if err.info().contains("tab") {
        usize::MAX
    } else {
        at.line + 1
    };
    for (index, line) in text.lines().enumerate().take(lines_to_check) {
        let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
        if indent.contains('\t') {
            return Diagnostic::error(
                "tab-indent",
                file,
                Location {
                    line: index + 1,
                    column: indent.find('\t').unwrap_or(0) + 1,
                },
                "a tab is used for indentation",
            )
            .with_fix("YAML indents with spaces only: replace the tab with spaces");
        }
    }
    Diagnostic::error(
        "yaml-syntax",
        file,
        at,
        format!("YAML syntax: {}", err.info()),
    )
    .with_fix("check the indentation and the `key: value` form on this line and the one above it")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        parse(text, "t.yaml").expect("parses")
    }

    fn entries(node: &Node) -> &[Entry] {
        match &node.value {
            Value::Map(e) => e,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn scalars_resolve_like_yaml_1_2() {
        assert_eq!(resolve_plain("5000"), Value::Int(5000));
        assert_eq!(resolve_plain("-3"), Value::Int(-3));
        assert_eq!(resolve_plain("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain("true"), Value::Bool(true));
        assert_eq!(resolve_plain("~"), Value::Null);
        // YAML 1.1 booleans are strings in 1.2: `country: no` stays "no".
        assert_eq!(resolve_plain("no"), Value::String("no".into()));
        assert_eq!(resolve_plain("1.2.3"), Value::String("1.2.3".into()));
        assert_eq!(resolve_plain("e"), Value::String("e".into()));
    }

    #[test]
    fn nodes_know_their_line_and_column() {
        let doc = root("app: demo\nservice:\n  name: web\n  count: 2\n");
        let service = &entries(&doc)[1];
        assert_eq!(service.key_location, Location { line: 2, column: 1 });
        let count = &entries(&service.value)[1];
        assert_eq!(count.key_location, Location { line: 4, column: 3 });
        assert_eq!(
            count.value.location,
            Location {
                line: 4,
                column: 10
            }
        );
        assert_eq!(count.value.value, Value::Int(2));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let doc = root("port: \"5000\"\n");
        assert_eq!(entries(&doc)[0].value.value, Value::String("5000".into()));
        assert!(!entries(&doc)[0].value.plain);
    }

    #[test]
    fn duplicate_keys_are_an_error_naming_both_lines() {
        let err = parse("app: a\nregion: x\napp: b\n", "t.yaml").unwrap_err();
        assert_eq!(err.rule, "duplicate-key");
        assert_eq!(err.location.line, 3);
        assert!(err.message.contains("first at line 1"), "{}", err.message);
    }

    #[test]
    fn aliases_and_merge_keys_expand() {
        let doc = root("base: &b\n  cpu: 256\n  memory: 512\ntask:\n  <<: *b\n  memory: 1024\n");
        let task = &entries(&doc)[1].value;
        let keys: Vec<_> = entries(task)
            .iter()
            .map(|e| (e.key.as_str(), e.value.value.clone()))
            .collect();
        assert_eq!(
            keys,
            vec![("cpu", Value::Int(256)), ("memory", Value::Int(1024))]
        );
    }

    #[test]
    fn tabs_in_indentation_are_named() {
        let err = parse("service:\n\tname: web\n", "t.yaml").unwrap_err();
        assert_eq!(err.rule, "tab-indent");
        assert_eq!(err.location.line, 2);
    }

    #[test]
    fn empty_and_comment_only_files_are_empty() {
        assert_eq!(parse("", "t.yaml").unwrap_err().rule, "empty-file");
        assert_eq!(
            parse("# nothing\n", "t.yaml").unwrap_err().rule,
            "empty-file"
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let text = "[".repeat(10_000);
        let err = parse(&text, "t.yaml").unwrap_err();
        assert_eq!(err.rule, "too-deep", "{}", err.message);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = (b'a' + level - 1) as char;
            let name = (b'a' + level) as char;
            text.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert_eq!(parse(&text, "t.yaml").unwrap_err().rule, "too-large");
    }

    #[test]
    fn aliases_of_long_text_are_weighed_by_their_bytes() {
        // Few nodes, many bytes: 64 aliases to a 100 KiB string would be 6.4 MiB of text.
        let long = "x".repeat(100 * 1024);
        let mut text = format!("a: &a {long}\nb: [");
        text.push_str(&vec!["*a"; 64].join(", "));
        text.push_str("]\n");
        let err = parse(&text, "t.yaml").unwrap_err();
        assert_eq!(err.rule, "too-large");
        assert!(err.message.contains("bytes of text"), "{}", err.message);
        // The same aliases to a short string are fine.
        let fine = format!("a: &a short\nb: [{}]\n", vec!["*a"; 64].join(", "));
        assert!(parse(&fine, "t.yaml").is_ok());
    }

    #[test]
    fn a_second_document_is_refused() {
        let err = parse("app: a\n---\napp: b\n", "t.yaml").unwrap_err();
        assert_eq!(err.rule, "multiple-documents");
        assert_eq!(err.location.line, 2);
    }
}
