//! Push progress for people: a bar per blob on a terminal, plain lines elsewhere (CI logs),
//! nothing with -q.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::printer::Printer;
use shipit_oci::image::Digest;
use shipit_oci::registry::RegistryError;
use shipit_oci::registry::push::{BlobOutcome, Progress};

/// How long work is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Silent,
}

impl Mode {
    /// Bars only on an interactive terminal outside CI.
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Silent
        } else if std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none()
            && std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true")
        {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A size in the unit that reads best: `512 B`, `100.0 KiB`, `42.1 MiB`, `1.25 GiB`.
pub fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        mib(bytes)
    } else {
        format!("{:.2} GiB", b / (KIB * KIB * KIB))
    }
}

/// Plain lines: one when each blob ends, and a running total at most every 5 seconds.
struct Lines {
    total: u64,
    blobs: usize,
    state: Mutex<LineState>,
}

struct LineState {
    sent: HashMap<Digest, u64>,
    finished: usize,
    last_total_line: Instant,
}

pub struct PushProgress {
    mode: Mode,
    /// Writes the plain lines (the bars draw themselves on the terminal).
    printer: Printer,
    bars: Option<(MultiProgress, Mutex<HashMap<Digest, ProgressBar>>)>,
    lines: Lines,
}

impl PushProgress {
    pub fn new(printer: &Printer, mode: Mode, total_bytes: u64, blobs: usize) -> PushProgress {
        let bars = (mode == Mode::Bars).then(|| {
            (
                MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                Mutex::new(HashMap::new()),
            )
        });
        PushProgress {
            mode,
            printer: printer.clone(),
            bars,
            lines: Lines {
                total: total_bytes,
                blobs,
                state: Mutex::new(LineState {
                    sent: HashMap::new(),
                    finished: 0,
                    last_total_line: Instant::now(),
                }),
            },
        }
    }

    fn line(&self, text: &str) {
        if self.mode == Mode::Lines {
            self.printer.progress_line(text);
        }
    }
}

impl Progress for PushProgress {
    fn blob_started(&self, digest: &Digest, size: u64) {
        if let Some((multi, bars)) = &self.bars {
            let bar = multi.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(digest.short().to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bars.lock()
                .expect("not poisoned")
                .insert(digest.clone(), bar);
        }
    }

    fn blob_sent(&self, digest: &Digest, sent: u64) {
        if let Some((_, bars)) = &self.bars {
            if let Some(bar) = bars.lock().expect("not poisoned").get(digest) {
                bar.set_position(sent);
            }
            return;
        }
        if self.mode != Mode::Lines {
            return;
        }
        let mut state = self.lines.state.lock().expect("not poisoned");
        state.sent.insert(digest.clone(), sent);
        if state.last_total_line.elapsed() >= Duration::from_secs(5) {
            state.last_total_line = Instant::now();
            let total: u64 = state.sent.values().sum();
            self.printer.progress_line(&format!(
                "  sent {} of {} ({}/{} blobs done)",
                mib(total),
                mib(self.lines.total),
                state.finished,
                self.lines.blobs
            ));
        }
    }

    fn blob_retrying(&self, digest: &Digest, attempt: u32, error: &RegistryError) {
        if let Some((multi, _)) = &self.bars {
            let _ = multi.println(format!("  {} retry {attempt}: {error}", digest.short()));
        }
        self.line(&format!("  {} retry {attempt}: {error}", digest.short()));
    }

    fn blob_finished(&self, digest: &Digest, outcome: BlobOutcome) {
        let word = match outcome {
            BlobOutcome::Exists => "already in the registry",
            BlobOutcome::Mounted => "mounted from another repository",
            BlobOutcome::Uploaded => "uploaded",
            BlobOutcome::UploadedWhileCompressed => "uploaded while compressed",
        };
        if let Some((_, bars)) = &self.bars {
            if let Some(bar) = bars.lock().expect("not poisoned").get(digest) {
                bar.finish_with_message(word);
            }
            return;
        }
        let finished = {
            let mut state = self.lines.state.lock().expect("not poisoned");
            state.finished += 1;
            state.finished
        };
        self.line(&format!(
            "  {} {word} ({finished}/{})",
            digest.short(),
            self.lines.blobs
        ));
    }
}
