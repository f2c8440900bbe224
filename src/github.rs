//! GitHub Actions: step outputs (`GITHUB_OUTPUT`), the step summary (`GITHUB_STEP_SUMMARY`),
//! `::error::` annotations and `::group::` folding, used when `GITHUB_ACTIONS=true`.
//! Workflow commands go to stderr, so stdout keeps only the result (and stays valid JSON).

use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct GitHub {
    output: Option<PathBuf>,
    summary: Option<PathBuf>,
}

impl GitHub {
    /// Some when running as a GitHub Actions step.
    pub fn detect() -> Option<GitHub> {
        (std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true")).then(|| GitHub {
            output: std::env::var_os("GITHUB_OUTPUT").map(PathBuf::from),
            summary: std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from),
        })
    }

    // The workflow commands below are lines for the printer to write (on stderr): the printer
    // is the only code that writes to the terminal.

    pub fn group(&self, title: &str) -> String {
        format!("::group::{}", escape_data(title))
    }

    pub fn end_group(&self) -> String {
        "::endgroup::".to_string()
    }

    pub fn error(&self, title: &str, message: &str) -> String {
        format!(
            "::error title={}::{}",
            escape_property(title),
            escape_data(message)
        )
    }

    pub fn warning(&self, message: &str) -> String {
        format!("::warning::{}", escape_data(message))
    }

    /// An annotation on a line of a file (GitHub shows it in the diff view).
    pub fn error_at(
        &self,
        file: &str,
        line: usize,
        column: usize,
        title: &str,
        message: &str,
    ) -> String {
        format!(
            "::error file={},line={line},col={column},title={}::{}",
            escape_property(file),
            escape_property(title),
            escape_data(message)
        )
    }

    /// Appends `name=value` lines to GITHUB_OUTPUT (values with newlines use a delimiter).
    pub fn outputs(&self, pairs: &[(&str, String)]) -> std::io::Result<()> {
        let Some(path) = &self.output else {
            return Ok(());
        };
        let mut text = String::new();
        for (name, value) in pairs {
            text.push_str(&output_line(name, value));
        }
        append(path, &text)
    }

    pub fn summary(&self, markdown: &str) -> std::io::Result<()> {
        match &self.summary {
            Some(path) => append(path, markdown),
            None => Ok(()),
        }
    }
}

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// One GITHUB_OUTPUT entry. Multi-line values use the heredoc form with a delimiter that does
/// not occur in the value.
pub fn output_line(name: &str, value: &str) -> String {
    if !value.contains('\n') {
        return format!("{name}={value}\n");
    }
    let mut delimiter = String::from("SHIPIT_EOF");
    while value.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Workflow command data: `%`, CR and LF are escaped (GitHub's own toolkit rules).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow command properties also escape `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_and_commands_are_escaped_as_github_reads_them() {
        assert_eq!(output_line("result", "deployed"), "result=deployed\n");
        assert_eq!(
            output_line("report", "a\nb"),
            "report<<SHIPIT_EOF\na\nb\nSHIPIT_EOF\n"
        );
        assert_eq!(
            output_line("x", "SHIPIT_EOF\n"),
            "x<<SHIPIT_EOF_\nSHIPIT_EOF\n\nSHIPIT_EOF_\n"
        );
        assert_eq!(escape_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(
            escape_property("deploy: failed, again"),
            "deploy%3A failed%2C again"
        );
    }
}
