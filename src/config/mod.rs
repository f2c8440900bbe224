//! deploy.yaml: read, interpolate, type, validate, in that order.
//!
//! `load` returns either a checked config with its warnings, or every problem found, each with
//! file:line:column, the rule and the fix.

pub mod diagnostic;
pub mod emit;
pub mod fleet;
pub mod interpolate;
pub mod model;
pub mod source_map;
pub mod validate;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde::Serialize;

pub use diagnostic::{Diagnostic, Location, Severity};
pub use model::DeployConfig;

use source_map::{SourceMap, child_index, child_key};

/// deploy.yaml describes one service; anything larger is a mistake (or an attack).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The names every stage uses, with the defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Names {
    pub repository: String,
    pub cluster: String,
    pub service: String,
    pub family: String,
    pub container: String,
    pub log_group: String,
}

impl Names {
    pub fn resolve(config: &DeployConfig) -> Names {
        let app = &config.app;
        let family = config.task.family.clone().unwrap_or_else(|| app.clone());
        Names {
            repository: config
                .repository
                .name
                .clone()
                .unwrap_or_else(|| app.clone()),
            cluster: config
                .cluster
                .clone()
                .unwrap_or_else(|| "default".to_string()),
            service: config.service.name.clone().unwrap_or_else(|| app.clone()),
            container: match config.containers.iter().find(|c| c.image.is_none()) {
                Some(app_container) => app_container.name.clone(),
                None => config.container.name.clone().unwrap_or_else(|| app.clone()),
            },
            log_group: config
                .logs
                .group
                .clone()
                .unwrap_or_else(|| format!("/ecs/{family}")),
            family,
        }
    }
}

/// A config that passed every rule.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub path: PathBuf,
    pub config: DeployConfig,
    pub names: Names,
    pub warnings: Vec<Diagnostic>,
    /// The file's text and where each value is in it, for problems found later (a health
    /// check the image cannot run) that still belong to a line of the file.
    pub source_text: Arc<str>,
    places: Arc<SourceMap>,
}

impl LoadedConfig {
    /// The line of the value at `path` (or of the nearest ancestor in the file).
    pub fn line_of(&self, path: &str) -> usize {
        self.places.locate(path).line
    }

    /// A config problem found after loading, pointing at the value at `path`: reported like
    /// any other (file, line, the line itself, the fix; exit code 2).
    pub fn problem(
        &self,
        rule: &'static str,
        path: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        let file = self.path.display().to_string();
        ConfigError {
            diagnostics: vec![
                Diagnostic::error(rule, &file, self.places.locate(path), message)
                    .with_path(path)
                    .with_fix(fix),
            ],
            file,
            source_text: Some(self.source_text.to_string()),
        }
    }
}

/// Why a config could not be used: every problem, plus the text to quote lines from.
#[derive(Debug)]
pub struct ConfigError {
    pub file: String,
    pub source_text: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    fn single(file: &str, source_text: Option<String>, diagnostic: Diagnostic) -> Self {
        ConfigError {
            file: file.to_string(),
            source_text,
            diagnostics: vec![diagnostic],
        }
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// All diagnostics rendered with their source lines, and a closing count.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let lines = diagnostic::SourceLines::new(self.source_text.as_deref());
        for d in &self.diagnostics {
            out.push_str(&lines.render(d));
            out.push('\n');
        }
        let errors = self.errors().count();
        out.push_str(&format!(
            "{}: {errors} error{} found; nothing was changed",
            self.file,
            if errors == 1 { "" } else { "s" }
        ));
        out
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for ConfigError {}

/// Reads and checks a config file, interpolating from the process environment.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let file = path.display().to_string();
    let bytes = read_file(path)?;
    let mut loaded = load_bytes(&bytes, &file, &|name| std::env::var(name).ok())?;
    loaded.path = path.to_path_buf();
    Ok(loaded)
}

/// The config file's bytes, or why they cannot be read, with the fix.
fn read_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let file = path.display().to_string();
    read_config_file(path).map_err(|err| {
        let (rule, fix) = match err.kind() {
            std::io::ErrorKind::NotFound => (
                "no-config",
                "run `shipit init` to write a starter deploy.yaml, or pass `-c PATH`",
            ),
            _ => ("unreadable", "check the path and the file's permissions"),
        };
        ConfigError::single(
            &file,
            None,
            Diagnostic::error(
                rule,
                &file,
                Location { line: 1, column: 1 },
                format!("cannot read the config: {err}"),
            )
            .with_fix(fix),
        )
    })
}

/// Where the character after `before` (the file's text up to it) stands.
fn location_after(before: &str) -> Location {
    Location {
        line: before.matches('\n').count() + 1,
        column: before
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1,
    }
}

/// Reads a config from a regular file of at most `MAX_FILE_BYTES`, never from a device
/// (`-c /dev/zero`), a pipe or the kernel's files (`/proc/self/environ`, which a committed
/// symlink can name: it would put the environment's secrets in an error message).
fn read_config_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let real = std::fs::canonicalize(path)?;
    if ["/proc", "/sys", "/dev"]
        .iter()
        .any(|top| real.starts_with(top))
    {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "it is {}, a system file, not a config (a symlink?)",
                real.display()
            ),
        ));
    }
    let file = std::fs::File::open(&real)?;
    // The opened file itself is checked, so a swap after the look above changes nothing.
    if !file.metadata()?.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "it is not a regular file (a device, a pipe or a directory)",
        ));
    }
    let mut bytes = Vec::new();
    // One byte more than allowed, so that `load_bytes` can say the file is too large.
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads and checks config text. `env` answers `${VAR}` look-ups. Never panics.
pub fn load_bytes(
    bytes: &[u8],
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LoadedConfig, ConfigError> {
    let (root, text) = parse_root(bytes, file, env)?;
    if fleet::is_fleet(&root) {
        return Err(failure(
            file,
            text,
            vec![fleet_needs_a_service(&root, file)],
        ));
    }
    read_tree(root, text, file).map_err(|found| failure(file, text, found))
}

/// A config's problems, with the text they quote.
fn failure(file: &str, text: &str, diagnostics: Vec<Diagnostic>) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        source_text: Some(text.to_string()),
        diagnostics,
    }
}

/// The file's text as a tree of settings, interpolated: refused when it is too large, not
/// UTF-8, not text, not YAML or not a mapping, or names a variable that is not set.
fn parse_root<'a>(
    bytes: &'a [u8],
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(yaml::Node, &'a str), ConfigError> {
    let top = Location { line: 1, column: 1 };
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ConfigError::single(
            file,
            None,
            Diagnostic::error(
                "too-large",
                file,
                top,
                format!(
                    "the file is {} bytes or more; a deploy.yaml may be at most {MAX_FILE_BYTES}",
                    bytes.len()
                ),
            )
            .with_fix("deploy.yaml describes one service: check that this is the right file"),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = std::str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default();
            return Err(ConfigError::single(
                file,
                None,
                Diagnostic::error(
                    "not-utf8",
                    file,
                    location_after(valid),
                    format!("byte {} is not valid UTF-8", err.valid_up_to()),
                )
                .with_fix("save the file as UTF-8"),
            ));
        }
    };
    // YAML is printable text: a control character (a NUL in /proc/self/environ, a binary
    // file) means this is no config, and nothing of it is quoted back.
    if let Some((index, c)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ConfigError::single(
            file,
            None,
            Diagnostic::error(
                "not-text",
                file,
                location_after(&text[..index]),
                format!(
                    "the file holds control character U+{:04X}: it is not YAML text",
                    c as u32
                ),
            )
            .with_fix("point -c at your deploy.yaml; a config is plain UTF-8 text"),
        ));
    }
    let fail = |diagnostics: Vec<Diagnostic>| failure(file, text, diagnostics);
    let mut root = yaml::parse(text, file).map_err(|d| fail(vec![*d]))?;
    if !matches!(root.value, yaml::Value::Map(_)) {
        return Err(fail(vec![
            Diagnostic::error(
                "not-a-mapping",
                file,
                root.location,
                format!(
                    "the file holds {}, not a mapping of settings",
                    root.type_name()
                ),
            )
            .with_fix("start with `app: NAME` at the beginning of a line; see `shipit init`"),
        ]));
    }
    let interpolation = interpolate::interpolate_tree(&mut root, file, env);
    if !interpolation.is_empty() {
        return Err(fail(interpolation));
    }
    Ok((root, text))
}

/// A fleet config read where one service is wanted.
fn fleet_needs_a_service(root: &yaml::Node, file: &str) -> Diagnostic {
    let (at, names) = match &root.value {
        yaml::Value::Map(entries) => entries
            .iter()
            .find(|e| e.key == "services")
            .map(|e| {
                let names: Vec<String> = match &e.value.value {
                    yaml::Value::Seq(items) => items
                        .iter()
                        .filter_map(|i| match &i.value {
                            yaml::Value::Map(m) => m.iter().find(|e| e.key == "name"),
                            _ => None,
                        })
                        .filter_map(|e| match &e.value.value {
                            yaml::Value::String(n) => Some(n.clone()),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                (e.key_location, names)
            })
            .unwrap_or((root.location, Vec::new())),
        _ => (root.location, Vec::new()),
    };
    Diagnostic::error(
        "fleet-needs-service",
        file,
        at,
        format!(
            "this config describes {} services ({}); this command works on one",
            names.len(),
            names.join(", ")
        ),
    )
    .with_fix("pass `--service NAME` (and `--region` when the config lists regions)")
}

/// A config, or a fleet of them.
#[derive(Debug, Clone)]
pub enum Loaded {
    One(Box<LoadedConfig>),
    Fleet(LoadedFleet),
}

/// One service of a fleet in one region, read like a one-service config.
#[derive(Debug, Clone)]
pub struct FleetMember {
    pub service: String,
    /// None: the config's own region (the config lists no `regions`).
    pub region: Option<String>,
    /// The region's wave (0 without `regions`).
    pub wave: usize,
    pub depends_on: Vec<String>,
    pub loaded: LoadedConfig,
}

/// Every service of a fleet config, in each of its regions.
#[derive(Debug, Clone)]
pub struct LoadedFleet {
    pub path: PathBuf,
    pub members: Vec<FleetMember>,
    pub concurrency: usize,
    /// Each warning once (a shared setting's warning holds for every service).
    pub warnings: Vec<Diagnostic>,
    pub source_text: Arc<str>,
}

/// Reads a config that may describe several services (`services:`).
pub fn load_any(path: &Path) -> Result<Loaded, ConfigError> {
    let file = path.display().to_string();
    let bytes = read_file(path)?;
    let (root, text) = parse_root(&bytes, &file, &|name| std::env::var(name).ok())?;
    if !fleet::is_fleet(&root) {
        let mut loaded =
            read_tree(root, text, &file).map_err(|found| failure(&file, text, found))?;
        loaded.path = path.to_path_buf();
        return Ok(Loaded::One(Box::new(loaded)));
    }
    let mut fleet = fleet_of(&root, text, &file)?;
    fleet.path = path.to_path_buf();
    for member in &mut fleet.members {
        member.loaded.path = path.to_path_buf();
    }
    Ok(Loaded::Fleet(fleet))
}

/// A fleet config's services, each read and checked like a config of its own.
fn fleet_of(root: &yaml::Node, text: &str, file: &str) -> Result<LoadedFleet, ConfigError> {
    let fail = |diagnostics: Vec<Diagnostic>| failure(file, text, diagnostics);
    let (settings, trees) = fleet::split(root, file).map_err(fail)?;
    let mut members = Vec::new();
    let mut problems: Vec<Diagnostic> = Vec::new();
    let mut warnings: Vec<Diagnostic> = Vec::new();
    let regions: Vec<(usize, Option<String>)> = if settings.waves.is_empty() {
        vec![(0, None)]
    } else {
        settings
            .waves
            .iter()
            .enumerate()
            .flat_map(|(wave, regions)| regions.iter().map(move |r| (wave, Some(r.clone()))))
            .collect()
    };
    for member in trees {
        for (wave, region) in &regions {
            let tree = match region {
                Some(region) => fleet::in_region(&member.tree, region, member.name_location),
                None => member.tree.clone(),
            };
            match read_tree(tree, text, file) {
                Ok(loaded) => {
                    for warning in &loaded.warnings {
                        if !warnings.contains(warning) {
                            warnings.push(warning.clone());
                        }
                    }
                    members.push(FleetMember {
                        service: member.name.clone(),
                        region: region.clone(),
                        wave: *wave,
                        depends_on: member.depends_on.clone(),
                        loaded,
                    });
                }
                Err(found) => {
                    for problem in found {
                        if !problems.contains(&problem) {
                            problems.push(problem);
                        }
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|d| d.location);
        return Err(fail(problems));
    }
    warnings.sort_by_key(|d| d.location);
    Ok(LoadedFleet {
        path: PathBuf::from(file),
        members,
        concurrency: settings.concurrency,
        warnings,
        source_text: Arc::from(text),
    })
}

/// One service's tree, typed and validated: the config, or every problem.
fn read_tree(root: yaml::Node, text: &str, file: &str) -> Result<LoadedConfig, Vec<Diagnostic>> {
    let (mut json, map) = source_map::to_json(&root);
    let mut unknown = Vec::new();
    // An interpolated value stays text; where a field wants a number or a boolean instead,
    // serde names its path and that one value is read as YAML would type it. Each retry types
    // one more value, so this ends.
    let typed: Result<DeployConfig, _> = loop {
        unknown.clear();
        let mut track = serde_path_to_error::Track::new();
        let de = serde_path_to_error::Deserializer::new(&json, &mut track);
        match serde_ignored::deserialize(de, |path| unknown.push(ignored_path(&path))) {
            Ok(config) => break Ok(config),
            Err(err) => {
                let path = track.path();
                if !map.use_typed_reading(&tracked_path(&path), &mut json) {
                    break Err((err, path));
                }
            }
        }
    };
    let mut diagnostics: Vec<Diagnostic> = unknown
        .iter()
        .map(|path| unknown_key(path, file, &map))
        .collect();
    let mut config = match typed {
        Ok(config) => config,
        Err((err, path)) => {
            diagnostics.push(type_error(&err.to_string(), &path, file, &map));
            diagnostics.sort_by_key(|d| d.location);
            return Err(diagnostics);
        }
    };
    let names = Names::resolve(&config);
    diagnostics.extend(validate::validate(&config, &names, file, &map));
    diagnostics.sort_by_key(|d| d.location);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    // With `containers`, `container` stands for the app's entry: what reads the app container
    // (the image preflight, the load balancer's default port, validate's summary) reads it.
    if let Some(app) = config
        .containers
        .iter()
        .find(|c| c.image.is_none())
        .cloned()
    {
        config.container = model::ContainerConfig {
            name: Some(app.name),
            port: app.port.unwrap_or(config.container.port),
            port_name: app.port_name,
            app_protocol: app.app_protocol,
            ports: app.ports,
            environment: app.environment,
            secrets: app.secrets,
            command: app.command,
            entry_point: app.entry_point,
            working_directory: app.working_directory,
            user: app.user,
            readonly_root_filesystem: app.readonly_root_filesystem,
            stop_timeout: app.stop_timeout,
            init_process: app.init_process,
            docker_labels: app.docker_labels,
            ulimits: app.ulimits,
            mount_points: app.mount_points,
            system_controls: app.system_controls,
            environment_files: app.environment_files,
            health_check: app.health_check,
            firelens: app.firelens,
            ecs: app.ecs,
        };
    }
    Ok(LoadedConfig {
        path: PathBuf::from(file),
        config,
        names,
        warnings: diagnostics,
        source_text: Arc::from(text),
        places: Arc::new(map),
    })
}

/// `serde_ignored` paths as `a.b[0].c`.
fn ignored_path(path: &serde_ignored::Path) -> String {
    match path {
        serde_ignored::Path::Root => String::new(),
        serde_ignored::Path::Seq { parent, index } => child_index(&ignored_path(parent), *index),
        serde_ignored::Path::Map { parent, key } => child_key(&ignored_path(parent), key),
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

fn tracked_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out = child_index(&out, *index),
            serde_path_to_error::Segment::Map { key } => out = child_key(&out, key),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

fn unknown_key(path: &str, file: &str, map: &SourceMap) -> Diagnostic {
    let (parent, key) = match path.rfind('.') {
        Some(dot) => (&path[..dot], &path[dot + 1..]),
        None => ("", path),
    };
    let known = known_keys(parent);
    let suggestion = known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.clone());
    let within = if parent.is_empty() {
        "at the top level".to_string()
    } else {
        format!("in `{parent}`")
    };
    let fix = match suggestion {
        Some(k) => format!("did you mean `{k}`?"),
        None if known.is_empty() => "remove it".to_string(),
        None => format!("remove it; the keys here are: {}", known.join(", ")),
    };
    Diagnostic::error(
        "unknown-key",
        file,
        map.find(path).key,
        format!("unknown key `{key}` {within}"),
    )
    .with_path(path)
    .with_fix(fix)
}

fn type_error(
    message: &str,
    path: &serde_path_to_error::Path,
    file: &str,
    map: &SourceMap,
) -> Diagnostic {
    let path = tracked_path(path);
    // serde speaks Rust ("i64", "a sequence"); say it in YAML words.
    let message = message
        .replace("expected i64", "expected a whole number")
        .replace("a sequence", "a list")
        .replace("expected a map", "expected a mapping (`key: value` lines)")
        .replace("invalid type: map", "invalid type: mapping")
        .replace("invalid type: sequence", "invalid type: list")
        .replace("unit value", "nothing (null)");
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        let full = child_key(&path, field);
        return Diagnostic::error(
            "required",
            file,
            map.find(&path).key,
            format!("`{full}` is required"),
        )
        .with_path(full.clone())
        .with_fix(format!("add `{field}:` (see `shipit init` for an example)"));
    }
    let shown = if path.is_empty() { "the file" } else { &path };
    Diagnostic::error(
        "type",
        file,
        map.find(&path).value,
        format!("`{shown}`: {message}"),
    )
    .with_path(path.clone())
    .with_fix(
        "see the configuration reference in docs/config.md, or `shipit schema`, for this key's type",
    )
}

/// The keys the schema allows in the mapping at `path` (for "did you mean").
fn known_keys(path: &str) -> Vec<String> {
    // Made once: a file with thousands of unknown keys asks thousands of times.
    static SCHEMA: std::sync::LazyLock<schemars::Schema> =
        std::sync::LazyLock::new(|| schemars::schema_for!(DeployConfig));
    let root = SCHEMA.as_value();
    let mut node = root;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        // Sequence indexes are not mapping keys: strip `[n]` suffixes.
        let key = segment.split('[').next().unwrap_or(segment);
        let Some(next) = object_schema(root, node)
            .and_then(|o| o.get("properties"))
            .and_then(|p| p.get(key))
        else {
            return Vec::new();
        };
        node = next;
    }
    object_schema(root, node)
        .and_then(|o| o.get("properties"))
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Follows `$ref` and `anyOf` (how schemars writes `Option<T>`) to the object schema.
fn object_schema<'a>(
    root: &'a serde_json::Value,
    mut node: &'a serde_json::Value,
) -> Option<&'a serde_json::Value> {
    for _ in 0..8 {
        if node.get("properties").is_some() {
            return Some(node);
        }
        if let Some(reference) = node.get("$ref").and_then(|r| r.as_str()) {
            node = root.pointer(reference.strip_prefix('#')?)?;
        } else if let Some(options) = node.get("anyOf").and_then(|a| a.as_array()) {
            node = options
                .iter()
                .find(|o| o.get("$ref").is_some() || o.get("properties").is_some())?;
        } else {
            return None;
        }
    }
    None
}

/// Where the image tag came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagOrigin {
    Config,
    GithubSha,
    GitHead,
}

/// The tag to push: `image.tag`, else `GITHUB_SHA`, else the short git commit of the config's
/// folder.
pub fn resolve_tag(
    loaded: &LoadedConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(String, TagOrigin)> {
    if let Some(tag) = &loaded.config.image.tag {
        return Ok((tag.clone(), TagOrigin::Config));
    }
    if let Some(sha) = env("GITHUB_SHA").filter(|s| !s.is_empty()) {
        return Ok((sha, TagOrigin::GithubSha));
    }
    let folder = loaded
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let output = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(folder)
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Ok((sha, TagOrigin::GitHead))
        }
        _ => anyhow::bail!(
            "no image tag: `image.tag` is not set, GITHUB_SHA is not set, and {} is not in a git checkout with a commit; set `image.tag` (for example `tag: ${{VERSION}}`)",
            folder.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
app: multi-stage-app
region: us-east-1
image:
  source: docker://multi-stage-app:latest
cluster: multi-stage-cluster
service:
  name: multi-stage-app-service
  subnets: [subnet-0123456789abcdef0]
task:
  family: multi-stage-app-task
  execution_role: arn:aws:iam::123456789012:role/ecsTaskExecutionRole
";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn errors(text: &str) -> Vec<Diagnostic> {
        load_bytes(text.as_bytes(), "deploy.yaml", &no_env)
            .expect_err("should fail")
            .diagnostics
    }

    #[test]
    fn interpolated_values_are_the_text_they_were_and_numbers_only_where_wanted() {
        let text = format!(
            "{GOOD}  cpu: ${{CPU}}\ncontainer:\n  port: ${{PORT}}\n  environment:\n    APP_VERSION: ${{VERSION}}\n    SHORT: ${{SHORT_SHA}}\n    PIN: ${{PIN}}\n    DEBUG: ${{FLAG}}\n    EMPTY: ${{UNSET:-}}\n"
        )
        .replace(
            "  source: docker://multi-stage-app:latest\n",
            "  source: docker://multi-stage-app:latest\n  tag: ${DIGITS}\n",
        );
        let env = |name: &str| {
            Some(
                match name {
                    "VERSION" => "1.10",
                    "SHORT_SHA" => "0347126",
                    "PIN" => "0x1F",
                    "FLAG" => "true",
                    "DIGITS" => "1234567",
                    "PORT" => "8080",
                    "CPU" => "256",
                    _ => return None,
                }
                .to_string(),
            )
        };
        let loaded = load_bytes(text.as_bytes(), "deploy.yaml", &env).unwrap();
        let c = &loaded.config;
        let shown = |name: &str| c.container.environment[name].to_string();
        assert_eq!(shown("APP_VERSION"), "1.10");
        assert_eq!(shown("SHORT"), "0347126");
        assert_eq!(shown("PIN"), "0x1F");
        assert_eq!(shown("DEBUG"), "true");
        assert_eq!(shown("EMPTY"), "");
        assert_eq!(c.image.tag.as_deref(), Some("1234567"));
        // Where the model wants a number, the text is read as one.
        assert_eq!(c.container.port, 8080);
        assert_eq!(c.task.cpu, 256);
    }

    #[test]
    fn a_config_that_is_not_text_is_refused_without_quoting_it() {
        let err = load_bytes(
            b"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\0GITHUB_TOKEN=ghp_x\0",
            "deploy.yaml",
            &no_env,
        )
        .unwrap_err();
        assert_eq!(err.diagnostics[0].rule, "not-text");
        assert!(err.source_text.is_none());
        let shown = err.render();
        assert!(
            !shown.contains("wJalr") && !shown.contains("ghp_"),
            "{shown}"
        );
    }

    #[test]
    fn devices_and_kernel_files_are_never_read_as_a_config() {
        for path in ["/dev/zero", "/proc/self/environ"] {
            let err = load(Path::new(path)).unwrap_err();
            assert_eq!(err.diagnostics[0].rule, "unreadable", "{path}");
            assert!(err.source_text.is_none());
        }
        // Through a symlink too, as a branch could commit one.
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("deploy.yaml");
        std::os::unix::fs::symlink("/proc/self/environ", &link).unwrap();
        let err = load(&link).unwrap_err();
        assert!(err.render().contains("system file"), "{}", err.render());
    }

    #[test]
    fn thousands_of_unknown_keys_are_reported_quickly() {
        let mut text = GOOD.to_string();
        for i in 0..16_000 {
            text.push_str(&format!("unknown_{i}: x\n"));
        }
        // 25 s when the schema was made for each key (not timed here: tests do not time).
        let err = load_bytes(text.as_bytes(), "deploy.yaml", &no_env).unwrap_err();
        assert_eq!(err.diagnostics.len(), 16_000);
        assert!(err.diagnostics.iter().all(|d| d.rule == "unknown-key"));
    }

    #[test]
    fn a_minimal_config_gets_the_defaults() {
        let loaded = load_bytes(GOOD.as_bytes(), "deploy.yaml", &no_env).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let c = &loaded.config;
        assert_eq!(c.service.desired_count, 2);
        assert_eq!((c.task.cpu, c.task.memory), (256, 512));
        assert_eq!(c.container.port, 5000);
        assert!(c.repository.scan_on_push);
        assert_eq!(c.repository.tag_mutability, model::TagMutability::Immutable);
        assert_eq!(loaded.names.log_group, "/ecs/multi-stage-app-task");
        assert_eq!(loaded.names.repository, "multi-stage-app");
        assert_eq!(loaded.names.container, "multi-stage-app");
    }

    #[test]
    fn all_problems_are_reported_at_once_in_file_order() {
        let text = GOOD
            .replace(
                "  name: multi-stage-app-service\n",
                "  nmae: x\n  desired_count: -1\n",
            )
            .replace("task:\n", "task:\n  cpu: 256\n  memory: 4096\n");
        let found = errors(&text);
        let rules: Vec<_> = found.iter().map(|d| (d.location.line, d.rule)).collect();
        assert_eq!(
            rules,
            vec![
                (7, "unknown-key"),
                (8, "out-of-range"),
                (12, "fargate-cpu-memory")
            ]
        );
        assert_eq!(found[0].fix.as_deref(), Some("did you mean `name`?"));
    }

    #[test]
    fn missing_required_keys_name_the_key() {
        let found = errors("app: x\nservice:\n  subnets: []\n");
        assert_eq!(found[0].rule, "required");
        assert!(found[0].message.contains("`image`"), "{}", found[0].message);
    }

    #[test]
    fn wrong_types_point_at_the_value() {
        let found = errors(&GOOD.replace("task:\n", "task:\n  cpu: lots\n"));
        assert_eq!(found[0].rule, "type");
        assert_eq!(
            found[0].location,
            Location {
                line: 10,
                column: 8
            }
        );
        assert!(
            found[0].message.contains("`task.cpu`"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn moving_tags_warn_on_immutable_repositories_only() {
        let text = GOOD.replace("  source:", "  tag: latest\n  source:");
        let loaded = load_bytes(text.as_bytes(), "d", &no_env).unwrap();
        assert_eq!(loaded.warnings[0].rule, "moving-tag");
        let mutable = format!("{text}repository:\n  tag_mutability: MUTABLE\n");
        let loaded = load_bytes(mutable.as_bytes(), "d", &no_env).unwrap();
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let mut bytes = b"app: ok\nregion: us-\xff\n".to_vec();
        bytes.extend_from_slice(b"x: 1\n");
        let err = load_bytes(&bytes, "d", &no_env).unwrap_err();
        assert_eq!(err.diagnostics[0].rule, "not-utf8");
        assert_eq!(
            err.diagnostics[0].location,
            Location {
                line: 2,
                column: 12
            }
        );
    }

    #[test]
    fn known_keys_follow_refs() {
        assert!(known_keys("").contains(&"service".to_string()));
        assert!(known_keys("service").contains(&"desired_count".to_string()));
        assert!(known_keys("container.health_check").contains(&"interval".to_string()));
        assert!(known_keys("service.load_balancer").contains(&"target_group_arn".to_string()));
    }
}
