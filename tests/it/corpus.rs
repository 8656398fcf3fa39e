//! A corpus of broken files, each one mistake a person really makes. For each, the exit
//! code, the line and column, and the message are pinned here; the whole rendering is
//! pinned by a snapshot beside it.

use crate::{lifeboat, root, text};

struct Case {
    file: &'static str,
    exit: i32,
    /// `line:column` of the first diagnostic.
    at: &'static str,
    message: &'static str,
}

const fn case(file: &'static str, exit: i32, at: &'static str, message: &'static str) -> Case {
    Case { file, exit, at, message }
}

const CASES: &[Case] = &[
    // Runbooks, checked against tests/corpus/datasets.yaml.
    case("r-typo-key.yaml", 1, "12:5", "error: unknown field `budjet` in a phase"),
    case("r-tab-indent.yaml", 1, "15:1", "error: invalid YAML: while scanning a plain scalar, found a tab"),
    case("r-duplicate-step-id.yaml", 1, "17:13", "error: duplicate step id `confirm`"),
    case("r-duplicate-phase-id.yaml", 1, "20:9", "error: duplicate phase id `assess`"),
    case("r-missing-dataset.yaml", 1, "5:10", "error: unknown dataset `shop-documents`"),
    case("r-unknown-dataset-far.yaml", 1, "5:10", "error: unknown dataset `payroll`"),
    case(
        "r-cycle.yaml",
        1,
        "16:16",
        "error: steps depend on each other in a cycle: `confirm` needs `go` needs `confirm`",
    ),
    case("r-unknown-action.yaml", 1, "26:17", "did you mean `s3.restore_to_time`?"),
    case("r-wrong-arg-type.yaml", 1, "27:85", "error: expected `true` or `false`, found `maybe`"),
    case("r-yes-bool.yaml", 1, "27:85", "YAML 1.2 booleans are exactly `true` and `false`"),
    case("r-list-for-string.yaml", 1, "27:25", "error: expected a string, found a list"),
    case(
        "r-budget-over-rto.yaml",
        1,
        "22:13",
        "error: this plan cannot meet its RTO: budgets add up to 2h10m, RTO is 2h",
    ),
    case("r-bad-duration.yaml", 1, "12:13", "help: write `15m`"),
    case("r-duration-no-unit.yaml", 1, "22:13", "help: `30` has no unit"),
    case("r-dangling-output.yaml", 1, "16:32", "error: `steps.x.outputs.y` cannot be resolved: no step `x`"),
    case("r-output-of-later-step.yaml", 1, "16:31", "step `restore` is not done before this point"),
    case("r-unknown-output.yaml", 1, "31:27", "help: did you mean `newer_kept`?"),
    case("r-yaml-syntax.yaml", 1, "4:8", "error: invalid YAML: invalid indentation in quoted scalar"),
    case("r-unclosed-bracket.yaml", 1, "20:7", "error: invalid YAML: invalid indentation"),
    case("r-unknown-arg.yaml", 1, "27:17", "error: unknown argument `bukcet` for action `s3.restore_to_time`"),
    case("r-missing-arg.yaml", 1, "27:15", "error: missing argument `time` for action `s3.restore_to_time`"),
    case("r-two-kinds.yaml", 1, "17:14", "error: step `confirm` has more than one kind: `manual`, `run`"),
    case("r-no-kind.yaml", 1, "14:9", "error: step `confirm` has no kind"),
    case("r-needs-unknown.yaml", 1, "19:17", "error: `needs` names unknown step `confrim`"),
    case("r-needs-other-phase.yaml", 1, "26:17", "error: `needs` names step `go` of another phase (`assess`)"),
    case(
        "r-unknown-input.yaml",
        1,
        "27:52",
        "error: `inputs.incident_time` cannot be resolved: no input `incident_time`",
    ),
    case("r-bad-timestamp.yaml", 1, "27:47", "error: invalid timestamp `2026-11-24 03:00`"),
    case("r-bad-default-timestamp.yaml", 1, "8:44", "error: invalid timestamp `yesterday`"),
    case("r-looser-rto.yaml", 1, "7:20", "error: the runbook's RTO of 5h is looser than the dataset's RTO of 2h"),
    case("r-bad-id.yaml", 1, "3:5", "help: write `corpus-good`"),
    case("r-bad-scenario.yaml", 1, "6:11", "did you mean `ransomware`?"),
    case("r-bad-on-failure.yaml", 1, "27:21", "error: unknown on_failure `retry`"),
    case("r-duplicate-key.yaml", 1, "16:9", "error: duplicate key `title`"),
    case("r-missing-kind.yaml", 1, "1:1", "error: missing field `kind` in a lifeboat file"),
    case("r-bad-api-version.yaml", 1, "1:13", "error: unsupported apiVersion `lifeboat/v2`"),
    case("r-unknown-kind.yaml", 1, "2:7", "did you mean `Runbook`?"),
    case("r-bad-expression.yaml", 1, "17:15", "error: invalid expression: unexpected character `=`"),
    case("r-unclosed-template.yaml", 1, "27:48", "error: invalid expression: `${{` is not closed with `}}`"),
    case("r-secret-default.yaml", 1, "9:53", "error: secret input `api_token` has a default"),
    case("r-expect-on-manual.yaml", 1, "17:17", "error: `expect` does not apply to manual steps"),
    case("r-retries-on-approval.yaml", 1, "20:18", "error: `retries` does not apply to approval steps"),
    case("r-missing-title.yaml", 1, "17:9", "error: missing field `title` in a step"),
    case("r-phases-not-list.yaml", 1, "8:3", "error: expected a list, found a mapping"),
    case("r-second-document.yaml", 1, "7:1", "error: a second YAML document starts here"),
    case("r-merge-key.yaml", 1, "26:9", "YAML merge keys (`<<`) are not supported"),
    case("r-wait-bad-until.yaml", 1, "26:86", "the polled action has no output `state`"),
    case("r-duplicate-milestone.yaml", 1, "29:20", "error: more than one step is the `service-restored` milestone"),
    case("r-bad-choice-default.yaml", 1, "9:38", "error: unknown choice `replcia`"),
    case("r-input-name-hyphen.yaml", 1, "9:3", "help: write `target_bucket`"),
    case(
        "r-unapproved-delete.yaml",
        1,
        "17:90",
        "error: step `restore` deletes newer objects with no approval before it",
    ),
    case("r-gate-unknown-output.yaml", 1, "28:30", "error: step `restore` has no output `restord` for a gate to check"),
    case("r-exit-code-on-action.yaml", 1, "28:30", "error: `expect.exit_code` does not apply to action steps"),
    case("r-bad-assert.yaml", 1, "28:18", "error: invalid expression: unexpected `>`"),
    case(
        "r-no-four-eyes.yaml",
        0,
        "19:19",
        "warning: regulated data: step `restore` changes data behind an approval without `four_eyes`",
    ),
    // A warning alone does not fail validate.
    case(
        "r-regulated-skip.yaml",
        0,
        "27:15",
        "warning: regulated data: step `restore` restores data but can be skipped",
    ),
    case(
        "r-drill-without-teardown.yaml",
        0,
        "6:11",
        "warning: a drill without a `teardown`: what it restores would linger",
    ),
    // Catalogs.
    case("c-duplicate-dataset.yaml", 1, "12:9", "error: duplicate dataset id `shop-docs`"),
    case("c-bad-classification.yaml", 1, "14:21", "error: unknown classification `secret`"),
    case("c-bad-rpo.yaml", 1, "15:10", "error: invalid duration `15 mins`"),
    case("c-missing-rto.yaml", 1, "4:5", "error: missing field `rto` in a dataset"),
    case("c-zero-rto.yaml", 1, "8:10", "error: `rto` must be greater than zero"),
    case("c-bad-role.yaml", 1, "11:54", "error: unknown role `prod`"),
    case("c-sim-on-instance.yaml", 1, "11:82", "error: `sim` sizes s3-bucket resources only"),
    case("c-sim-zero-objects.yaml", 1, "14:25", "error: `sim.objects` must be greater than zero"),
    case("c-sim-too-many-prefixes.yaml", 1, "14:45", "error: `sim` spreads keys over at most 10,000 prefixes"),
    case("c-batch-role-not-arn.yaml", 1, "11:78", "error: `batch` role `lifeboat-batch` is not an IAM role ARN"),
    case("c-batch-reports-into-itself.yaml", 1, "11:136", "error: `batch` reports go to the bucket rolled back"),
    case("c-batch-on-instance.yaml", 1, "11:81", "error: `batch` is for s3-bucket resources only"),
    case("c-evidence-bad-bucket.yaml", 1, "3:21", "error: `evidence` bucket `Lifeboat_Evidence` is not a bucket name"),
    // Answers, checked against the runbook they name (tests/corpus/good.yaml).
    case("a-unknown-step.yaml", 1, "6:3", "error: unknown step `confrim` in answers"),
    case("a-bad-answer.yaml", 1, "6:12", "error: unknown answer `ok`"),
    case("a-skip-without-reason.yaml", 1, "6:12", "help: write `skip: \"<reason>\"`"),
    case("a-approve-not-bool.yaml", 1, "7:18", "error: expected `true` or `false`, found `maybe`"),
    case("a-unknown-runbook.yaml", 1, "3:10", "error: unknown runbook `corpus-bad`"),
    case("a-approve-on-manual.yaml", 1, "6:3", "error: this answer does not fit a manual step"),
    case("a-unknown-input.yaml", 1, "5:11", "error: unknown input `incident_time`"),
    case("a-bad-input-type.yaml", 1, "5:24", "error: invalid timestamp `12345`"),
    // Injects files for rehearsals.
    case("i-unknown-action.yaml", 1, "4:13", "did you mean `rds.restore_from_snapshot`?"),
    case(
        "i-no-target.yaml",
        1,
        "4:5",
        "help: name the failing `action` (every step that uses it), one `step`, or an `operation`",
    ),
    case("i-unknown-operation.yaml", 1, "4:16", "did you mean `CopyObject`?"),
    case(
        "i-operation-with-step.yaml",
        1,
        "5:11",
        "error: `operation` fails a request of the simulated cloud whichever step sends it; it cannot be combined with `step`",
    ),
    // Not YAML at all.
    case("empty.yaml", 1, "1:1", "error: the file is empty"),
    case("comments-only.yaml", 1, "1:1", "error: the file is empty"),
    case("binary.yaml", 1, "1:2", "error: the file is not UTF-8 text (invalid byte 0x8b)"),
    case("latin1.yaml", 1, "3:18", "error: the file is not UTF-8 text (invalid byte 0xf3)"),
];

/// Valid files the broken ones are checked against.
const FIXTURES: &[&str] = &["datasets.yaml", "good.yaml"];

#[test]
fn every_broken_file_is_reported_where_the_mistake_is() {
    let mut failures = Vec::new();
    for c in CASES {
        let path = format!("tests/corpus/{}", c.file);
        let out = lifeboat(&["validate", &path]);
        let stderr = text(&out.stderr);
        let code = out.status.code().unwrap_or(-1);
        let location = format!("--> {path}:{}", c.at);
        if code != c.exit || !stderr.contains(&location) || !stderr.contains(c.message) || stderr.contains("panicked") {
            failures.push(format!(
                "{}: exit {code} (want {}), want `{location}` and `{}` in:\n{stderr}",
                c.file, c.exit, c.message
            ));
            continue;
        }
        insta::with_settings!({ snapshot_path => "snapshots/corpus", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(c.file, format!("exit: {code}\n{stderr}"));
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn corpus_is_large_and_every_file_has_an_expectation() {
    assert!(CASES.len() >= 40, "the corpus must hold at least 40 broken files");
    let dir = root().join("tests/corpus");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            FIXTURES.contains(&name.as_str()) || CASES.iter().any(|c| c.file == name),
            "tests/corpus/{name} has no expectation in tests/it/corpus.rs"
        );
    }
    for f in FIXTURES {
        let out = lifeboat(&["validate", &format!("tests/corpus/{f}")]);
        assert_eq!(out.status.code(), Some(0), "{f} must stay valid: {}", text(&out.stderr));
    }
}

#[test]
fn a_ten_megabyte_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let line = "# ".to_string() + &"x".repeat(1021) + "\n";
    std::fs::write(&path, line.repeat(10 * 1024)).unwrap();
    let out = lifeboat(&["validate", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: the file is 10.0 MiB; lifeboat files are limited to 1 MiB"), "{stderr}");
    assert!(stderr.contains(":1:1"), "{stderr}");
}

#[test]
fn all_problems_in_a_file_are_reported_not_only_the_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("tests/corpus/datasets.yaml"), dir.path().join("datasets.yaml")).unwrap();
    let good = std::fs::read_to_string(root().join("tests/corpus/good.yaml")).unwrap();
    let bad = good
        .replace("budget: 10m", "budjet: 10m")
        .replace("s3.restore_to_time", "s3.restore_to_tim")
        .replace("scenario: ransomware", "scenario: ransomeware");
    let path = dir.path().join("many.yaml");
    std::fs::write(&path, bad).unwrap();
    let out = lifeboat(&["validate", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    for want in
        ["unknown field `budjet`", "unknown action `s3.restore_to_tim`", "unknown scenario `ransomeware`", "3 errors"]
    {
        assert!(stderr.contains(want), "missing `{want}` in:\n{stderr}");
    }
    // In file order.
    let (a, b) = (stderr.find("ransomeware").unwrap(), stderr.find("budjet").unwrap());
    assert!(a < b, "diagnostics are not in file order:\n{stderr}");
}
