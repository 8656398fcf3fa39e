//! Which lines of a signed log a signature vouched for when they were written. A line
//! is vouched for once a later checkpoint signs it; a line a resume adopted (unsigned
//! when written, taken on in the open) and a tail no checkpoint reached are not, however
//! well they chain: anyone with write access to the file could have appended them.
//! Readers that decide something (a verdict, a resumed clock, a drill that counts) take
//! only vouched lines; the rest is shown, never counted.
//!
//! This reads the log's structure only; whether each checkpoint's signature is genuine
//! is `verify`'s question, and every reader that decides asks it too.

use std::collections::VecDeque;

use crate::event::{Event, Record};

/// Records in order, each with whether a signature vouched for it. An unsigned log
/// (no signer in its genesis) has no signatures to wait for: every line passes as it is,
/// and its readers say the log is unsigned.
pub struct Vouched<I> {
    inner: I,
    signed: Option<bool>,
    held: VecDeque<Record>,
    adopted: Vec<(u64, u64)>,
    out: VecDeque<(Record, bool)>,
    done: bool,
}

impl<I: Iterator<Item = Record>> Vouched<I> {
    pub fn new(records: I) -> Self {
        Vouched {
            inner: records,
            signed: None,
            held: VecDeque::new(),
            adopted: vec![],
            out: VecDeque::new(),
            done: false,
        }
    }

    fn release(&mut self, vouched: bool) {
        while let Some(r) = self.held.pop_front() {
            let adopted = self.adopted.iter().any(|(from, to)| (*from..=*to).contains(&r.seq));
            self.out.push_back((r, vouched && !adopted));
        }
    }
}

impl<I: Iterator<Item = Record>> Iterator for Vouched<I> {
    type Item = (Record, bool);

    fn next(&mut self) -> Option<(Record, bool)> {
        loop {
            if let Some(x) = self.out.pop_front() {
                return Some(x);
            }
            if self.done {
                return None;
            }
            let Some(r) = self.inner.next() else {
                self.done = true;
                self.release(false);
                continue;
            };
            match (&r.event, self.signed) {
                // Who ran what is read from the genesis whatever follows; what it claims
                // to have achieved needs the lines after it to be signed.
                (Event::Genesis(g), None) => {
                    self.signed = Some(g.signer.is_some());
                    return Some((r, true));
                }
                (_, Some(false)) => return Some((r, true)),
                (Event::Checkpoint { .. }, _) => {
                    self.release(true);
                    self.out.push_back((r, true));
                }
                (Event::Resumed { adopted: Some(a), .. }, _) => {
                    self.adopted.push((a.from_seq, a.to_seq));
                    self.held.push_back(r);
                }
                _ => self.held.push_back(r),
            }
        }
    }
}

/// An event whose word would decide a verdict: a step's end, a milestone, the run's end,
/// a person's answer or tick. The journal signs each of them in the same write, so an
/// honest crash never leaves one unsigned.
pub fn decides(event: &Event) -> bool {
    matches!(
        event,
        Event::StepFinished { .. }
            | Event::Milestone { .. }
            | Event::RunFinished { .. }
            | Event::Answer { .. }
            | Event::Checklist { .. }
    )
}

/// Line ranges (1-based, like `head -n`) of the seqs given in order: `[(40, 41), (57, 57)]`.
pub fn ranges(seqs: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &s in seqs {
        match out.last_mut() {
            Some((_, to)) if *to + 1 == s + 1 => *to = s + 1,
            _ => out.push((s + 1, s + 1)),
        }
    }
    out
}

pub fn ranges_words(r: &[(u64, u64)]) -> String {
    r.iter().map(|(a, b)| if a == b { format!("{a}") } else { format!("{a}–{b}") }).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Adopted, Event, Record};

    fn rec(seq: u64, event: Event) -> Record {
        Record { seq, prev: String::new(), time: "2026-11-24T03:00:00.000Z".into(), event }
    }

    fn note(seq: u64) -> Record {
        rec(seq, Event::Note { by: "a".into(), text: format!("{seq}") })
    }

    fn genesis(signed: bool) -> Record {
        let Event::Genesis(mut g) = crate::journal::tests::genesis(None) else { unreachable!() };
        g.signer = signed.then(|| "ssh-ed25519 AAAA".into());
        rec(0, Event::Genesis(g))
    }

    fn cp(seq: u64) -> Record {
        rec(seq, Event::Checkpoint { signature: String::new(), wall: None })
    }

    #[test]
    fn only_lines_a_later_checkpoint_signs_are_vouched_for_and_adopted_ones_never() {
        let resumed = rec(
            5,
            Event::Resumed {
                by: "b".into(),
                interrupted: vec![],
                adopted: Some(Adopted { from_seq: 3, to_seq: 4, sha256: String::new() }),
            },
        );
        let log = vec![genesis(true), note(1), cp(2), note(3), note(4), resumed, cp(6), note(7)];
        let got: Vec<(u64, bool)> = Vouched::new(log.into_iter()).map(|(r, v)| (r.seq, v)).collect();
        assert_eq!(
            got,
            vec![(0, true), (1, true), (2, true), (3, false), (4, false), (5, true), (6, true), (7, false)]
        );
    }

    #[test]
    fn an_unsigned_log_passes_as_it_is() {
        let log = vec![genesis(false), note(1), note(2)];
        assert!(Vouched::new(log.into_iter()).all(|(_, v)| v));
    }

    #[test]
    fn ranges_are_lines_not_seqs() {
        assert_eq!(ranges(&[39, 40, 56]), vec![(40, 41), (57, 57)]);
        assert_eq!(ranges_words(&ranges(&[39, 40, 56])), "40–41, 57");
    }
}
