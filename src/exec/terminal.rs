//! The user's side of a session: the terminal in raw mode while an interactive session runs
//! (every key, Ctrl-C included, goes to the remote shell), its size, and the plain text a
//! session without a terminal prints (a CI log).

use std::os::fd::AsFd;

use rustix::termios::{OptionalActions, Termios, tcgetattr, tcgetwinsize, tcsetattr};

/// The size sent when there is no terminal to measure (the plugin's fallback is 300x100; a
/// CI log reads better narrower).
pub const DEFAULT_SIZE: (u16, u16) = (200, 50);

/// Raw mode on standard input until dropped, which restores the terminal as it was, however
/// the session ends.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub fn enter() -> std::io::Result<RawMode> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, &self.saved);
    }
}

/// Columns and rows of the terminal on standard output, if it is one and knows its size.
pub fn size() -> Option<(u16, u16)> {
    let size = tcgetwinsize(std::io::stdout().as_fd()).ok()?;
    (size.ws_col > 0 && size.ws_row > 0).then_some((size.ws_col, size.ws_row))
}

/// Output of a terminal session made plain text for a log: escape sequences (colours, cursor
/// moves, window titles) and other control characters removed, the terminal's `\r\n` made
/// `\n`; tabs and UTF-8 kept. Sequences cut across chunks are followed.
#[derive(Default)]
pub struct PlainText {
    state: Escape,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// ESC [ … up to a final byte.
    Csi,
    /// ESC ] … up to BEL or ESC \ (and the other string sequences: P, X, ^, _).
    Osc,
    OscEsc,
}

impl PlainText {
    pub fn filter(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            self.state = match (self.state, b) {
                (Escape::None, 0x1b) => Escape::Start,
                (Escape::None, b'\n' | b'\t') => {
                    out.push(b);
                    Escape::None
                }
                (Escape::None, b) if b < 0x20 || b == 0x7f => Escape::None,
                (Escape::None, b) => {
                    out.push(b);
                    Escape::None
                }
                (Escape::Start, b'[') => Escape::Csi,
                (Escape::Start, b']' | b'P' | b'X' | b'^' | b'_') => Escape::Osc,
                (Escape::Start, _) => Escape::None,
                (Escape::Csi, 0x40..=0x7e) => Escape::None,
                (Escape::Csi, _) => Escape::Csi,
                (Escape::Osc, 0x07) => Escape::None,
                (Escape::Osc, 0x1b) => Escape::OscEsc,
                (Escape::Osc, _) => Escape::Osc,
                (Escape::OscEsc, b'\\') => Escape::None,
                (Escape::OscEsc, _) => Escape::Osc,
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_stream_becomes_plain_text() {
        let mut plain = PlainText::default();
        let mut out = plain.filter(b"\x1b]0;owned title\x07\x1b[1;31mred\x1b");
        out.extend(plain.filter(b"[0m done\r\n\ttab \xc3\xa9\x08\n"));
        assert_eq!(out, "red done\n\ttab é\n".as_bytes());
    }
}
