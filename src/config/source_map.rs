//! Maps a value's path (`service.subnets[0]`) back to its place in the file, and turns the
//! located YAML tree into the plain JSON value serde deserializes.

use std::collections::HashMap;

use super::diagnostic::Location;
use super::yaml::{Node, Value, resolve_plain};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Where the key is (for mapping entries), else where the value is.
    pub key: Location,
    pub value: Location,
}

#[derive(Debug, Default)]
pub struct SourceMap {
    places: HashMap<String, Place>,
    /// Plain scalars that are strings in the JSON but read as a number, a boolean or null by
    /// YAML's rules (an interpolated `${PORT}`): path -> (JSON pointer, that typed reading).
    typed_readings: HashMap<String, (String, serde_json::Value)>,
}

impl SourceMap {
    /// The place of `path`, or of its nearest ancestor present in the file (a defaulted value
    /// is reported where its parent is).
    pub fn find(&self, path: &str) -> Place {
        let mut current = path;
        loop {
            if let Some(place) = self.places.get(current) {
                return *place;
            }
            match parent_path(current) {
                Some(parent) => current = parent,
                None => {
                    let top = Location { line: 1, column: 1 };
                    return Place {
                        key: top,
                        value: top,
                    };
                }
            }
        }
    }

    /// Where to point for a problem with `path`: the value when it is in the file, else the
    /// key of the nearest ancestor that is (the mapping where the missing value belongs).
    pub fn locate(&self, path: &str) -> Location {
        match self.places.get(path) {
            Some(place) => place.value,
            None => self.find(path).key,
        }
    }

    pub fn contains(&self, path: &str) -> bool {
        self.places.contains_key(path)
    }

    /// Where the field at `path` wants a number or a boolean and the file has text that reads
    /// as one (an interpolated `${PORT}`): writes that reading into `json`. False when the
    /// value has no other reading (a real type error).
    pub fn use_typed_reading(&self, path: &str, json: &mut serde_json::Value) -> bool {
        let Some((pointer, typed)) = self.typed_readings.get(path) else {
            return false;
        };
        match json.pointer_mut(pointer) {
            Some(slot) if slot != typed => {
                *slot = typed.clone();
                true
            }
            _ => false,
        }
    }
}

/// `a.b[2]` -> `a.b`, `a.b` -> `a`, `a` -> `` (the root), `` -> none.
pub fn parent_path(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

pub fn child_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub fn child_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Converts the tree to JSON and records every value's place. Recursive: the reader bounded
/// the depth.
pub fn to_json(root: &Node) -> (serde_json::Value, SourceMap) {
    let mut map = SourceMap::default();
    map.places.insert(
        String::new(),
        Place {
            key: root.location,
            value: root.location,
        },
    );
    (convert(root, String::new(), String::new(), &mut map), map)
}

/// `pointer` is `path` as an RFC 6901 JSON pointer (`/service/subnets/0`).
fn convert(node: &Node, path: String, pointer: String, map: &mut SourceMap) -> serde_json::Value {
    use serde_json::Value as J;
    if let Value::String(text) = &node.value
        && node.plain
    {
        let reading = resolve_plain(text);
        if !matches!(reading, Value::String(_)) {
            let typed = convert(
                &Node {
                    value: reading,
                    location: node.location,
                    plain: false,
                },
                path.clone(),
                pointer.clone(),
                map,
            );
            map.typed_readings
                .insert(path.clone(), (pointer.clone(), typed));
        }
    }
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(n) => J::from(*n),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or_else(|| J::String(f.to_string())),
        Value::String(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let child = child_index(&path, index);
                    map.places.insert(
                        child.clone(),
                        Place {
                            key: item.location,
                            value: item.location,
                        },
                    );
                    convert(item, child, format!("{pointer}/{index}"), map)
                })
                .collect(),
        ),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|entry| {
                    let child = child_key(&path, &entry.key);
                    map.places.insert(
                        child.clone(),
                        Place {
                            key: entry.key_location,
                            value: entry.value.location,
                        },
                    );
                    let escaped = entry.key.replace('~', "~0").replace('/', "~1");
                    let child_pointer = format!("{pointer}/{escaped}");
                    (
                        entry.key.clone(),
                        convert(&entry.value, child, child_pointer, map),
                    )
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;

    #[test]
    fn finds_values_and_falls_back_to_the_nearest_ancestor() {
        let root = yaml::parse(
            "service:\n  subnets:\n    - subnet-1\n    - subnet-2\n",
            "t",
        )
        .unwrap();
        let (json, map) = to_json(&root);
        assert_eq!(json["service"]["subnets"][1], "subnet-2");
        assert_eq!(
            map.find("service.subnets[1]").value,
            Location { line: 4, column: 7 }
        );
        assert_eq!(
            map.find("service.subnets").key,
            Location { line: 2, column: 3 }
        );
        // Not in the file: reported at the parent that is.
        assert_eq!(
            map.find("service.desired_count").key,
            Location { line: 1, column: 1 }
        );
    }

    #[test]
    fn parent_paths() {
        assert_eq!(parent_path("a.b[2]"), Some("a.b"));
        assert_eq!(parent_path("a.b"), Some("a"));
        assert_eq!(parent_path("a"), Some(""));
        assert_eq!(parent_path(""), None);
    }
}
