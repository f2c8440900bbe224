//! Guardrails that look inside the image before anything is deployed:
//!
//! - the health check's programs must exist in the image (an alpine or slim image has no curl:
//!   a `curl -f ...` health check marks every task unhealthy, and ECS replaces them forever);
//! - the compressed image must fit the `image.max_size` budget, and its size is reported with
//!   its largest layers and the change against the image deployed now.

use serde::Serialize;

use crate::config::model::HealthCheckCommand;
use crate::progress::human_size;
use shipit_oci::image::files::FileTree;
use shipit_oci::image::{Digest, Image};

/// The PATH a container gets when its image sets none (Docker's and containerd's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Shell builtins and keywords: never looked up in the image.
const SHELL_BUILTINS: &[&str] = &[
    "exit", "true", "false", "test", "[", "[[", "echo", "printf", ":", "cd", "set", "export",
    "unset", "if", "then", "else", "elif", "fi", "for", "while", "do", "done", "case", "esac",
    "return", "read", "eval", "{", "}", "(", ")",
];
/// Words that run the word after them: `exec curl ...` runs curl.
const PREFIXES: &[&str] = &["exec", "command", "time", "!", "nice", "nohup", "timeout"];

/// Why the health check cannot run in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingProgram {
    pub program: String,
    /// Where it was looked for.
    pub searched: String,
    /// Programs the image does have that could do the job, with a command using them.
    pub alternatives: Vec<String>,
}

/// The programs a health check runs, in order: for a shell command (`CMD-SHELL`) the shell
/// itself and the first word of each simple command (builtins skipped); for `CMD` the program.
pub fn programs(command: &HealthCheckCommand) -> Vec<String> {
    let (shell, text) = match command {
        HealthCheckCommand::Shell(text) => (true, text.clone()),
        HealthCheckCommand::Exec(parts) => match parts.first().map(String::as_str) {
            Some("CMD-SHELL") => (true, parts[1..].join(" ")),
            Some("CMD") => return parts.get(1).cloned().into_iter().collect(),
            _ => return parts.first().cloned().into_iter().collect(),
        },
    };
    let mut found = Vec::new();
    if shell {
        found.push("/bin/sh".to_string());
    }
    for words in simple_commands(&text) {
        let program = words
            .iter()
            // `VAR=value cmd`: the assignment is not the program; nor is `exec`.
            .find(|w| !is_assignment(w) && !PREFIXES.contains(&w.as_str()))
            .filter(|w| !SHELL_BUILTINS.contains(&w.as_str()));
        if let Some(program) = program
            && !found.contains(program)
        {
            found.push(program.clone());
        }
    }
    found
}

/// Checks that every program the health check runs is in the image, along `path_var`.
pub fn check_health_check(
    command: &HealthCheckCommand,
    tree: &FileTree,
    path_var: &str,
    port: u16,
) -> Result<(), MissingProgram> {
    for program in programs(command) {
        if tree.which(&program, path_var).is_none() {
            return Err(MissingProgram {
                searched: if program.contains('/') {
                    program.clone()
                } else {
                    path_var.to_string()
                },
                alternatives: alternatives(tree, path_var, port, &program),
                program,
            });
        }
    }
    Ok(())
}

/// Health checks that would work with what the image has.
fn alternatives(tree: &FileTree, path_var: &str, port: u16, missing: &str) -> Vec<String> {
    let url = format!("http://localhost:{port}/health");
    let candidates = [
        ("curl", format!("curl -fsS -o /dev/null {url} || exit 1")),
        ("wget", format!("wget -q -O /dev/null {url} || exit 1")),
        (
            "python3",
            format!(
                "python3 -c \"import urllib.request; urllib.request.urlopen('{url}', timeout=4)\""
            ),
        ),
        (
            "python",
            format!(
                "python -c \"import urllib.request; urllib.request.urlopen('{url}', timeout=4)\""
            ),
        ),
        (
            "node",
            format!(
                "node -e \"require('http').get('{url}', r => process.exit(r.statusCode == 200 ? 0 : 1)).on('error', () => process.exit(1))\""
            ),
        ),
    ];
    let has_shell = tree.which("/bin/sh", path_var).is_some();
    candidates
        .into_iter()
        .filter(|(program, _)| *program != missing)
        .filter(|(program, _)| tree.which(program, path_var).is_some())
        .map(|(program, command)| {
            if has_shell {
                command
            } else {
                format!("[\"CMD\", \"{program}\", ...] (the image has no /bin/sh)")
            }
        })
        .take(2)
        .collect()
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Splits a shell command line into simple commands (at `|`, `||`, `&&`, `;`, `&` and
/// newlines outside quotes), each as its words with quotes removed.
///
/// Written here: shell-word crates (shlex, shell-words) split words but do not report where
/// one command ends and the next begins (`a||b` comes back as one word).
fn simple_commands(text: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    let end_word = |word: &mut String, in_word: &mut bool, commands: &mut Vec<Vec<String>>| {
        if *in_word {
            commands
                .last_mut()
                .expect("never empty")
                .push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                word.push(escaped);
                            }
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(escaped) = chars.next() {
                    word.push(escaped);
                }
            }
            '|' | '&' | ';' | '\n' => {
                end_word(&mut word, &mut in_word, &mut commands);
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                commands.push(Vec::new());
            }
            c if c.is_whitespace() => end_word(&mut word, &mut in_word, &mut commands),
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut commands);
    commands.retain(|c| !c.is_empty());
    commands
}

/// The PATH the image's config sets (`Env: ["PATH=..."]`), else the default.
pub fn image_path(config_blob: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ConfigFile {
        config: Option<RunConfig>,
    }
    #[derive(serde::Deserialize)]
    struct RunConfig {
        #[serde(rename = "Env", default)]
        env: Option<Vec<String>>,
    }
    serde_json::from_slice::<ConfigFile>(config_blob)
        .ok()
        .and_then(|c| c.config)
        .and_then(|c| c.env)
        .and_then(|env| {
            env.iter()
                .find_map(|e| e.strip_prefix("PATH=").map(str::to_string))
        })
        .unwrap_or_else(|| DEFAULT_PATH.to_string())
}

/// The compressed size of an image, its largest layers, and how it compares.
#[derive(Debug, Clone, Serialize)]
pub struct SizeReport {
    /// Config and layers, compressed, as the registry stores them.
    pub bytes: u64,
    pub layers: usize,
    /// Up to three, largest first.
    pub largest: Vec<LayerSize>,
    /// The image deployed now, when there is one and its size is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerSize {
    pub digest: Digest,
    pub bytes: u64,
}

impl SizeReport {
    pub fn of(image: &Image, max_bytes: Option<u64>) -> SizeReport {
        let mut largest: Vec<LayerSize> = image
            .layers
            .iter()
            .map(|l| LayerSize {
                digest: l.descriptor.digest.clone(),
                bytes: l.descriptor.size,
            })
            .collect();
        largest.sort_by_key(|l| std::cmp::Reverse(l.bytes));
        largest.truncate(3);
        SizeReport {
            bytes: image.size(),
            layers: image.layers.len(),
            largest,
            deployed_bytes: None,
            max_bytes,
        }
    }

    pub fn over_budget(&self) -> bool {
        self.max_bytes.is_some_and(|max| self.bytes > max)
    }

    /// `42.1 MiB in 5 layers (largest 30.2 MiB, 8.0 MiB, 2.1 MiB); +3.4 MiB (+8.8%) against
    /// the deployed image; budget 150.0 MiB`.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} in {} layer{}",
            human_size(self.bytes),
            self.layers,
            if self.layers == 1 { "" } else { "s" }
        );
        if self.layers > 1 {
            let sizes: Vec<String> = self.largest.iter().map(|l| human_size(l.bytes)).collect();
            text.push_str(&format!(" (largest {})", sizes.join(", ")));
        }
        if let Some(before) = self.deployed_bytes {
            let change = self.bytes as i64 - before as i64;
            let sign = if change < 0 { "-" } else { "+" };
            let percent = if before > 0 {
                format!(
                    " ({sign}{:.1}%)",
                    (change.unsigned_abs() as f64) * 100.0 / before as f64
                )
            } else {
                String::new()
            };
            text.push_str(&format!(
                "; {sign}{}{percent} against the deployed image",
                human_size(change.unsigned_abs())
            ));
        }
        if let Some(max) = self.max_bytes {
            text.push_str(&format!("; budget {}", human_size(max)));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipit_oci::image::files::Entry;

    fn shell(text: &str) -> HealthCheckCommand {
        HealthCheckCommand::Shell(text.to_string())
    }

    #[test]
    fn programs_of_shell_and_exec_health_checks() {
        assert_eq!(
            programs(&shell("curl -f http://localhost:5000/health || exit 1")),
            ["/bin/sh", "curl"]
        );
        assert_eq!(
            programs(&shell("LANG=C wget -qO- 'http://x/a b'|grep -q ok&&true")),
            ["/bin/sh", "wget", "grep"]
        );
        assert_eq!(
            programs(&shell(r#"python -c "import sys; sys.exit(0 if 1 else 1)""#)),
            ["/bin/sh", "python"]
        );
        assert_eq!(
            programs(&HealthCheckCommand::Exec(vec![
                "CMD".into(),
                "/healthcheck".into(),
                "--quiet".into()
            ])),
            ["/healthcheck"]
        );
        assert_eq!(
            programs(&HealthCheckCommand::Exec(vec![
                "CMD-SHELL".into(),
                "exec node check.js".into()
            ])),
            ["/bin/sh", "node"]
        );
    }

    fn alpine_python() -> FileTree {
        FileTree::from_entries([
            ("bin/busybox", Entry::File { mode: 0o755 }),
            ("bin/sh", Entry::Symlink("/bin/busybox".into())),
            ("usr/bin/wget", Entry::Symlink("/bin/busybox".into())),
            ("usr/local/bin/python3", Entry::File { mode: 0o755 }),
            ("usr/local/bin/python", Entry::Symlink("python3".into())),
        ])
    }

    #[test]
    fn a_missing_curl_is_named_with_what_the_image_has_instead() {
        let tree = alpine_python();
        let err = check_health_check(
            &shell("curl -f http://localhost:5000/health || exit 1"),
            &tree,
            DEFAULT_PATH,
            5000,
        )
        .unwrap_err();
        assert_eq!(err.program, "curl");
        assert_eq!(err.searched, DEFAULT_PATH);
        assert_eq!(err.alternatives.len(), 2);
        assert!(
            err.alternatives[0].starts_with("wget -q -O /dev/null http://localhost:5000/health")
        );
        assert!(err.alternatives[1].starts_with("python3 -c"));
        assert!(
            check_health_check(
                &shell("python -c \"import urllib.request\""),
                &tree,
                DEFAULT_PATH,
                5000
            )
            .is_ok()
        );
    }

    #[test]
    fn a_shell_health_check_needs_a_shell() {
        let tree = FileTree::from_entries([("app/server", Entry::File { mode: 0o755 })]);
        let err =
            check_health_check(&shell("/app/server --check"), &tree, DEFAULT_PATH, 80).unwrap_err();
        assert_eq!(err.program, "/bin/sh");
        let exec = HealthCheckCommand::Exec(vec!["CMD".into(), "/app/server".into()]);
        assert!(check_health_check(&exec, &tree, DEFAULT_PATH, 80).is_ok());
    }

    #[test]
    fn the_image_path_comes_from_its_config() {
        let config = br#"{"config":{"Env":["LANG=C","PATH=/opt/venv/bin:/usr/bin"]}}"#;
        assert_eq!(image_path(config), "/opt/venv/bin:/usr/bin");
        assert_eq!(image_path(br#"{"config":{}}"#), DEFAULT_PATH);
        assert_eq!(image_path(b"not json"), DEFAULT_PATH);
    }

    #[test]
    fn size_summary() {
        let report = SizeReport {
            bytes: 44_145_049,
            layers: 3,
            largest: vec![
                LayerSize {
                    digest: Digest::of_bytes(b"a"),
                    bytes: 31_666_995,
                },
                LayerSize {
                    digest: Digest::of_bytes(b"b"),
                    bytes: 8_388_608,
                },
            ],
            deployed_bytes: Some(40_580_000),
            max_bytes: Some(150 * 1024 * 1024),
        };
        assert_eq!(
            report.summary(),
            "42.1 MiB in 3 layers (largest 30.2 MiB, 8.0 MiB); +3.4 MiB (+8.8%) against the deployed image; budget 150.0 MiB"
        );
        assert!(!report.over_budget());
    }
}
