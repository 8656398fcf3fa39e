//! A roll-back's listing shared between cursors. S3 lists from one cursor in key order
//! only, about a million versions in five minutes, so a bucket of millions is listed in
//! its RTO only by many cursors, each over its own share of the key space. One cursor
//! lists the whole first, so a bucket of a few pages costs no request more than it
//! must; what is left when it proves long is shared: where keys say `/`, the prefixes
//! beside its last key are the shares. A flat level — hash names, or sequential names
//! like `000001.dat` — is cut by the keys' next character once one cursor has read a few
//! pages of it, and a share that proves long is cut again a character deeper, so
//! sequential names spread over the cursors a digit at a time.
//!
//! A share starts at an exact prefix or after a key that exists: a listing started after
//! a name that is no key is not to be trusted (moto then skips the next key). What lies
//! between the characters the keys use has no prefix to start at, so such a gap is
//! listed after the greatest key found before it, once the pieces before it are listed.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One cursor's share of the key space.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Range {
    /// S3's `prefix` of the listing.
    pub prefix: String,
    /// One level (delimiter `/`): the prefixes below are collected, not listed.
    pub by_level: bool,
    /// Where the listing starts: after this key, which exists.
    pub from: Option<String>,
    /// Entries before this belong to another cursor (`true`: this one included).
    pub lo: Option<(String, bool)>,
    /// Entries from this on belong to another cursor.
    pub hi: Option<String>,
    /// The cut this range is a share of.
    pub cut: Option<usize>,
    /// A gap between a cut's pieces, not a piece.
    pub gap: bool,
}

impl Range {
    pub fn all(prefix: &str) -> Range {
        Range { prefix: prefix.to_string(), ..Range::default() }
    }

    pub fn holds(&self, key: &str) -> bool {
        let above =
            self.lo.as_ref().is_none_or(|(lo, incl)| if *incl { key >= lo.as_str() } else { key > lo.as_str() });
        above && self.hi.as_deref().is_none_or(|hi| key < hi)
    }

    /// Past the range's end: the rest is another cursor's.
    pub fn beyond(&self, key: &str) -> bool {
        self.hi.as_deref().is_some_and(|h| key >= h)
    }
}

/// When a cursor hands back the rest of its share to be cut: after `after` pages (a
/// bucket smaller than that is listed in the fewest requests, never cut), a piece of a
/// cut already after [`AGAIN`] (its level is known to be long: sequential names need a
/// cut per digit before the cursors share them), and only while fewer shares wait than
/// there are cursors — a cut while every cursor has work to go to adds requests and
/// saves no time.
#[derive(Debug, Clone)]
pub struct Splitting {
    pub after: usize,
    pub lanes: usize,
    /// Shares queued and not yet listing, kept by whoever hands them out.
    pub waiting: Arc<AtomicUsize>,
}

/// Pages a piece of a cut reads before it may be cut again.
pub const AGAIN: usize = 2;

impl Splitting {
    pub fn new(after: usize, lanes: usize) -> Splitting {
        Splitting { after, lanes, waiting: Arc::new(AtomicUsize::new(0)) }
    }

    /// Pages of `range` read before it may be cut; its first pages give the alphabet.
    pub fn pages(&self, range: &Range) -> usize {
        if range.cut.is_some() { self.after.min(AGAIN) } else { self.after }
    }

    pub fn now(&self, range: &Range, pages: usize) -> bool {
        pages >= self.pages(range) && self.waiting.load(Ordering::Relaxed) < self.lanes
    }

    pub fn set_waiting(&self, n: usize) {
        self.waiting.store(n, Ordering::Relaxed);
    }
}

/// The character after `c` in S3's order (UTF-8 bytes, which is Unicode's order).
fn succ(c: char) -> Option<char> {
    (c as u32 + 1..=char::MAX as u32).find_map(char::from_u32)
}

/// The rest of `range` after the key `last` (which exists; everything up to it is
/// decided), cut by the next character after the range's prefix: the piece `last` is in,
/// listed after it; a piece for each character of `alphabet` (the characters the keys
/// listed so far use) that sorts after it, each an exact prefix; and the gaps between
/// those characters, whose `from` is chosen when they start ([`Cuts`]). Pieces and gaps
/// together hold every name after `last` that the range holds, each exactly once.
pub fn cut(range: &Range, last: &str, alphabet: &BTreeSet<char>) -> (Vec<Range>, Vec<Range>) {
    let level = range.prefix.as_str();
    let inside = |name: &str| range.hi.as_deref().is_none_or(|h| name < h);
    let piece = |prefix: String| Range { prefix, by_level: true, hi: range.hi.clone(), ..Range::default() };
    let gap = |lo: String, hi: Option<String>| Range {
        prefix: level.to_string(),
        by_level: true,
        lo: Some((lo, true)),
        hi,
        gap: true,
        ..Range::default()
    };
    let (mut pieces, mut gaps) = (Vec::new(), Vec::new());
    let next = last.strip_prefix(level).and_then(|s| s.chars().next());
    // The first name after every name the pieces so far hold.
    let mut start = match next {
        Some(c) => {
            pieces.push(Range {
                from: Some(last.to_string()),
                lo: Some((last.to_string(), false)),
                ..piece(format!("{level}{c}"))
            });
            succ(c).map(|s| format!("{level}{s}"))
        }
        None => Some(format!("{level}\0")),
    };
    for &c in alphabet.iter().filter(|c| next.is_none_or(|n| **c > n)) {
        let p = format!("{level}{c}");
        if !inside(&p) {
            break;
        }
        let Some(s) = start.take() else { break };
        if s < p {
            gaps.push(gap(s, Some(p.clone())));
        }
        pieces.push(piece(p));
        start = succ(c).map(|s| format!("{level}{s}"));
    }
    if let Some(s) = start.filter(|s| inside(s)) {
        gaps.push(gap(s, range.hi.clone()));
    }
    (pieces, gaps)
}

/// The rest of `range` after the key `last`, whether it was listed by level or whole.
/// A listing by level stops on a key of its own level: the rest is [`cut`]. A listing
/// whole (no delimiter: how a roll-back starts, so a bucket of under ten pages costs no
/// request more than one cursor's) may stop on a key some levels down, `a/b/k`. `next`,
/// the key after `last` (no key lies between them), tells which levels are left: below
/// the folder the two share, nothing is. The rest is that folder, cut as [`cut`] cuts a
/// level, and `beside` — at each level above it, everything that sorts after it, listed
/// by level after `last` (a key that exists), so the prefixes there are found and shared.
pub fn rest(
    range: &Range,
    (last, next): (&str, Option<&str>),
    alphabet: &BTreeSet<char>,
) -> (Vec<Range>, Vec<Range>, Vec<Range>) {
    if range.by_level {
        let (pieces, gaps) = cut(range, last, alphabet);
        return (pieces, gaps, Vec::new());
    }
    let top = range.prefix.as_str();
    let below = last.strip_prefix(top).unwrap_or_default();
    // How much of `below` the key after it begins with.
    let shared = match next.and_then(|n| n.strip_prefix(top)) {
        Some(n) => below
            .char_indices()
            .zip(n.chars())
            .find(|((_, a), b)| a != b)
            .map_or(below.len().min(n.len()), |((i, _), _)| i),
        None => below.len(),
    };
    let level = match below[..shared].rfind('/') {
        Some(i) => format!("{top}{}", &below[..=i]),
        None => top.to_string(),
    };
    let (pieces, gaps) = if range.cut.is_none() {
        // A first listing whole goes on over its folder from one cursor, a piece now: one
        // that stopped a key short of the folder's end would leave a cut's twenty
        // prefixes as many empty pages. If the folder goes on, it is cut in two pages.
        let on = Range {
            prefix: level.clone(),
            from: Some(last.to_string()),
            lo: Some((last.to_string(), false)),
            hi: range.hi.clone(),
            ..Range::default()
        };
        (vec![on], Vec::new())
    } else {
        // The characters of a level's names: a `/` there is a prefix below, listed by level.
        let alphabet: BTreeSet<char> = alphabet.iter().copied().filter(|c| *c != '/').collect();
        cut(&Range { prefix: level.clone(), by_level: true, hi: range.hi.clone(), ..Range::default() }, last, &alphabet)
    };
    let mut beside = Vec::new();
    let mut sub = level;
    while sub.len() > top.len() {
        let name = &sub[..sub.len() - 1];
        let parent = name.rfind('/').map(|i| &name[..=i]).filter(|p| p.len() >= top.len()).unwrap_or(top);
        beside.push(Range {
            prefix: parent.to_string(),
            by_level: true,
            from: Some(last.to_string()),
            // Every name under `sub` sorts before `sub` with its `/` made a `0`.
            lo: Some((format!("{name}0"), true)),
            hi: range.hi.clone(),
            ..Range::default()
        });
        sub = parent.to_string();
    }
    (pieces, gaps, beside)
}

/// A range that was cut: its pieces list first, then its gaps.
#[derive(Debug)]
struct Cut {
    /// The cut the range that was cut is a piece of.
    parent: Option<usize>,
    /// Pieces still listing, a piece cut again counted until its own pieces are.
    left: usize,
    /// To list once the pieces are done; `None` once started.
    gaps: Option<Vec<Range>>,
    /// Keys that exist, listed within this cut: where a gap may start.
    seen: BTreeSet<String>,
}

/// Every cut of one listing. A cut's gaps start when its pieces are listed, pieces cut
/// again included, each after the greatest key found before it. They do not wait for
/// the gaps of a cut below: those are rarely more than a page, and a gap that starts
/// before them reads past what they hold (it holds none of it) rather than waiting a
/// round of requests per level for them.
#[derive(Debug, Default)]
pub struct Cuts {
    cuts: Vec<Cut>,
}

impl Cuts {
    /// A key `range` listed: a gap of its cut, or of any cut above, may start after it.
    pub fn saw(&mut self, range: &Range, key: &str) {
        let mut at = range.cut;
        while let Some(i) = at {
            let c = &mut self.cuts[i];
            c.seen.insert(key.to_string());
            at = c.parent;
        }
    }

    /// `range` came back with the rest after `last` still to list, cut into `pieces` and
    /// `gaps`: the ranges to list now.
    pub fn open(&mut self, range: &Range, last: &str, pieces: Vec<Range>, gaps: Vec<Range>) -> Vec<Range> {
        let id = self.cuts.len();
        let parent = range.cut.filter(|_| !range.gap);
        self.cuts.push(Cut { parent, left: pieces.len(), gaps: Some(gaps), seen: BTreeSet::new() });
        self.saw(&Range { cut: Some(id), ..Range::default() }, last);
        let mut out: Vec<Range> = pieces.into_iter().map(|p| Range { cut: Some(id), ..p }).collect();
        if out.is_empty() {
            out = self.pieces_done(id);
        }
        out
    }

    /// `range` is listed to its end: the ranges that may list now.
    pub fn done(&mut self, range: &Range) -> Vec<Range> {
        match range.cut {
            Some(i) if !range.gap => {
                let c = &mut self.cuts[i];
                c.left = c.left.saturating_sub(1);
                if c.left == 0 { self.pieces_done(i) } else { Vec::new() }
            }
            _ => Vec::new(),
        }
    }

    /// Every piece of cut `i` is listed: its gaps start, and it counts as one piece
    /// listed of the cut above.
    fn pieces_done(&mut self, i: usize) -> Vec<Range> {
        let c = &mut self.cuts[i];
        let mut out: Vec<Range> = c
            .gaps
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|g| {
                let lo = g.lo.as_ref().map(|(l, _)| l.as_str()).unwrap_or_default();
                let from = c.seen.range::<str, _>((Bound::Unbounded, Bound::Excluded(lo))).next_back().cloned();
                Range { from, cut: Some(i), ..g }
            })
            .collect();
        if let Some(p) = c.parent {
            out.extend(self.done(&Range { cut: Some(p), ..Range::default() }));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abc(s: &str) -> BTreeSet<char> {
        s.chars().collect()
    }

    /// Every name of `names` after `last` that `range` holds is held by exactly one of
    /// the ranges a cut makes, with a piece by prefix and a gap by its bounds.
    fn owners(pieces: &[Range], gaps: &[Range], name: &str) -> usize {
        let by_piece = pieces.iter().filter(|p| name.starts_with(&p.prefix) && p.holds(name)).count();
        let by_gap = gaps.iter().filter(|g| name.starts_with(&g.prefix) && g.holds(name)).count();
        by_piece + by_gap
    }

    #[test]
    fn a_cut_holds_every_name_after_the_last_exactly_once() {
        let names = [
            "L",
            "L\0",
            "L\u{1}x",
            "L ",
            "L0",
            "L000",
            "L0001",
            "L0002",
            "L05",
            "L1",
            "L3",
            "L9",
            "L9zz",
            "L:",
            "La",
            "Lb",
            "Lf",
            "Lg",
            "L~",
            "L\u{7f}",
            "Lé",
            "L日本",
            "L\u{10ffff}",
            "L0001/x",
        ];
        let lasts = ["L", "L0001", "L05", "L9zz", "L~", "L\u{10ffff}"];
        for range in [
            Range::all("L"),
            Range { hi: Some("Lb".into()), ..Range::all("L") },
            Range { lo: Some(("L0".into(), true)), hi: Some("Lg".into()), ..Range::all("L") },
        ] {
            for alphabet in [abc(""), abc("0123456789"), abc("0123456789abcdef"), abc(" ~\u{7f}é"), abc("5")] {
                for last in lasts.iter().filter(|l| range.holds(l)) {
                    let (pieces, gaps) = cut(&range, last, &alphabet);
                    for name in names.iter().filter(|n| n.starts_with("L") && range.holds(n)) {
                        let want = (*name > *last) as usize;
                        assert_eq!(
                            owners(&pieces, &gaps, name),
                            want,
                            "{name:?} after {last:?}, alphabet {alphabet:?}, {range:?}: {pieces:?} {gaps:?}"
                        );
                    }
                    assert!(gaps.iter().all(|g| g.from.is_none() && g.lo.as_ref().is_some_and(|l| l.1)));
                    assert!(pieces.iter().skip(1).all(|p| p.from.is_none()), "a piece after the first is a prefix");
                }
            }
        }
    }

    /// A range listed whole stops on a key some levels down: its level's pieces and gaps
    /// and the ranges beside it hold every name after it exactly once, at any depth,
    /// whether the key after it is known or not.
    #[test]
    fn the_rest_of_a_whole_listing_holds_every_name_after_a_deep_key_exactly_once() {
        let names = [
            "d/",
            "d/a",
            "d/a/2026/11/0001",
            "d/a/2026/11/0002",
            "d/a/2026/11/0002/x",
            "d/a/2026/11/9",
            "d/a/2026/11~",
            "d/a/2026/110",
            "d/a/2026/12/0001",
            "d/a/2026/1",
            "d/a/2026.",
            "d/a/2026/",
            "d/a/20260",
            "d/a/2027/01/1",
            "d/a0",
            "d/a.",
            "d/a~",
            "d/b/1",
            "d/b",
            "d/é/1",
            "d/\u{10ffff}",
            "e",
        ];
        let lasts = ["d/a/2026/11/0001", "d/a/2026/11/0002/x", "d/a", "d/a/2026/12/0001", "d/\u{10ffff}"];
        for range in ["d/", "d", ""].into_iter().flat_map(|p| [Range::all(p), Range { cut: Some(0), ..Range::all(p) }])
        {
            let top = range.prefix.as_str();
            for alphabet in [abc(""), abc("0123456789/"), abc("/~")] {
                // The key after the last among these names, or not known.
                let after = |last: &str| names.iter().copied().filter(|n| *n > last).min();
                for (last, next) in lasts.iter().flat_map(|l| [(*l, None), (*l, after(l))]) {
                    let (pieces, gaps, beside) = rest(&range, (last, next), &alphabet);
                    let all: Vec<Range> = pieces.iter().chain(&beside).cloned().collect();
                    assert!(beside.iter().chain(&gaps).all(|r| r.by_level), "beside and gaps are listed by level");
                    assert_eq!(pieces.iter().all(|r| r.by_level), range.cut.is_some(), "a first listing goes on whole");
                    assert!(beside.iter().all(|r| r.from.as_deref() == Some(last)), "after a key that exists");
                    for name in names.iter().filter(|n| n.starts_with(top)) {
                        let want = (*name > last) as usize;
                        assert_eq!(
                            owners(&all, &gaps, name),
                            want,
                            "{name:?} after {last:?} (then {next:?}) under {top:?}, alphabet {alphabet:?}: {pieces:?} {gaps:?} {beside:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn sequential_names_are_cut_into_the_digits_after_the_last() {
        let (pieces, gaps) = cut(&Range::all("p/"), "p/000999.dat", &abc("0123456789.adt"));
        let names: Vec<&str> = pieces.iter().map(|p| p.prefix.as_str()).collect();
        assert_eq!(names, ["p/0", "p/1", "p/2", "p/3", "p/4", "p/5", "p/6", "p/7", "p/8", "p/9", "p/a", "p/d", "p/t"]);
        assert_eq!(pieces[0].from.as_deref(), Some("p/000999.dat"));
        let spans: Vec<(&str, Option<&str>)> =
            gaps.iter().map(|g| (g.lo.as_ref().unwrap().0.as_str(), g.hi.as_deref())).collect();
        assert_eq!(spans, [("p/:", Some("p/a")), ("p/b", Some("p/d")), ("p/e", Some("p/t")), ("p/u", None)]);
    }

    #[test]
    fn gaps_start_after_the_greatest_key_before_them_once_every_piece_under_the_cut_is_listed() {
        let mut cuts = Cuts::default();
        let root = Range::all("p/");
        let (pieces, gaps) = cut(&root, "p/0001", &abc("01"));
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        let listing = cuts.open(&root, "p/0001", pieces, gaps);
        assert_eq!(listing.len(), 2);
        let (zero, one) = (&listing[0], &listing[1]);
        cuts.saw(zero, "p/0005");
        // The `0` piece proves long and is cut again: the gap waits for its pieces too.
        let (sub, subgaps) = cut(zero, "p/0005", &abc("01"));
        let deeper = cuts.open(zero, "p/0005", sub, subgaps);
        assert!(cuts.done(one).is_empty(), "the gap waits for the piece cut again");
        let mut started = Vec::new();
        for r in &deeper {
            assert!(started.is_empty(), "not before the last piece: {started:?}");
            cuts.saw(r, &format!("{}9", r.prefix));
            started.extend(cuts.done(r));
        }
        // The deeper cut's gap (after `p/01`, within `p/0`) and the top cut's (after
        // `p/1`) start together, each after the greatest key found before it.
        let spans: Vec<_> = started.iter().map(|g| (g.lo.clone().unwrap().0, g.from.clone(), g.gap)).collect();
        assert_eq!(
            spans,
            [("p/02".into(), Some("p/019".into()), true), ("p/2".into(), Some("p/019".into()), true)],
            "{started:?}"
        );
        // A gap that proves long is cut too; its pieces start nothing of the cut above.
        let (pieces, gaps) = cut(&started[1], "p/25", &abc("2"));
        let more = cuts.open(&started[1], "p/25", pieces, gaps);
        assert!(more.iter().all(|r| !r.gap), "{more:?}");
        let after: Vec<Range> = more.iter().flat_map(|r| cuts.done(r)).collect();
        assert!(after.iter().all(|r| r.gap && r.from.as_deref() == Some("p/25")), "{after:?}");
        assert!(started.iter().chain(&after).all(|g| cuts.done(g).is_empty()));
    }
}
