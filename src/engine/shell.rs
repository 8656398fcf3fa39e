//! `run:` steps: a shell command under a gate that is its process group's leader and a
//! child subreaper (tree.rs), so a timeout, an abort or the command's end stops
//! everything it started, daemons that left the group included. Output is read as bytes (text that is not UTF-8
//! is shown with replacement characters, never stops the reading), a line is capped so
//! one huge line cannot flood the log, lines go out in batches (one synced log event a
//! chunk, not a line: a command that prints 500,000 lines must not take minutes), and
//! the step ends when `sh` does: whatever it left running is given a short grace to
//! finish its output, then killed, and said so.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration as StdDuration;

use serde_json::{Map, Value as Json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

use crate::clock::{self, Clock};
use crate::event::Stream;

pub struct ShellResult {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub timed_out: bool,
    /// `name=value` lines the command wrote to `$LIFEBOAT_OUTPUT`.
    pub outputs: Map<String, Json>,
    /// Processes the command started were still there after `sh` exited (and the grace
    /// period): what was killed and seen gone, and what was not.
    pub leftovers: super::tree::Killed,
}

/// Kills the gate's every descendant and its whole process group when dropped (abort,
/// timeout, or the engine stopping); `swept` once the step's end has done the first part.
struct Group {
    pgid: Option<i32>,
    swept: bool,
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            if !self.swept {
                super::tree::kill_descendants(pgid);
            }
            // SAFETY: killpg only sends a signal; a group that is gone returns ESRCH.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

const MAX_CAPTURE: usize = 1 << 20;

/// The longest line kept whole; the rest of a longer line is counted, not kept.
pub const MAX_LINE: usize = 64 * 1024;

/// Waits for lifeboat's word, then runs `$1` with no stdin (exit 125: never told to go).
/// The gate stays while its command runs and after: it reports the command's exit status
/// on fd 3, lets go of the output pipes, and waits (holding whatever the command left
/// behind, as its subreaper) until lifeboat has killed that and closes its stdin.
const GATE: &str = "IFS= read -r go || exit 125; sh -c \"$1\" </dev/null 3>&-; echo \"$?\" >&3; \
                    exec 3>&- >/dev/null 2>&1; IFS= read -r done; exit 0";

/// How long output may still arrive after `sh` exited (from what it left running).
const GRACE: StdDuration = StdDuration::from_secs(2);

/// A batch goes out when its first line is this old, or when it is this big: a person
/// watching sees output within a tenth of a second, and a flood costs one synced event
/// per 64 KiB.
const BATCH_AGE: StdDuration = StdDuration::from_millis(100);
pub const BATCH_BYTES: usize = 64 * 1024;

/// Lines of one stream waiting to go out together (joined by `\n`; a line itself never
/// holds one, so a reader splits them back exactly).
struct Batch {
    stream: Stream,
    text: String,
    since: Option<tokio::time::Instant>,
}

impl Batch {
    fn new() -> Self {
        Batch { stream: Stream::Stdout, text: String::new(), since: None }
    }

    /// The batch so far, if it holds anything; empty again after.
    fn take(&mut self) -> Option<(Stream, String)> {
        self.since.take()?;
        Some((self.stream, std::mem::take(&mut self.text)))
    }

    /// Adds a line; what must go out first (a batch of the other stream, or a full one)
    /// is returned.
    fn add(&mut self, stream: Stream, line: String, out: &mut Vec<(Stream, String)>) {
        if self.since.is_some() && self.stream != stream {
            out.extend(self.take());
        }
        if self.since.is_none() {
            self.stream = stream;
            self.since = Some(tokio::time::Instant::now());
        } else {
            self.text.push('\n');
        }
        self.text.push_str(&line);
        if self.text.len() >= BATCH_BYTES {
            out.extend(self.take());
        }
    }

    fn due(&self) -> tokio::time::Instant {
        self.since.map_or_else(|| tokio::time::Instant::now() + StdDuration::from_secs(3600), |s| s + BATCH_AGE)
    }
}

/// Lines of a stream as bytes, at most `MAX_LINE` kept of each. Cancel-safe: a partly
/// read line stays in `buf` when a `select!` drops the future.
struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    cut: usize,
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    fn new(r: R) -> Self {
        Lines { r, buf: Vec::new(), cut: 0 }
    }

    fn take(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.buf.len());
        let keep = bytes.len().min(room);
        self.buf.extend_from_slice(&bytes[..keep]);
        self.cut += bytes.len() - keep;
    }

    fn finish(&mut self) -> String {
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let mut line = String::from_utf8_lossy(&self.buf).into_owned();
        if self.cut > 0 {
            line.push_str(&format!(" … [{} more bytes of this line not kept]", self.cut));
        }
        self.buf.clear();
        self.cut = 0;
        line
    }

    /// The next line, or `None` at the end of the stream (or on a read error).
    async fn next(&mut self) -> Option<String> {
        loop {
            let chunk = match self.r.fill_buf().await {
                Ok(c) => c,
                Err(_) => return (!self.buf.is_empty() || self.cut > 0).then(|| self.finish()),
            };
            if chunk.is_empty() {
                return (!self.buf.is_empty() || self.cut > 0).then(|| self.finish());
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let line = chunk[..i].to_vec();
                    self.r.consume(i + 1);
                    self.take(&line);
                    return Some(self.finish());
                }
                None => {
                    let all = chunk.to_vec();
                    self.r.consume(all.len());
                    self.take(&all);
                }
            }
        }
    }
}

/// A pipe whose ends close on exec (the gate's end is duplicated onto fd 3 for it alone).
fn status_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors that nothing else owns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned here alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// This boot's id and a process's start time in clock ticks since boot: together they
/// tell a process apart from a later one that reuses its id.
pub fn identity(pid: u32) -> Option<(String, u64)> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?.trim().to_string();
    Some((boot, super::tree::start_ticks(pid as i32)?))
}

/// Stops a process group that an earlier, killed run left behind, if it is still the
/// same group (same boot, same leader start time). Returns whether one was stopped.
pub async fn stop_leftover(pgid: u32, boot_id: &str, start_ticks: u64) -> bool {
    if identity(pgid).is_none_or(|(b, s)| b != boot_id || s != start_ticks) {
        return false;
    }
    let pgid = pgid as i32;
    // What left the group is still under its leader (the gate, a subreaper) now, but not
    // once the leader is gone: taken down by name after the group, whatever it became.
    let under = super::tree::snapshot(pgid);
    // SAFETY: killpg only sends signals to the group we identified above.
    unsafe {
        libc::killpg(pgid, libc::SIGTERM);
    }
    for _ in 0..50 {
        // SAFETY: as above; signal 0 checks that the group still exists.
        if unsafe { libc::killpg(pgid, 0) } != 0 {
            super::tree::kill_listed(&under);
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    // SAFETY: as above.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
    super::tree::kill_listed(&under);
    true
}

pub async fn run(
    command: &str,
    workdir: &Path,
    env: &[(String, String)],
    clock: &dyn Clock,
    limit: Option<StdDuration>,
    on_start: &(dyn Fn(u32) -> bool + Send + Sync),
    on_output: &(dyn Fn(Stream, String) + Send + Sync),
) -> std::io::Result<ShellResult> {
    let out_file = tempfile::NamedTempFile::new()?;
    let (status_r, status_w) = status_pipe()?;
    let mut cmd = tokio::process::Command::new("sh");
    // The command is an argument of a gate, never spliced into its text: the gate waits
    // for one line on stdin, then becomes `sh -c COMMAND`. If lifeboat dies before the
    // log holds the group, stdin closes unread and the command never starts.
    cmd.arg("-c")
        .arg(GATE)
        .arg("lifeboat-gate")
        .arg(command)
        .current_dir(workdir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("LIFEBOAT_OUTPUT", out_file.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let fd = status_w.as_raw_fd();
    // SAFETY: between fork and exec only async-signal-safe calls: prctl, dup2, fcntl.
    unsafe {
        cmd.pre_exec(move || {
            super::tree::become_subreaper()?;
            if libc::dup2(fd, 3) < 0 || (fd == 3 && libc::fcntl(3, libc::F_SETFD, 0) < 0) {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(super::sink::is_signing_secret) {
            cmd.env_remove(var);
        }
    }
    let mut child = cmd.spawn()?;
    drop(status_w);
    let mut group = Group { pgid: child.id().map(|p| p as i32), swept: false };
    let recorded = child.id().is_some_and(on_start);
    let gate = child.stdin.take();
    if !recorded {
        drop(gate);
        drop(group);
        let _ = child.wait().await;
        return Err(std::io::Error::other(
            "the log could not record the command's start, so it was stopped before it ran",
        ));
    }
    // Kept open until the command's leftovers are gone: its end lets the gate go.
    let mut gate = gate;
    if let Some(go) = gate.as_mut() {
        use tokio::io::AsyncWriteExt;
        go.write_all(b"go\n").await?;
    }
    // The command's exit status, as the gate reports it (empty if the gate was killed).
    let mut exited = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut s = String::new();
        let _ = std::fs::File::from(status_r).read_to_string(&mut s);
        s.trim().parse::<i32>().ok()
    });
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(std::io::Error::other("the command's output pipes were not set up"));
    };
    // Outside the reading, so what a timeout cut short still goes out.
    let mut batch = Batch::new();
    let work = async {
        let mut captured = String::new();
        let mut out = Lines::new(BufReader::new(stdout));
        let mut err = Lines::new(BufReader::new(stderr));
        let (mut out_open, mut err_open) = (true, true);
        let mut status = None;
        let mut leftovers = false;
        let grace = tokio::time::sleep(StdDuration::MAX);
        tokio::pin!(grace);
        let mut ready = Vec::new();
        while out_open || err_open || status.is_none() {
            tokio::select! {
                line = out.next(), if out_open => match line {
                    Some(l) => {
                        if captured.len() < MAX_CAPTURE {
                            captured.push_str(&l);
                            captured.push('\n');
                        }
                        batch.add(Stream::Stdout, l, &mut ready);
                    }
                    None => out_open = false,
                },
                line = err.next(), if err_open => match line {
                    Some(l) => batch.add(Stream::Stderr, l, &mut ready),
                    None => err_open = false,
                },
                _ = tokio::time::sleep_until(batch.due()), if batch.since.is_some() => {
                    ready.extend(batch.take());
                }
                s = &mut exited, if status.is_none() => {
                    status = Some(s.ok().flatten());
                    // `sh` is done; what it left running may hold the pipes open.
                    grace.as_mut().reset(tokio::time::Instant::now() + GRACE);
                }
                _ = &mut grace, if status.is_some() => {
                    leftovers = true;
                    break;
                }
            }
            for (stream, text) in ready.drain(..) {
                on_output(stream, text);
            }
        }
        (captured, status.flatten(), leftovers)
    };
    let (stdout, status, timed_out, mut leftovers) = match limit {
        Some(limit) => match clock::timeout(clock, limit, work).await {
            Some((out, status, left)) => (out, status, false, left),
            None => (String::new(), None, true, false),
        },
        None => {
            let (out, status, left) = work.await;
            (out, status, false, left)
        }
    };
    if let Some((stream, text)) = batch.take() {
        on_output(stream, text);
    }
    // Whatever the command left running goes with it, wherever it went; then the gate.
    let killed = group.pgid.map(super::tree::kill_descendants).unwrap_or_default();
    group.swept = true;
    leftovers |= killed.killed > 0 || !killed.survivors.is_empty();
    drop(gate);
    let _ = clock::timeout(&crate::clock::SystemClock, GRACE, child.wait()).await;
    drop(group);
    let mut outputs = Map::new();
    for line in std::fs::read_to_string(out_file.path()).unwrap_or_default().lines() {
        if let Some((k, v)) = line.split_once('=') {
            outputs.insert(k.trim().to_string(), Json::String(v.to_string()));
        }
    }
    Ok(ShellResult {
        exit_code: status,
        stdout,
        timed_out,
        outputs,
        leftovers: if leftovers && !timed_out { killed } else { Default::default() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[tokio::test]
    async fn a_command_waits_until_its_start_is_on_record_and_never_starts_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let seen_before_record = std::sync::Mutex::new(None);
        let record = |_pid: u32| {
            // Long enough for a command that was not held back to have run.
            std::thread::sleep(StdDuration::from_millis(300));
            *seen_before_record.lock().unwrap() = Some(marker.exists());
            true
        };
        let r =
            run("touch ran; echo \"$0:$#\"", dir.path(), &[], &SystemClock, None, &record, &|_, _| {}).await.unwrap();
        assert_eq!(*seen_before_record.lock().unwrap(), Some(false), "the command ran before the log held it");
        assert!(marker.exists());
        assert_eq!((r.exit_code, r.stdout.as_str()), (Some(0), "sh:0\n"), "the gate leaves no trace in the command");

        std::fs::remove_file(&marker).unwrap();
        let refused = run("touch ran", dir.path(), &[], &SystemClock, None, &|_| false, &|_, _| {}).await;
        assert!(refused.is_err());
        std::thread::sleep(StdDuration::from_millis(200));
        assert!(!marker.exists(), "a start the log could not record must not run");
    }
}
