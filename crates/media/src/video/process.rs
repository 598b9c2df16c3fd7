//! A child process (ffmpeg or ffprobe) under a wall-clock limit, with its stderr kept.
//!
//! Why a separate process at all: a decoder that crashes, loops or allocates wildly on a
//! hostile file then takes down only itself, and a watchdog can always kill it. The pieces:
//!
//! * stdout is handed to the caller, who reads it as a stream (frames are read one at a
//!   time, so memory stays bounded whatever the video's length);
//! * stderr is drained on its own thread into a bounded buffer (the last
//!   [`STDERR_KEEP`] bytes), because a child blocked on a full stderr pipe would stall and
//!   because the tail of stderr is what explains a failure;
//! * a watchdog thread kills the child when the deadline passes; the reader then sees end of
//!   file and the caller learns from [`Supervised::timed_out`] why.
//!
//! Dropping a [`Supervised`] kills and reaps the child if it is still running, so an early
//! return (a limit hit after a few frames) never leaves a decoder behind.

use std::io::Read;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes of stderr kept (the end of it, where ffmpeg reports why it stopped).
pub(crate) const STDERR_KEEP: usize = 16 * 1024;

/// A running child with a deadline.
pub(crate) struct Supervised {
    child: Arc<Mutex<Child>>,
    stdout: Option<ChildStdout>,
    /// Set to true (and notified) when the caller is done, to release the watchdog early.
    finished: Arc<(Mutex<bool>, Condvar)>,
    timed_out: Arc<AtomicBool>,
    watchdog: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    reaped: bool,
}

/// How the child ended.
pub(crate) struct Ended {
    pub status: ExitStatus,
    /// The kept tail of stderr, lossily decoded.
    pub stderr: String,
    /// The watchdog killed it.
    pub timed_out: bool,
}

impl Supervised {
    /// Spawns `command` with stdin closed, stdout piped to the caller and stderr drained,
    /// and arms the watchdog for `limit`.
    pub(crate) fn spawn(mut command: Command, limit: Duration) -> std::io::Result<Self> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let stdout = child.stdout.take();
        let stderr_pipe = child.stderr.take();
        let stderr = stderr_pipe.map(|mut pipe| {
            std::thread::spawn(move || {
                let mut kept: Vec<u8> = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            kept.extend_from_slice(&chunk[..n]);
                            if kept.len() > 2 * STDERR_KEEP {
                                kept.drain(..kept.len() - STDERR_KEEP);
                            }
                        }
                    }
                }
                if kept.len() > STDERR_KEEP {
                    kept.drain(..kept.len() - STDERR_KEEP);
                }
                kept
            })
        });
        let child = Arc::new(Mutex::new(child));
        let finished = Arc::new((Mutex::new(false), Condvar::new()));
        let timed_out = Arc::new(AtomicBool::new(false));
        let watchdog = {
            let (child, finished, timed_out) = (
                Arc::clone(&child),
                Arc::clone(&finished),
                Arc::clone(&timed_out),
            );
            std::thread::spawn(move || {
                let deadline = Instant::now() + limit;
                let (lock, signal) = &*finished;
                let mut done = lock.lock().unwrap_or_else(|poison| poison.into_inner());
                while !*done {
                    let now = Instant::now();
                    if now >= deadline {
                        timed_out.store(true, Ordering::SeqCst);
                        let mut child = child.lock().unwrap_or_else(|p| p.into_inner());
                        let _ = child.kill();
                        return;
                    }
                    done = signal
                        .wait_timeout(done, deadline - now)
                        .map(|(guard, _)| guard)
                        .unwrap_or_else(|poison| poison.into_inner().0);
                }
            })
        };
        Ok(Supervised {
            child,
            stdout,
            finished,
            timed_out,
            watchdog: Some(watchdog),
            stderr,
            reaped: false,
        })
    }

    /// The child's stdout (once).
    pub(crate) fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.stdout.take()
    }

    /// Whether the watchdog has killed the child.
    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::SeqCst)
    }

    /// Kills the child now (used when a limit is hit while reading).
    pub(crate) fn kill(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
    }

    /// Waits for the child to exit (after its stdout was read to the end or dropped),
    /// disarms the watchdog and returns the status with the stderr tail.
    pub(crate) fn wait(mut self) -> std::io::Result<Ended> {
        // Close our end of stdout first: a child still writing then gets EPIPE and exits.
        self.stdout = None;
        let status = self.reap()?;
        let stderr = self
            .stderr
            .take()
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default();
        Ok(Ended {
            status,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            timed_out: self.timed_out(),
        })
    }

    fn reap(&mut self) -> std::io::Result<ExitStatus> {
        // `wait` needs the child lock while the watchdog may want it to kill: wait by polling
        // `try_wait`, releasing the lock in between, so the deadline still applies here.
        let status = loop {
            let polled = {
                let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
                child.try_wait()?
            };
            if let Some(status) = polled {
                break status;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        self.reaped = true;
        self.disarm();
        Ok(status)
    }

    fn disarm(&mut self) {
        let (lock, signal) = &*self.finished;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        signal.notify_all();
        if let Some(handle) = self.watchdog.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if !self.reaped {
            self.stdout = None;
            self.kill();
            let _ = self.reap();
        }
        self.disarm();
        if let Some(handle) = self.stderr.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_past_its_deadline_is_killed() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo started >&2; exec sleep 30"]);
        let started = Instant::now();
        let mut child = Supervised::spawn(command, Duration::from_millis(300)).unwrap();
        let mut out = Vec::new();
        child.take_stdout().unwrap().read_to_end(&mut out).unwrap();
        let ended = child.wait().unwrap();
        assert!(ended.timed_out);
        assert!(!ended.status.success());
        assert!(ended.stderr.contains("started"));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_quick_child_keeps_its_status_and_stderr_tail() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "i=0; while [ $i -lt 3000 ]; do echo line $i >&2; i=$((i+1)); done; echo out; exit 3",
        ]);
        let mut child = Supervised::spawn(command, Duration::from_secs(60)).unwrap();
        let mut out = String::new();
        child
            .take_stdout()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let ended = child.wait().unwrap();
        assert_eq!(out, "out\n");
        assert_eq!(ended.status.code(), Some(3));
        assert!(!ended.timed_out);
        assert!(ended.stderr.len() <= STDERR_KEEP);
        assert!(ended.stderr.trim_end().ends_with("line 2999"));
    }

    #[test]
    fn dropping_kills_a_running_child() {
        let mut command = Command::new("sh");
        command.args(["-c", "exec sleep 30"]);
        let started = Instant::now();
        drop(Supervised::spawn(command, Duration::from_secs(60)).unwrap());
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
