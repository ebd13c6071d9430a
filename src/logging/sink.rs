//! Where log lines go: standard output, many lines in one `write` (docs/design.md, "Log
//! lines"). A request's line waits in one buffer: a thread of its own writes the buffer out
//! [`LATEST`] after the first line that found it empty, the request that fills it to
//! [`FLUSH_AT`] bytes writes it at once, and so does a warning or an error. So an info line is
//! late by at most [`LATEST`], a warning is never late, and under load one `write` carries
//! many tokens' lines instead of one each, as nginx's `access_log ... buffer= flush=` does.

use std::io::{self, Write};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// The bytes of lines the buffer holds before the line that fills it writes them, without
/// waiting for the writing thread: a few dozen request lines.
const FLUSH_AT: usize = 16 * 1024;

/// How long an info line may wait in the buffer.
const LATEST: Duration = Duration::from_millis(10);

/// Lines waiting for their `write`, in the order they were logged.
pub struct Lines<W> {
    pending: Mutex<Vec<u8>>,
    /// Told when a line finds the buffer empty: the writing thread's cue to wait [`LATEST`].
    started: Condvar,
    out: fn() -> W,
}

/// The process's lines, on standard output.
static STDOUT: Lines<io::Stdout> = Lines::new(io::stdout);

/// The writer the log layers take: every line into [`STDOUT`], whose writing thread it starts
/// the first time. Should that thread not start, every line goes out at once.
pub fn stdout() -> Stdout {
    static WRITING: OnceLock<bool> = OnceLock::new();
    let batched = *WRITING.get_or_init(|| {
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(|| STDOUT.write_late_lines())
            .is_ok()
    });
    Stdout { batched }
}

/// The log layers' writer of [`STDOUT`].
#[derive(Clone, Copy, Debug)]
pub struct Stdout {
    /// Whether the writing thread runs, so that info lines may wait for it.
    batched: bool,
}

impl<'a> MakeWriter<'a> for Stdout {
    type Writer = LineWriter<'static, io::Stdout>;

    fn make_writer(&'a self) -> Self::Writer {
        STDOUT.writer(None)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        STDOUT.writer(self.batched.then(|| meta.level()))
    }
}

impl<W: Write> Lines<W> {
    const fn new(out: fn() -> W) -> Self {
        Lines {
            pending: Mutex::new(Vec::new()),
            started: Condvar::new(),
            out,
        }
    }

    /// The writing thread's loop: sleeps while the buffer is empty; once a line waits, lets
    /// [`LATEST`] pass for more to come, then writes out what waits.
    fn write_late_lines(&self) -> ! {
        loop {
            drop(
                self.started
                    .wait_while(self.pending(), |pending| pending.is_empty())
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            std::thread::sleep(LATEST);
            self.flush();
        }
    }

    /// Writes out what waits. A failed write (a closed pipe) drops those lines: the log must
    /// never hold up a request nor grow without bound.
    fn flush(&self) {
        let mut pending = self.pending();
        if !pending.is_empty() {
            self.write_out(&mut pending);
        }
    }

    /// One event's writer: its line goes out at once for a warning, an error, or an event
    /// whose level is not known.
    fn writer(&self, level: Option<&Level>) -> LineWriter<'_, W> {
        LineWriter {
            lines: self,
            urgent: level.is_none_or(|l| matches!(*l, Level::WARN | Level::ERROR)),
        }
    }

    fn add(&self, line: &[u8], urgent: bool) {
        let mut pending = self.pending();
        let first = pending.is_empty();
        pending.extend_from_slice(line);
        if urgent || pending.len() >= FLUSH_AT {
            self.write_out(&mut pending);
        } else if first {
            self.started.notify_one();
        }
    }

    /// Written while the lock is held, so that lines keep their order.
    fn write_out(&self, pending: &mut Vec<u8>) {
        let _ = (self.out)().write_all(pending);
        pending.clear();
    }

    /// A thread that panicked while holding the lock left whole lines behind (a line is added
    /// in one call), so the buffer is used as it is.
    fn pending(&self) -> MutexGuard<'_, Vec<u8>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One event's writer: tracing-subscriber formats a line whole and writes it in one call.
pub struct LineWriter<'a, W> {
    lines: &'a Lines<W>,
    urgent: bool,
}

impl<W: Write> Write for LineWriter<'_, W> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.lines.add(line, self.urgent);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes out the lines waiting when dropped: the end of `serve`, whichever way it returns.
pub struct FlushOnDrop;

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        STDOUT.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    thread_local! {
        /// What the test's `Lines` wrote, one entry per `write`.
        static WRITES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    struct Recorder;

    impl Write for Recorder {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            WRITES.with(|w| w.borrow_mut().push(bytes.to_vec()));
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn writes() -> Vec<String> {
        WRITES.with(|w| {
            w.borrow()
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect()
        })
    }

    fn log(lines: &Lines<Recorder>, level: Level, line: &str) {
        lines
            .writer(Some(&level))
            .write_all(line.as_bytes())
            .unwrap();
    }

    #[test]
    fn info_lines_wait_for_the_flush_and_go_out_in_one_write_in_order() {
        let lines = Lines::new(|| Recorder);
        log(&lines, Level::INFO, "one\n");
        log(&lines, Level::INFO, "two\n");
        assert!(writes().is_empty());
        lines.flush();
        assert_eq!(writes(), ["one\ntwo\n"]);
        lines.flush();
        assert_eq!(writes().len(), 1, "nothing waits, nothing is written");
    }

    #[test]
    fn a_warning_goes_out_at_once_with_the_lines_before_it() {
        let lines = Lines::new(|| Recorder);
        log(&lines, Level::INFO, "request\n");
        log(&lines, Level::WARN, "warning\n");
        assert_eq!(writes(), ["request\nwarning\n"]);
        log(&lines, Level::ERROR, "error\n");
        assert_eq!(writes(), ["request\nwarning\n", "error\n"]);
    }

    #[test]
    fn a_full_buffer_is_written_without_waiting_for_the_flush() {
        let lines = Lines::new(|| Recorder);
        let line = format!("{}\n", "x".repeat(999));
        for _ in 0..FLUSH_AT / line.len() {
            log(&lines, Level::INFO, &line);
        }
        assert!(writes().is_empty());
        log(&lines, Level::INFO, &line);
        assert_eq!(writes().len(), 1);
        assert_eq!(writes()[0].len(), (FLUSH_AT / line.len() + 1) * line.len());
    }

    #[test]
    fn an_event_whose_level_is_unknown_is_written_at_once() {
        let lines = Lines::new(|| Recorder);
        lines.writer(None).write_all(b"line\n").unwrap();
        assert_eq!(writes(), ["line\n"]);
    }
}
