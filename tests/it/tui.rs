//! The real binary in tmux: start a runbook from the home screen, fill the inputs, confirm,
//! skip with a reason, approve, type a confirmation, leave with `q`, resume, finish; then
//! `verify` and `report` show what was done and by whom.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::{root, text};

struct Tmux {
    name: String,
}

impl Tmux {
    fn start(cwd: &std::path::Path, cmd: &str) -> Tmux {
        let name = format!("lifeboat-{}", std::process::id());
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "120", "-y", "40", "-c"])
            .arg(cwd)
            .arg(format!("LIFEBOAT_OPERATOR=alice {cmd}; echo EXIT=$?; sleep 600"))
            .status()
            .expect("tmux is installed");
        assert!(ok.success());
        Tmux { name }
    }
    fn screen(&self) -> String {
        text(&Command::new("tmux").args(["capture-pane", "-p", "-t", &self.name]).output().unwrap().stdout)
    }
    /// Waits until the screen shows `what` (the UI redraws on events, not on a timer).
    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(Instant::now() < deadline, "waited for {what:?}; the screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            Command::new("tmux").args(["send-keys", "-t", &self.name, k]).status().unwrap();
            std::thread::sleep(Duration::from_millis(80));
        }
    }
    fn type_text(&self, s: &str) {
        Command::new("tmux").args(["send-keys", "-t", &self.name, "-l", "--", s]).status().unwrap();
        std::thread::sleep(Duration::from_millis(80));
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).status();
    }
}

#[test]
fn from_the_home_screen_through_a_rehearsal_with_a_break_in_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_lifeboat");
    let copy = Command::new("cp").arg("-r").arg(root().join("runbooks")).arg(dir.path()).status().unwrap();
    assert!(copy.success());
    let tmux = Tmux::start(dir.path(), bin);
    tmux.wait_for("runbooks in runbooks");
    tmux.keys(&["/"]);
    tmux.type_text("ransomware");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Assess, contain and declare");
    tmux.keys(&["Enter"]);
    // The form: a timestamp that does not parse is refused in place.
    tmux.wait_for("incident_at");
    for _ in 0..25 {
        tmux.keys(&["BSpace"]);
    }
    tmux.type_text("last night");
    tmux.keys(&["Enter"]);
    tmux.wait_for("✗");
    for _ in 0..10 {
        tmux.keys(&["BSpace"]);
    }
    let incident = lifeboat::runbook::time::format_timestamp(
        lifeboat::runbook::time::Timestamp::now().checked_sub(jiff::SignedDuration::from_mins(30)).unwrap(),
    );
    tmux.type_text(&incident);
    tmux.keys(&["Enter", "Enter", "Enter", "Right", "Right", "Enter"]);
    tmux.wait_for("in TABLETOP mode against the");
    tmux.keys(&["y"]);
    // Confirm the manual step (twice: its checklist is not ticked).
    tmux.wait_for("Confirm the attack and when it began · manual · waiting for you");
    tmux.keys(&["Enter"]);
    tmux.wait_for("not ticked");
    tmux.keys(&["Enter"]);
    // Skip the next with a reason.
    tmux.wait_for("Cut the attacker off before restoring · manual · waiting for you");
    tmux.keys(&["s"]);
    tmux.type_text("keys rotated by the security team");
    tmux.keys(&["Enter"]);
    // Approve as someone else, in the role the step needs.
    tmux.wait_for("Approve the roll-back · approval · waiting for you");
    tmux.keys(&["a"]);
    tmux.wait_for("This step needs a yes from the incident-commander");
    for _ in 0..5 {
        tmux.keys(&["BSpace"]);
    }
    tmux.type_text("carol");
    tmux.keys(&["Enter"]);
    // The roll-back changes a bucket: type its name.
    tmux.wait_for("type `orders-docs-prod` to confirm");
    tmux.keys(&["Enter"]);
    tmux.type_text("orders-docs-prod");
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("smoke waits for the rehearsed outcome");
    assert!(s.contains("✓ restore done") && s.contains("recovery point"), "{s}");
    // Leave in the middle: the log is kept and the run can be resumed.
    tmux.keys(&["q"]);
    let s = tmux.wait_for("EXIT=1");
    assert!(s.contains("the log is kept and can be resumed"), "{s}");
    let log = std::fs::read_dir(dir.path().join("incidents")).unwrap().next().unwrap().unwrap().path();
    drop(tmux);

    let tmux = Tmux::start(
        dir.path(),
        &format!("{bin} tabletop runbooks/orders-docs-ransomware.yaml --resume {}", log.display()),
    );
    tmux.wait_for("had started when the run stopped");
    tmux.keys(&["Enter"]);
    tmux.wait_for("smoke waits for the rehearsed outcome");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Review objects written after the attack");
    tmux.keys(&["Enter", "Enter"]);
    tmux.wait_for("Notify stakeholders · manual · waiting for you");
    tmux.keys(&["Enter", "Enter"]);
    tmux.wait_for("run succeeded");
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT=");

    let run =
        |args: &[&str]| Command::new(bin).args(args).current_dir(dir.path()).env("NO_COLOR", "1").output().unwrap();
    let out = run(&["verify", log.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&["report", log.to_str().unwrap()]);
    let report = text(&out.stdout);
    for want in ["alice", "carol", "keys rotated by the security team", "restore"] {
        assert!(report.contains(want), "{want} in the report:\n{report}");
    }
}
