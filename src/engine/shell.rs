//! `run:` steps: a shell command in its own process group, so a timeout or an abort
//! stops it and everything it started.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration as StdDuration;

use serde_json::{Map, Value as Json};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::event::Stream;
use crate::clock::{self, Clock};

pub struct ShellResult {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub timed_out: bool,
    /// `name=value` lines the command wrote to `$LIFEBOAT_OUTPUT`.
    pub outputs: Map<String, Json>,
}

/// Kills the whole process group when dropped (abort, timeout, or the engine stopping).
struct Group(Option<i32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // SAFETY: killpg only sends a signal; a group that is gone returns ESRCH.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

const MAX_CAPTURE: usize = 1 << 20;

pub async fn run(
    command: &str,
    workdir: &Path,
    env: &[(String, String)],
    clock: &dyn Clock,
    limit: Option<StdDuration>,
    on_line: &(dyn Fn(Stream, String) + Send + Sync),
) -> std::io::Result<ShellResult> {
    let out_file = tempfile::NamedTempFile::new()?;
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(workdir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("LIFEBOAT_OUTPUT", out_file.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let group = Group(child.id().map(|p| p as i32));
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let work = async {
        let mut captured = String::new();
        let mut out_lines = BufReader::new(stdout).lines();
        let mut err_lines = BufReader::new(stderr).lines();
        let (mut out_open, mut err_open) = (true, true);
        while out_open || err_open {
            tokio::select! {
                line = out_lines.next_line(), if out_open => match line {
                    Ok(Some(l)) => {
                        if captured.len() < MAX_CAPTURE {
                            captured.push_str(&l);
                            captured.push('\n');
                        }
                        on_line(Stream::Stdout, l);
                    }
                    _ => out_open = false,
                },
                line = err_lines.next_line(), if err_open => match line {
                    Ok(Some(l)) => on_line(Stream::Stderr, l),
                    _ => err_open = false,
                },
            }
        }
        let status = child.wait().await;
        (captured, status)
    };
    let (stdout, status, timed_out) = match limit {
        Some(limit) => match clock::timeout(clock, limit, work).await {
            Some((out, status)) => (out, status.ok(), false),
            None => (String::new(), None, true),
        },
        None => {
            let (out, status) = work.await;
            (out, status.ok(), false)
        }
    };
    // Whatever the command left running in its group goes with it.
    drop(group);
    let mut outputs = Map::new();
    for line in std::fs::read_to_string(out_file.path()).unwrap_or_default().lines() {
        if let Some((k, v)) = line.split_once('=') {
            outputs.insert(k.trim().to_string(), Json::String(v.to_string()));
        }
    }
    Ok(ShellResult { exit_code: status.and_then(|s| s.code()), stdout, timed_out, outputs })
}
