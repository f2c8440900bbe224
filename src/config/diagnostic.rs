//! One problem found in a config file: where it is, which rule it breaks, and how to fix it.

use std::fmt::{self, Write as _};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable, short rule name (`unknown-key`, `fargate-cpu-memory`, ...).
    pub rule: &'static str,
    pub file: String,
    #[serde(flatten)]
    pub location: Location,
    /// The value's path in the config (`service.subnets[0]`), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Diagnostic {
    pub fn error(
        rule: &'static str,
        file: &str,
        location: Location,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            rule,
            file: file.to_string(),
            location,
            path: None,
            message: message.into(),
            fix: None,
        }
    }

    pub fn warning(
        rule: &'static str,
        file: &str,
        location: Location,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(rule, file, location, message)
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic the way compilers do: a header, the source line with a caret
    /// under the column, and the fix.
    pub fn render(&self, source: Option<&str>) -> String {
        let line = source.and_then(|s| s.lines().nth(self.location.line.saturating_sub(1)));
        self.render_line(line)
    }

    /// As `render`, given the source line itself: a caller rendering many diagnostics of one
    /// file splits it into lines once (`SourceLines`), not once per diagnostic.
    pub fn render_line(&self, line: Option<&str>) -> String {
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "{label}[{}]: {}:{}:{}: {}",
            self.rule,
            self.file,
            self.location.line,
            self.location.column,
            crate::redact::mask_text(&self.message)
        );
        if let Some(line) = line {
            let number = self.location.line.to_string();
            let gutter = " ".repeat(number.len());
            // Tabs would shift the caret: show them as one space each. A secret-shaped value on
            // the line (a config that is not one, such as ~/.aws/credentials) is masked.
            let shown: String = line
                .chars()
                .take(200)
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            let shown = crate::redact::mask_text(&shown);
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{number} | {shown}");
            let caret_at = (self.location.column - 1).min(shown.chars().count());
            let _ = writeln!(out, "{gutter} | {}^", " ".repeat(caret_at));
        }
        if let Some(fix) = &self.fix {
            let _ = writeln!(out, "  = fix: {fix}");
        }
        out
    }
}

/// A file's lines, split once, for rendering many diagnostics of it.
pub struct SourceLines<'a>(Vec<&'a str>);

impl<'a> SourceLines<'a> {
    pub fn new(source: Option<&'a str>) -> Self {
        SourceLines(source.map(|s| s.lines().collect()).unwrap_or_default())
    }

    /// Line `number` (1-based), when the file has it.
    pub fn get(&self, number: usize) -> Option<&'a str> {
        number.checked_sub(1).and_then(|i| self.0.get(i).copied())
    }

    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        diagnostic.render_line(self.get(diagnostic.location.line))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(None).trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_header_source_line_caret_and_fix() {
        let d = Diagnostic::error(
            "unknown-key",
            "deploy.yaml",
            Location { line: 2, column: 3 },
            "unknown key `nme` in `service`",
        )
        .with_fix("did you mean `name`?");
        let text = d.render(Some("service:\n  nme: web\n"));
        assert_eq!(
            text,
            "error[unknown-key]: deploy.yaml:2:3: unknown key `nme` in `service`\n  |\n2 |   nme: web\n  |   ^\n  = fix: did you mean `name`?\n"
        );
    }
}
