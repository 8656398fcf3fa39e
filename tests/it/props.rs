//! No input may panic the loader: random bytes, and random mutations of the examples.

use lifeboat::runbook::diag::FileReport;
use lifeboat::runbook::load::check_text;
use lifeboat::runbook::model::Catalog;
use proptest::prelude::*;

use crate::root;

fn examples() -> Vec<String> {
    let mut out: Vec<String> = lifeboat::runbook::load::yaml_files(&root().join("runbooks"))
        .unwrap()
        .into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    out.push(std::fs::read_to_string(root().join("tests/corpus/good.yaml")).unwrap());
    out
}

fn catalog() -> Catalog {
    let src = std::fs::read_to_string(root().join("runbooks/datasets.yaml")).unwrap();
    let mut cx = lifeboat::runbook::decode::Cx::default();
    match lifeboat::runbook::load::decode(&src, &mut cx) {
        Some(lifeboat::runbook::load::Doc::Catalog(raw)) => lifeboat::runbook::check::catalog(&raw, &mut cx).unwrap(),
        _ => panic!("runbooks/datasets.yaml is a catalog"),
    }
}

/// Loads, checks and renders: all three must survive anything.
fn exercise(src: &str, cat: &Catalog) {
    let diags = check_text(src, Some(cat));
    let report = FileReport { path: "fuzz.yaml".into(), source: Some(src.to_string()), diags };
    let _ = report.render();
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize, i8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let piece = prop_oneof![
        Just(":".to_string()),
        Just("- ".to_string()),
        Just("\t".to_string()),
        Just("${{ ".to_string()),
        Just("}}".to_string()),
        Just("[".to_string()),
        Just("{".to_string()),
        Just("\"".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("\n".to_string()),
        Just("é".to_string()),
        "[a-z_.]{1,8}",
        any::<String>(),
    ];
    prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), piece).prop_map(|(a, s)| Mutation::Insert(a, s)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), -4i8..4).prop_map(|(a, d)| Mutation::Indent(a, d)),
    ]
}

fn apply(src: &str, m: &Mutation) -> String {
    let boundary = |s: &str, i: usize| {
        let mut i = i % (s.len() + 1);
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::Delete(a, len) => {
            let a = boundary(src, *a);
            let b = boundary(src, a + len);
            format!("{}{}", &src[..a], &src[b.max(a)..])
        }
        Mutation::Insert(a, s) => {
            let a = boundary(src, *a);
            format!("{}{s}{}", &src[..a], &src[a..])
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            lines.swap(a % n, b % n);
            lines.join("\n")
        }
        Mutation::Indent(i, d) if !lines.is_empty() => {
            let l = &mut lines[i % n];
            if *d > 0 {
                l.insert_str(0, &" ".repeat(*d as usize));
            } else {
                let strip = l.len() - l.trim_start_matches(' ').len();
                l.drain(..strip.min(d.unsigned_abs() as usize));
            }
            lines.join("\n")
        }
        _ => src.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let cat = catalog();
        exercise(&String::from_utf8_lossy(&bytes), &cat);
    }

    #[test]
    fn mutated_examples_never_panic(which in any::<usize>(), muts in proptest::collection::vec(mutation(), 1..6)) {
        let examples = examples();
        let cat = catalog();
        let mut src = examples[which % examples.len()].clone();
        for m in &muts {
            src = apply(&src, m);
        }
        exercise(&src, &cat);
    }
}

#[test]
fn the_unmutated_examples_check_clean_in_memory() {
    let cat = catalog();
    for src in examples() {
        let errors: Vec<_> = check_text(&src, Some(&cat))
            .into_iter()
            .filter(|d| d.severity() == lifeboat::runbook::diag::Severity::Error && !src.contains("id: corpus-good"))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}
