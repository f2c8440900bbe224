//! The only place that writes to the terminal. Results go to stdout (text or one JSON
//! document); messages, warnings and logs go to stderr. A closed pipe ends output quietly.

use std::io::{self, Write};

use anstream::{eprint, eprintln};
use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::config::{ConfigError, Diagnostic, Severity};
use crate::exit::{BadInput, ExitStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Clone)]
pub struct Printer {
    pub format: OutputFormat,
    /// -2 (-qq) to 3 (-vvv).
    verbosity: i8,
    /// Put before each line on stderr: `[api] ` while a fleet deploys several services.
    prefix: Option<std::sync::Arc<str>>,
    /// With JSON output for a fleet: each service's result is kept here, for the fleet's one
    /// document, instead of printed.
    captured: Option<Captured>,
}

/// Results kept by a capturing printer.
pub type Captured = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const GOOD: Style = AnsiColor::Green.on_default().bold();

impl Printer {
    pub fn new(format: OutputFormat, verbose: u8, quiet: u8) -> Self {
        Printer {
            format,
            verbosity: (verbose.min(3) as i8) - (quiet.min(2) as i8),
            prefix: None,
            captured: None,
        }
    }

    /// The same printer, keeping JSON results (see `captured`) instead of printing them.
    pub fn capturing(&self) -> (Printer, Captured) {
        let captured = Captured::default();
        (
            Printer {
                captured: Some(captured.clone()),
                ..self.clone()
            },
            captured,
        )
    }

    /// The `[label] ` lines on stderr are led by, if any.
    pub fn prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or("")
    }

    /// The same printer, each line on stderr led by `[label] `.
    pub fn with_prefix(&self, label: &str) -> Printer {
        Printer {
            prefix: Some(format!("[{label}] ").into()),
            ..self.clone()
        }
    }

    fn led(&self, line: &str) -> String {
        let line = crate::redact::printable(line, usize::MAX);
        match &self.prefix {
            Some(prefix) => line
                .lines()
                .map(|l| format!("{prefix}{l}"))
                .collect::<Vec<_>>()
                .join("\n"),
            None => line,
        }
    }

    /// -q or -qq: no progress.
    pub fn is_quiet(&self) -> bool {
        self.verbosity < 0
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Prints a command's result: `human` as given, or `value` as one JSON document.
    pub fn result<T: Serialize>(&self, value: &T, human: &str) -> io::Result<()> {
        if let (Some(captured), OutputFormat::Json) = (&self.captured, self.format) {
            let value = serde_json::to_value(value).map_err(io::Error::other)?;
            captured
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(value);
            return Ok(());
        }
        let text = match self.format {
            OutputFormat::Json => {
                let mut json = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
                json.push('\n');
                json
            }
            // Human text quotes what AWS and registries said (events, reasons, messages):
            // no control character of theirs reaches the terminal.
            OutputFormat::Human => crate::redact::printable(human, usize::MAX),
        };
        write_quietly(&mut anstream::stdout(), &text)
    }

    /// Raw text to stdout (schemas, completion scripts, files' contents).
    pub fn raw(&self, text: &str) -> io::Result<()> {
        write_quietly(&mut io::stdout(), text)
    }

    /// A progress or status line on stderr (hidden by -q).
    pub fn info(&self, line: &str) {
        if self.verbosity >= 0 {
            eprintln!("{}", self.led(line));
        }
    }

    /// A warning on stderr (hidden by -qq), also raised as a GitHub annotation in Actions.
    pub fn warn(&self, line: &str) {
        if self.verbosity >= -1 {
            let prefix = self.prefix.as_deref().unwrap_or("");
            let line = crate::redact::printable(line, usize::MAX);
            eprintln!("{prefix}{WARNING}warning{WARNING:#}: {line}");
        }
        if let Some(gh) = crate::github::GitHub::detect() {
            self.workflow_command(&gh.warning(line));
        }
    }

    /// A GitHub Actions workflow command (`::group::`, `::error ...::`), on stderr at every
    /// verbosity: the runner reads it.
    pub fn workflow_command(&self, command: &str) {
        eprintln!("{command}");
    }

    /// A line of progress that the caller already decided to show (`progress`'s plain lines in
    /// CI), on stderr.
    pub fn progress_line(&self, line: &str) {
        eprintln!("{}", self.led(line));
    }

    pub fn success(&self, line: &str) {
        if self.verbosity >= 0 {
            let line = self.led(line);
            eprintln!("{GOOD}{line}{GOOD:#}");
        }
    }

    /// Config warnings on stderr, quoting the source line (hidden by -qq).
    pub fn diagnostics(&self, diagnostics: &[Diagnostic], source: Option<&str>) {
        let lines = crate::config::diagnostic::SourceLines::new(source);
        for d in diagnostics {
            if d.severity == Severity::Warning && self.verbosity < -1 {
                continue;
            }
            let style = match d.severity {
                Severity::Error => ERROR,
                Severity::Warning => WARNING,
            };
            let text = lines.render(d);
            let (head, rest) = text.split_once('\n').unwrap_or((&text, ""));
            eprint!("{style}{head}{style:#}\n{rest}");
        }
    }

    /// Reports a failed command and picks its exit code.
    pub fn error(&self, err: &anyhow::Error) -> ExitStatus {
        let (status, kind) = if err.downcast_ref::<ConfigError>().is_some()
            || err.downcast_ref::<BadInput>().is_some()
        {
            (ExitStatus::BadInput, "bad-input")
        } else {
            (ExitStatus::Failure, "failure")
        };
        if self.is_json() {
            let mut diagnostics = err
                .downcast_ref::<ConfigError>()
                .map(|e| e.diagnostics.clone())
                .unwrap_or_default();
            for d in &mut diagnostics {
                d.message = crate::redact::mask_text(&d.message);
            }
            let doc = serde_json::json!({
                "ok": false,
                "error": {
                    "kind": kind,
                    "message": crate::redact::mask_text(&format!("{err:#}")),
                    "diagnostics": diagnostics,
                }
            });
            let _ = write_quietly(&mut io::stdout(), &format!("{doc:#}\n"));
        }
        if let Some(gh) = crate::github::GitHub::detect() {
            // One annotation per failure, on the file and line when the config is at fault.
            match err.downcast_ref::<ConfigError>() {
                Some(config_error) => {
                    for d in config_error.errors() {
                        self.workflow_command(&gh.error_at(
                            &d.file,
                            d.location.line,
                            d.location.column,
                            d.rule,
                            &d.message,
                        ));
                    }
                }
                None => self.workflow_command(&gh.error("shipit failed", &format!("{err:#}"))),
            }
        }
        if let Some(config_error) = err.downcast_ref::<ConfigError>() {
            self.diagnostics(
                &config_error.diagnostics,
                config_error.source_text.as_deref(),
            );
            let errors = config_error.errors().count();
            eprintln!(
                "{ERROR}{}: {errors} error{} found; nothing was changed{ERROR:#}",
                config_error.file,
                if errors == 1 { "" } else { "s" }
            );
        } else {
            let text = crate::redact::printable(&format!("{err:#}"), usize::MAX);
            eprintln!("{ERROR}error:{ERROR:#} {text}");
        }
        status
    }
}

/// Writes all of `text`; a reader that went away (`| head`) is not an error.
fn write_quietly(out: &mut impl Write, text: &str) -> io::Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Logs to stderr. -v shows shipit's info, -vv debug, -vvv trace of every crate (but the SDK's
/// wire dumps); RUST_LOG wins.
pub fn init_tracing(verbose: u8, quiet: u8) {
    use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
    use tracing_subscriber::prelude::*;
    let default = match (verbose, quiet) {
        (_, q) if q > 0 => "error",
        (0, _) => "warn",
        (1, _) => "warn,shipit=info",
        (2, _) => "info,shipit=debug",
        _ => "trace",
    };
    let levels = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // The SDK's runtime logs whole response bodies and parsed outputs at trace level, the ECR
    // login token among them: those events are dropped, whatever RUST_LOG asks.
    let no_wire_dumps = filter_fn(|meta| {
        !(*meta.level() == tracing::Level::TRACE
            && ["aws_smithy_runtime", "aws_sigv4"]
                .iter()
                .any(|target| meta.target().starts_with(target)))
    });
    // Colour only on a terminal (never in CI logs or files), and never with NO_COLOR.
    let ansi =
        std::io::IsTerminal::is_terminal(&io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_ansi(ansi)
        .with_target(verbose >= 2)
        .with_filter(levels.and(no_wire_dumps));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
