//! `watch` follows a log read-only through the same chain `verify` uses: lines appear as
//! they are written, a torn last line waits for its newline, a changed line stops the
//! watch there and says so, and only the seal with its `LOG.sig` earns "signed by".

use std::io::Write;
use std::path::Path;

use lifeboat::journal::trust::AllowedSigners;
use lifeboat::watch::{FileTail, Follow, Source};

/// A finished, signed rehearsal: its bytes, its LOG.sig and the trust root naming its key.
fn finished(dir: &Path) -> (Vec<u8>, String, AllowedSigners) {
    let key = crate::journal::keygen(dir);
    let allowed = crate::journal::allowed_signers(dir, &key);
    let log = dir.join("done.jsonl");
    let out = crate::tabletop_example("customers-db-corruption", &log, &["--sign-key", key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", crate::text(&out.stderr));
    let sig = std::fs::read_to_string(lifeboat::journal::sig_path(&log)).unwrap();
    (std::fs::read(&log).unwrap(), sig, AllowedSigners::parse(&std::fs::read_to_string(allowed).unwrap()))
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|b| *b == b'\n').collect()
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[tokio::test]
async fn lines_are_shown_as_they_are_written_and_the_seal_names_the_signer() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, sig, allowed) = finished(dir.path());
    let all = lines(&bytes);
    let half = all.len() / 2;
    let path = dir.path().join("growing.jsonl");
    append(&path, &all[..half].concat());
    // Half of the next line: torn, as a crash or a slow write leaves it.
    let (torn_a, torn_b) = all[half].split_at(all[half].len() / 2);
    append(&path, torn_a);
    let mut follow = Follow::new(Source::File(FileTail::open(&path).unwrap()), Some(allowed));
    let first = follow.poll().await;
    assert_eq!(first.len(), half, "every complete line, not the torn one");
    assert!(matches!(first[0].event, lifeboat::event::Event::Genesis(_)));
    let s = follow.status();
    assert!(!s.alarming() && !s.sealed, "{s:?}");
    assert!(s.words().starts_with(&format!("{half} lines read, chain intact")), "{}", s.words());
    assert!(follow.poll().await.is_empty(), "nothing new was written");

    append(&path, torn_b);
    append(&path, &all[half + 1..].concat());
    let rest = follow.poll().await;
    assert_eq!(rest.len(), all.len() - half);
    assert_eq!(rest.last().unwrap().seq as usize, all.len() - 1);
    // Sealed, but LOG.sig is not there yet: no "signed by" before it is.
    let s = follow.status();
    assert!(s.sealed && s.verdict.is_none(), "{s:?}");
    assert!(s.words().contains("sealed; waiting for LOG.sig"), "{}", s.words());
    std::fs::write(lifeboat::journal::sig_path(&path), &sig).unwrap();
    assert!(follow.poll().await.is_empty());
    let s = follow.status();
    assert_eq!(s.words(), "sealed and intact, signed by ops@example");
    assert!(!s.alarming());
}

#[tokio::test]
async fn a_changed_line_stops_the_watch_there_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, allowed) = finished(dir.path());
    let all = lines(&bytes);
    let bad = 5;
    let mut forged: Vec<u8> = Vec::new();
    for (i, l) in all.iter().enumerate() {
        if i == bad {
            // The same line with one field changed: still JSON, still a lifeboat event.
            let text = String::from_utf8(l.to_vec()).unwrap();
            let changed = text.replacen("\"time\":\"2", "\"time\":\"1", 1);
            assert_ne!(changed, text, "line {bad} has a time to change");
            forged.extend_from_slice(changed.as_bytes());
        } else {
            forged.extend_from_slice(l);
        }
    }
    let path = dir.path().join("forged.jsonl");
    std::fs::write(&path, &forged).unwrap();
    let mut follow = Follow::new(Source::File(FileTail::open(&path).unwrap()), Some(allowed));
    let shown = follow.poll().await;
    assert_eq!(shown.len(), bad, "the lines before the changed one, and none after");
    let s = follow.status();
    assert!(s.alarming());
    let words = s.words();
    assert!(words.starts_with(&format!("LOG DOES NOT VERIFY at line {}", bad + 1)), "{words}");
    assert!(words.ends_with("nothing after it is shown"), "{words}");
    // Whatever is written later, nothing more is shown.
    append(&path, all[all.len() - 1]);
    assert!(follow.poll().await.is_empty());
}

#[tokio::test]
async fn a_log_cut_or_replaced_under_the_watcher_ends_the_watch_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, allowed) = finished(dir.path());
    let all = lines(&bytes);
    let path = dir.path().join("cut.jsonl");
    std::fs::write(&path, all[..6].concat()).unwrap();
    let mut follow = Follow::new(Source::File(FileTail::open(&path).unwrap()), Some(allowed.clone()));
    assert_eq!(follow.poll().await.len(), 6);
    // Cut in place to four lines: what was read is gone from the file.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(all[..4].concat().len() as u64).unwrap();
    assert!(follow.poll().await.is_empty());
    let s = follow.status();
    assert!(s.alarming() && s.words().contains("the log got shorter"), "{}", s.words());

    let mut follow = Follow::new(Source::File(FileTail::open(&path).unwrap()), Some(allowed));
    assert_eq!(follow.poll().await.len(), 4);
    // Another file put in its place (a rename over it).
    let other = dir.path().join("other.jsonl");
    std::fs::write(&other, &bytes).unwrap();
    std::fs::rename(&other, &path).unwrap();
    assert!(follow.poll().await.is_empty());
    assert!(follow.status().words().contains("the log was replaced"), "{}", follow.status().words());
}

/// A line longer than any lifeboat writes is an attack on the reader's memory: `verify`
/// and `watch` stop at it and say so, holding no more than the limit.
#[tokio::test]
async fn a_line_longer_than_any_lifeboat_writes_is_refused_not_held() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, allowed) = finished(dir.path());
    let head = lines(&bytes)[..3].concat();
    let huge = lifeboat::journal::MAX_LINE as u64 + 10;
    let reader = std::io::Cursor::new(head.clone()).chain(std::io::repeat(b'x').take(huge)).chain(&b"\n"[..]);
    let r = lifeboat::journal::verify::verify_reader(std::io::BufReader::new(reader), None, None).unwrap();
    let bad = r.tampered.expect("a 64 MiB line is refused");
    assert_eq!((bad.line, bad.why.as_str()), (4, "longer than 64 MiB: lifeboat never writes such a line"));

    let path = dir.path().join("huge.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&head).unwrap();
    std::io::copy(&mut std::io::repeat(b'x').take(huge), &mut f).unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    let mut follow = Follow::new(Source::File(FileTail::open(&path).unwrap()), Some(allowed));
    let mut shown = 0;
    for _ in 0..64 {
        shown += follow.poll().await.len();
        if follow.status().broken.is_some() {
            break;
        }
    }
    assert_eq!(shown, 3);
    let words = follow.status().words();
    assert!(words.starts_with("LOG DOES NOT VERIFY at line 4: longer than 64 MiB"), "{words}");
}
