//! The run's inbox: `LOG.inbox/` beside the log takes signed words from other people
//! while the run goes on (`lifeboat approve LOG …`). The run reads it at a person's pace
//! and hands each message to the engine as it is, which checks it against the trust root
//! and the roles file before anything counts and copies it whole into the log. What lay
//! there before the run (re)started is not taken: it answered an earlier question.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::engine::Command;
use crate::journal::approval::{self, Document};

/// How often the inbox is looked at: a person is waiting, not a machine.
const EVERY: Duration = Duration::from_millis(200);

/// `LOG.inbox/`.
pub fn path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".inbox");
    PathBuf::from(name)
}

fn documents(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut docs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    docs.sort();
    docs
}

/// Reads the inbox until the run stops taking commands. It holds the engine's channel
/// weakly: the inbox never keeps a run alive that everyone else has left.
pub fn watch(log: PathBuf, commands: &UnboundedSender<Command>) -> tokio::task::JoinHandle<()> {
    let commands = commands.downgrade();
    tokio::spawn(async move {
        let dir = path(&log);
        let mut taken: HashSet<PathBuf> = documents(&dir).into_iter().collect();
        loop {
            for doc in documents(&dir) {
                if taken.contains(&doc) {
                    continue;
                }
                // The signature is linked before the document, each whole: a document
                // that is there has its signature beside it.
                let Ok((document, signature)) = approval::read(&doc) else { continue };
                taken.insert(doc);
                let step = serde_json::from_str::<Document>(document.trim_end())
                    .map(|d| d.step().to_string())
                    .unwrap_or_default();
                let sent = commands.upgrade().map(|tx| tx.send(Command::Signed { step, document, signature }));
                if !matches!(sent, Some(Ok(()))) {
                    return;
                }
            }
            if commands.upgrade().is_none_or(|tx| tx.is_closed()) {
                return;
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}
