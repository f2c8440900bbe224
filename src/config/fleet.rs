//! Several services from one deploy.yaml: a fleet.
//!
//! ```yaml
//! app: shop                 # the application: its repository and image are shared
//! image: { source: docker://shop:latest }
//! cluster: shop
//! task: { cpu: 256 }        # the defaults every service starts from
//! concurrency: 4            # services deployed at once (default 4)
//! regions: [us-east-1, eu-west-1]
//! waves: [[us-east-1], [eu-west-1]]   # the next wave only after the previous one is deployed
//! services:
//!   - name: api
//!     service: { desired_count: 3 }
//!   - name: worker
//!     depends_on: [api]     # deployed once api is deployed (in the same region)
//!     container: { command: [python, worker.py] }
//! ```
//!
//! Each entry is laid over the shared settings (maps merge key by key, anything else is
//! replaced) and read like a one-service config, so every rule and every `file:line` holds for
//! it. An entry's `name` is its service's name and task family unless it sets them itself.
//! Written at the level of the YAML tree: the merged nodes keep their own lines.

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostic::{Diagnostic, Location};
use super::yaml::{Entry, Node, Value};

/// The keys only a fleet has: they are taken off before each service is read.
const FLEET_KEYS: [&str; 4] = ["services", "regions", "waves", "concurrency"];
/// The keys only a `services` entry has.
const ENTRY_KEYS: [&str; 2] = ["name", "depends_on"];
/// Services deployed at once when the config does not say.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// At most this many at once: ECS's UpdateService is throttled per account and region.
pub const MAX_CONCURRENCY: usize = 50;

/// One service of the fleet, as its entry names it, with its merged tree.
pub struct MemberTree {
    pub name: String,
    pub name_location: Location,
    pub depends_on: Vec<String>,
    pub tree: Node,
}

/// What the fleet keys say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSettings {
    pub concurrency: usize,
    /// The regions each service is deployed to, in waves: empty for the config's own region.
    pub waves: Vec<Vec<String>>,
}

/// Whether the tree is a fleet (it has `services:`).
pub fn is_fleet(root: &Node) -> bool {
    get(root, "services").is_some()
}

fn get<'a>(node: &'a Node, key: &str) -> Option<&'a Entry> {
    match &node.value {
        Value::Map(entries) => entries.iter().find(|e| e.key == key),
        _ => None,
    }
}

/// The fleet's settings and each service's tree, or every problem with its line.
pub fn split(root: &Node, file: &str) -> Result<(FleetSettings, Vec<MemberTree>), Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut error = |rule: &'static str, at: Location, message: String, fix: &str| {
        problems.push(Diagnostic::error(rule, file, at, message).with_fix(fix));
    };
    let services = get(root, "services").expect("a fleet");
    let base = without(root, &FLEET_KEYS);

    let concurrency = match get(root, "concurrency") {
        None => DEFAULT_CONCURRENCY,
        Some(entry) => match entry.value.value {
            Value::Int(n) if n >= 1 && (n as usize) <= MAX_CONCURRENCY => n as usize,
            _ => {
                error(
                    "fleet-concurrency",
                    entry.value.location,
                    format!("concurrency must be a whole number from 1 to {MAX_CONCURRENCY}"),
                    "write how many services may deploy at once, such as `concurrency: 4`",
                );
                DEFAULT_CONCURRENCY
            }
        },
    };
    let regions = match get(root, "regions") {
        None => Vec::new(),
        Some(entry) => strings(&entry.value).unwrap_or_else(|| {
            error(
                "fleet-regions",
                entry.value.location,
                "regions must be a list of region names".into(),
                "write `regions: [us-east-1, eu-west-1]`",
            );
            Vec::new()
        }),
    };
    for (i, region) in regions.iter().enumerate() {
        if !crate::aws::is_region(region) || regions[..i].contains(region) {
            let at = get(root, "regions")
                .map(|e| e.value.location)
                .unwrap_or(root.location);
            error(
                "fleet-regions",
                at,
                format!("`{region}` is not a region name, or is named twice"),
                "name each AWS region once, such as eu-west-1",
            );
        }
    }
    let waves = match get(root, "waves") {
        None if regions.is_empty() => Vec::new(),
        None => vec![regions.clone()],
        Some(entry) => {
            let at = entry.value.location;
            let waves: Option<Vec<Vec<String>>> = match &entry.value.value {
                Value::Seq(items) => items.iter().map(strings).collect(),
                _ => None,
            };
            match waves {
                Some(waves) => {
                    let named: Vec<&String> = waves.iter().flatten().collect();
                    let distinct: BTreeSet<&String> = named.iter().copied().collect();
                    let listed: BTreeSet<&String> = regions.iter().collect();
                    if regions.is_empty()
                        || distinct != listed
                        || named.len() != distinct.len()
                        || waves.iter().any(Vec::is_empty)
                    {
                        error(
                            "fleet-waves",
                            at,
                            "waves must name each region of `regions` exactly once, none empty"
                                .into(),
                            "write `waves: [[us-east-1], [eu-west-1, ap-southeast-2]]` with the regions listed in `regions`",
                        );
                    }
                    waves
                }
                None => {
                    error(
                        "fleet-waves",
                        at,
                        "waves must be a list of lists of region names".into(),
                        "write `waves: [[us-east-1], [eu-west-1, ap-southeast-2]]`",
                    );
                    Vec::new()
                }
            }
        }
    };

    let mut members: Vec<MemberTree> = Vec::new();
    match &services.value.value {
        Value::Seq(items) if !items.is_empty() => {
            for item in items {
                let Value::Map(_) = item.value else {
                    error(
                        "fleet-service",
                        item.location,
                        format!(
                            "each entry of services is a mapping, not {}",
                            item.type_name()
                        ),
                        "write `- name: api` and the settings this service changes",
                    );
                    continue;
                };
                let name = match get(item, "name").map(|e| &e.value) {
                    Some(Node {
                        value: Value::String(name),
                        location,
                        ..
                    }) if crate::config::validate::is_resource_name(name) => {
                        (name.clone(), *location)
                    }
                    Some(node) => {
                        error(
                            "fleet-service",
                            node.location,
                            "a service's name is 1-255 letters, digits, hyphens and underscores"
                                .into(),
                            "write `name: api`",
                        );
                        continue;
                    }
                    None => {
                        error(
                            "fleet-service",
                            item.location,
                            "this service has no `name`".into(),
                            "write `name: api`: it names the ECS service and its task family",
                        );
                        continue;
                    }
                };
                if members.iter().any(|m| m.name == name.0) {
                    error(
                        "fleet-service",
                        name.1,
                        format!("service `{}` is listed twice", name.0),
                        "give each service its own name",
                    );
                    continue;
                }
                let depends_on = match get(item, "depends_on") {
                    None => Vec::new(),
                    Some(entry) => strings(&entry.value).unwrap_or_else(|| {
                        error(
                            "fleet-depends-on",
                            entry.value.location,
                            "depends_on must be a list of service names".into(),
                            "write `depends_on: [api]`",
                        );
                        Vec::new()
                    }),
                };
                let mut tree = merge(&base, &without(item, &ENTRY_KEYS));
                named_by(&mut tree, &name.0, name.1);
                members.push(MemberTree {
                    name: name.0,
                    name_location: name.1,
                    depends_on,
                    tree,
                });
            }
        }
        _ => error(
            "fleet-service",
            services.value.location,
            "services must be a list of at least one service".into(),
            "write `services:` and under it `- name: api` for each service",
        ),
    }

    // depends_on: services of this fleet, not itself, and no circle.
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    for member in &members {
        for dependency in &member.depends_on {
            if dependency == &member.name || !names.contains(&dependency.as_str()) {
                let at =
                    depends_on_location(services, &member.name).unwrap_or(member.name_location);
                let closest = names
                    .iter()
                    .filter(|n| **n != member.name)
                    .max_by(|a, b| {
                        strsim::jaro_winkler(a, dependency)
                            .total_cmp(&strsim::jaro_winkler(b, dependency))
                    })
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                error(
                    "fleet-depends-on",
                    at,
                    format!(
                        "service {} depends on `{dependency}`, which is not another service of this config{closest}",
                        member.name
                    ),
                    "name a service listed under `services`",
                );
            }
        }
    }
    if let Some(circle) = circle(&members) {
        let first = members
            .iter()
            .find(|m| m.name == circle[0])
            .expect("a member");
        let at = depends_on_location(services, &first.name).unwrap_or(first.name_location);
        error(
            "fleet-depends-on",
            at,
            format!("depends_on goes round in a circle: {}", circle.join(" -> ")),
            "remove one of these depends_on so that some service can go first",
        );
    }
    if problems.is_empty() {
        Ok((FleetSettings { concurrency, waves }, members))
    } else {
        Err(problems)
    }
}

fn depends_on_location(services: &Entry, name: &str) -> Option<Location> {
    let Value::Seq(items) = &services.value.value else {
        return None;
    };
    items
        .iter()
        .find(|item| matches!(get(item, "name").map(|e| &e.value.value), Some(Value::String(n)) if n == name))
        .and_then(|item| get(item, "depends_on"))
        .map(|e| e.value.location)
}

/// A list of strings, or None.
fn strings(node: &Node) -> Option<Vec<String>> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .map(|i| match &i.value {
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// The map without `keys`.
fn without(node: &Node, keys: &[&str]) -> Node {
    let mut node = node.clone();
    if let Value::Map(entries) = &mut node.value {
        entries.retain(|e| !keys.contains(&e.key.as_str()));
    }
    node
}

/// `over` laid on `base`: maps merge key by key, anything else is replaced.
pub fn merge(base: &Node, over: &Node) -> Node {
    match (&base.value, &over.value) {
        (Value::Map(base_entries), Value::Map(over_entries)) => {
            let mut merged: Vec<Entry> = base_entries.clone();
            for entry in over_entries {
                match merged.iter_mut().find(|e| e.key == entry.key) {
                    Some(existing) => {
                        existing.value = merge(&existing.value, &entry.value);
                        existing.key_location = entry.key_location;
                    }
                    None => merged.push(entry.clone()),
                }
            }
            Node {
                value: Value::Map(merged),
                location: over.location,
                plain: over.plain,
            }
        }
        _ => over.clone(),
    }
}

/// The entry's name as its service's name and task family, unless it sets them itself.
fn named_by(tree: &mut Node, name: &str, at: Location) {
    let text = |at: Location| Node {
        value: Value::String(name.to_string()),
        location: at,
        plain: true,
    };
    for (section, key) in [("service", "name"), ("task", "family")] {
        let Value::Map(entries) = &mut tree.value else {
            return;
        };
        if !entries.iter().any(|e| e.key == section) {
            entries.push(Entry {
                key: section.to_string(),
                key_location: at,
                value: Node {
                    value: Value::Map(Vec::new()),
                    location: at,
                    plain: true,
                },
            });
        }
        let section = entries
            .iter_mut()
            .find(|e| e.key == section)
            .expect("added");
        if let Value::Map(inner) = &mut section.value.value
            && !inner.iter().any(|e| e.key == key)
        {
            inner.push(Entry {
                key: key.to_string(),
                key_location: at,
                value: text(at),
            });
        }
    }
}

/// The region a service of the fleet is read for.
pub fn in_region(tree: &Node, region: &str, at: Location) -> Node {
    let mut tree = tree.clone();
    if let Value::Map(entries) = &mut tree.value {
        entries.retain(|e| e.key != "region");
        entries.push(Entry {
            key: "region".into(),
            key_location: at,
            value: Node {
                value: Value::String(region.to_string()),
                location: at,
                plain: true,
            },
        });
    }
    tree
}

/// A circle of depends_on, if there is one, as names from its start back to it.
fn circle(members: &[MemberTree]) -> Option<Vec<String>> {
    let edges: BTreeMap<&str, &[String]> = members
        .iter()
        .map(|m| (m.name.as_str(), m.depends_on.as_slice()))
        .collect();
    fn visit<'a>(
        name: &'a str,
        edges: &BTreeMap<&'a str, &'a [String]>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == name) {
            let mut found: Vec<String> = path[at..].iter().map(|n| n.to_string()).collect();
            found.push(name.to_string());
            return Some(found);
        }
        if done.contains(name) {
            return None;
        }
        path.push(name);
        for next in edges.get(name).copied().unwrap_or_default() {
            if let Some(found) = visit(next.as_str(), edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(name);
        None
    }
    let mut done = BTreeSet::new();
    for member in members {
        if let Some(found) = visit(member.name.as_str(), &edges, &mut Vec::new(), &mut done) {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_text(text: &str) -> Result<(FleetSettings, Vec<MemberTree>), Vec<Diagnostic>> {
        let root = super::super::yaml::parse(text, "deploy.yaml").unwrap();
        split(&root, "deploy.yaml")
    }

    #[test]
    fn entries_are_laid_over_the_shared_settings() {
        let (settings, members) = split_text(
            "app: shop\nservice:\n  cpu: 256\n  desired_count: 2\nconcurrency: 2\nservices:\n  - name: api\n    service: { desired_count: 3 }\n  - name: worker\n    depends_on: [api]\n",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(settings.concurrency, 2);
        assert!(settings.waves.is_empty());
        let api = &members[0].tree;
        let service = get(api, "service").unwrap();
        assert_eq!(
            get(&service.value, "cpu").unwrap().value.value,
            Value::Int(256)
        );
        assert_eq!(
            get(&service.value, "desired_count").unwrap().value.value,
            Value::Int(3)
        );
        assert_eq!(
            get(&service.value, "name").unwrap().value.value,
            Value::String("api".into())
        );
        assert!(get(api, "services").is_none() && get(api, "concurrency").is_none());
        assert_eq!(members[1].depends_on, ["api"]);
        let worker_family = get(&get(&members[1].tree, "task").unwrap().value, "family").unwrap();
        assert_eq!(worker_family.value.value, Value::String("worker".into()));
        // The merged value keeps its own line.
        assert_eq!(
            get(&service.value, "desired_count")
                .unwrap()
                .value
                .location
                .line,
            8
        );
    }

    #[test]
    fn unknown_dependencies_circles_and_bad_waves_are_errors_at_their_line() {
        let problems = split_text(
            "app: shop\nregions: [us-east-1, eu-west-1]\nwaves: [[us-east-1]]\nservices:\n  - name: api\n    depends_on: [worker]\n  - name: worker\n    depends_on: [api]\n  - name: cron\n    depends_on: [wrker]\n",
        )
        .err()
        .unwrap();
        let rules: Vec<(&str, usize)> =
            problems.iter().map(|d| (d.rule, d.location.line)).collect();
        assert!(rules.contains(&("fleet-waves", 3)), "{problems:?}");
        assert!(rules.contains(&("fleet-depends-on", 10)), "{problems:?}");
        assert!(
            rules.contains(&("fleet-depends-on", 6)),
            "a circle: {problems:?}"
        );
        let circle = problems
            .iter()
            .find(|d| d.message.contains("circle"))
            .unwrap();
        assert!(
            circle.message.contains("api -> worker -> api"),
            "{}",
            circle.message
        );
    }
}
