//! The command's exit code, carried home in its own output.
//!
//! ECS runs Exec sessions as `InteractiveCommands` in a terminal, and the agent reports no
//! exit code for those (it does only for `NonInteractiveCommands`, which ECS does not offer).
//! So shipit runs the command under `/bin/sh`, in a subshell, and has the shell print a line
//! with a marker no output can guess (a fresh random one per session) and the exit status.
//! The filter here takes that line out of what the user sees and keeps the code. An agent that
//! does report the code (`EXIT_CODE: N`) wins over the marker.

/// The marker for one session.
pub struct ExitMarker {
    marker: String,
}

impl Default for ExitMarker {
    fn default() -> Self {
        ExitMarker::new()
    }
}

impl ExitMarker {
    pub fn new() -> ExitMarker {
        ExitMarker {
            marker: format!("__shipit_exit_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The ECS command string: `command_line` run by `/bin/sh` (as ssh runs a remote
    /// command), then the marker line. The agent splits the string as a POSIX shell would
    /// (shlex), so the script is one single-quoted word.
    pub fn wrap(&self, command_line: &str) -> String {
        let script = format!(
            "(\n{command_line}\n)\nprintf '%s:%d\\n' {} \"$?\"",
            self.marker
        );
        format!("/bin/sh -c {}", single_quoted(&script))
    }

    pub fn filter(&self) -> MarkerFilter {
        MarkerFilter {
            marker: self.marker.as_bytes().to_vec(),
            held: Vec::new(),
            exit_code: None,
            done: false,
        }
    }
}

/// `text` as one POSIX shell word.
pub fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Passes output through, less the marker line; remembers the code it carried.
pub struct MarkerFilter {
    marker: Vec<u8>,
    held: Vec<u8>,
    exit_code: Option<i32>,
    done: bool,
}

impl MarkerFilter {
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// The part of `bytes` (with what was held back) that is surely not the marker line.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.done {
            return Vec::new();
        }
        self.held.extend_from_slice(bytes);
        if let Some(at) = find(&self.held, &self.marker) {
            let after = &self.held[at + self.marker.len()..];
            if let Some(end) = after.iter().position(|b| *b == b'\n') {
                self.exit_code = parse_code(&after[..end]);
                self.done = true;
                let shown = self.held[..at].to_vec();
                self.held.clear();
                return shown;
            }
            // The line is not whole yet: show what comes before it.
            let shown = self.held[..at].to_vec();
            self.held.drain(..at);
            return shown;
        }
        // Hold back a tail that could be the marker's beginning.
        let keep = (1..self.marker.len())
            .rev()
            .find(|n| *n <= self.held.len() && self.held.ends_with(&self.marker[..*n]))
            .unwrap_or(0);
        let shown_len = self.held.len() - keep;
        self.held.drain(..shown_len).collect()
    }

    /// The session ended: what was held back, unless it is the marker line.
    pub fn finish(&mut self) -> Vec<u8> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        let held = std::mem::take(&mut self.held);
        if held.starts_with(&self.marker) {
            self.exit_code = parse_code(&held[self.marker.len()..]);
            return Vec::new();
        }
        held
    }
}

fn parse_code(text: &[u8]) -> Option<i32> {
    let text = String::from_utf8_lossy(text);
    text.trim_start_matches(':').trim().parse().ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrapped_command_is_one_word_for_sh() {
        let marker = ExitMarker {
            marker: "__shipit_exit_x".into(),
        };
        assert_eq!(
            marker.wrap("echo 'it''s' | wc -c; exit 3"),
            "/bin/sh -c '(\necho '\\''it'\\'''\\''s'\\'' | wc -c; exit 3\n)\nprintf '\\''%s:%d\\n'\\'' __shipit_exit_x \"$?\"'"
        );
    }

    #[test]
    fn the_marker_line_is_taken_out_across_chunk_boundaries() {
        let marker = ExitMarker {
            marker: "__shipit_exit_abc".into(),
        };
        let mut filter = marker.filter();
        let mut shown = Vec::new();
        for chunk in [
            &b"total 0\r\n__shi"[..],
            b"pit_exit_a",
            b"bc:3",
            b"\r\n",
            b"after",
        ] {
            shown.extend(filter.feed(chunk));
        }
        shown.extend(filter.finish());
        assert_eq!(shown, b"total 0\r\n");
        assert_eq!(filter.exit_code(), Some(3));

        // Text that only starts like the marker is shown in the end.
        let mut filter = marker.filter();
        let mut shown = filter.feed(b"a __shipit");
        shown.extend(filter.feed(b"_other\n"));
        shown.extend(filter.finish());
        assert_eq!(shown, b"a __shipit_other\n");
        assert_eq!(filter.exit_code(), None);

        // A marker line cut short by the end of the session still counts.
        let mut filter = marker.filter();
        assert!(filter.feed(b"__shipit_exit_abc:0").is_empty());
        assert!(filter.finish().is_empty());
        assert_eq!(filter.exit_code(), Some(0));
    }
}
