//! The commands of issue 2 as a user meets them.

use crate::{lifeboat, root, text};

fn example_runbooks() -> Vec<String> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(root().join("runbooks")).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap_or_default();
        if src.contains("\nkind: Runbook\n") {
            let id = src.lines().find_map(|l| l.strip_prefix("id: ")).expect("runbook has an id");
            ids.push(id.to_string());
        }
    }
    ids.sort();
    ids
}

#[test]
fn the_examples_validate_cleanly() {
    let out = lifeboat(&["validate", "runbooks/"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("0 errors, 0 warnings"), "{stderr}");
    assert!(example_runbooks().len() >= 5, "at least five example runbooks");
}

#[test]
fn validate_defaults_to_the_runbooks_folder() {
    let out = lifeboat(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(" files checked: 0 errors, 0 warnings"), "{}", text(&out.stderr));
}

#[test]
fn list_shows_every_example_in_an_aligned_table() {
    let out = lifeboat(&["list"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("RUNBOOK") && lines[0].contains("DATASET") && lines[0].contains("LAST DRILL"));
    let ids = example_runbooks();
    assert_eq!(lines.len(), ids.len() + 1, "{stdout}");
    for id in &ids {
        assert!(lines.iter().any(|l| l.starts_with(&format!("{id} "))), "{id} missing from:\n{stdout}");
    }
    // Aligned: every row has its DATASET column where the header has it.
    let col = lines[0].find("DATASET").unwrap();
    for l in &lines[1..] {
        assert_eq!(&l[col - 2..col], "  ", "misaligned row: {l}");
        assert_ne!(&l[col..col + 1], " ", "misaligned row: {l}");
    }
    let ransomware = lines.iter().find(|l| l.starts_with("orders-docs-ransomware")).unwrap();
    let cells: Vec<&str> = ransomware.split_whitespace().collect();
    // No trusted history here: no p90 beside the RTO.
    assert_eq!(&cells[..8], ["orders-docs-ransomware", "orders-docs", "ransomware", "1h30m", "—", "1h", "3", "10"]);
}

#[test]
fn list_of_a_folder_with_a_broken_runbook_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["datasets.yaml", "good.yaml", "r-typo-key.yaml"] {
        std::fs::copy(root().join("tests/corpus").join(f), dir.path().join(f)).unwrap();
    }
    let out = lifeboat(&["list", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("corpus-good"));
    assert!(text(&out.stderr).contains("r-typo-key.yaml` is not a valid runbook; run `lifeboat validate"));
}

#[test]
fn schema_is_json_schema_of_all_three_kinds() {
    let out = lifeboat(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let kinds: Vec<&str> = schema["oneOf"].as_array().unwrap().iter().map(|k| k["title"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Runbook", "DatasetCatalog", "Answers", "Injects"]);
    let runbook = &schema["oneOf"][0];
    assert_eq!(runbook["additionalProperties"], false);
    let step = &runbook["properties"]["phases"]["items"]["properties"]["steps"]["items"];
    for field in ["id", "title", "manual", "approval", "action", "with", "run", "wait", "needs", "when", "timeout"] {
        assert!(step["properties"].get(field).is_some(), "step schema lacks `{field}`");
    }
    assert_eq!(step["required"], serde_json::json!(["id", "title"]));
    assert_eq!(runbook["properties"]["scenario"]["enum"][1], "ransomware");
    assert!(runbook["properties"]["phases"]["items"]["properties"]["budget"]["pattern"].is_string());
}

#[test]
fn help_and_version() {
    let out = lifeboat(&["--version"]);
    assert_eq!(text(&out.stdout).trim(), format!("lifeboat {}", env!("CARGO_PKG_VERSION")));
    for cmd in ["validate", "list", "schema"] {
        let out = lifeboat(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd} --help");
        assert!(text(&out.stdout).contains("Usage: lifeboat"), "{cmd} --help");
    }
    let out = lifeboat(&["--help"]);
    for cmd in ["validate", "list", "schema"] {
        assert!(text(&out.stdout).contains(cmd));
    }
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(lifeboat(&["validate", "no/such/path.yaml"]).status.code(), Some(2));
    assert_eq!(lifeboat(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(lifeboat(&["list", "--dir", "no/such/dir"]).status.code(), Some(2));
}

#[test]
fn colour_only_on_request() {
    let out = lifeboat(&["validate", "tests/corpus/r-typo-key.yaml"]);
    assert!(!text(&out.stderr).contains('\u{1b}'), "no escape codes when not on a terminal");
    let forced = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["validate", "tests/corpus/r-typo-key.yaml"])
        .current_dir(root())
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(text(&forced.stderr).contains('\u{1b}'), "colour when forced");
}

/// A sealed drill log as a drill against AWS leaves it (the AWS provider comes later; the
/// journal is the same).
fn drill_log(
    dir: &std::path::Path,
    name: &str,
    dataset: &str,
    cloud: &str,
    ended: &str,
    key: Option<&std::path::Path>,
    restored: bool,
) {
    use lifeboat::event::{Event, Genesis, Mode, RunStatus, StepStatus};
    let t: lifeboat::runbook::time::Timestamp = ended.parse().unwrap();
    let signer = key.map(|k| lifeboat::journal::sign::Signer::load(k, || None).unwrap());
    let signed = signer.as_ref().map(|s| s.public_openssh());
    let mut j = lifeboat::journal::Journal::create(&dir.join(name), signer).unwrap();
    j.append(
        t,
        Event::Genesis(Box::new(Genesis {
            tool_version: "t".into(),
            run_id: name.into(),
            runbook_id: "customers-db-quarterly-drill".into(),
            runbook_sha256: "00".into(),
            answers_sha256: None,
            operator: "ops".into(),
            mode: Mode::Drill,
            signer: signed,
            dataset: dataset.into(),
            incident_started_at: ended.into(),
            rto_ms: 1,
            rpo_ms: 1,
            cloud: cloud.into(),
            clock_speed: 1,
            inputs: Default::default(),
            caller: None,
            provenance: Default::default(),
        })),
    )
    .unwrap();
    // What a restore records: objects brought back, and the recovery point.
    if restored {
        let mut outputs = serde_json::Map::new();
        outputs.insert("copied".into(), 5.into());
        j.append(
            t,
            Event::StepFinished {
                step: "restore".into(),
                status: StepStatus::Done,
                reason: None,
                outputs,
                duration_ms: 1,
                recovery_point: Some(ended.into()),
                error: None,
            },
        )
        .unwrap();
    }
    j.append(
        t,
        Event::RunFinished {
            status: RunStatus::Succeeded,
            reason: None,
            rto_ms: 1,
            rto_met: true,
            rpo_ms: None,
            rpo_met: None,
            service_restored: true,
        },
    )
    .unwrap();
    j.seal(t).unwrap();
}

#[test]
fn list_shows_the_last_real_drill_and_what_is_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let recent =
        lifeboat::runbook::time::Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(24 * 10)).unwrap();
    let recent = lifeboat::runbook::time::format_timestamp(recent);
    let key = crate::journal::keygen(dir.path());
    let allowed = crate::journal::allowed_signers(dir.path(), &key);
    let other = tempfile::tempdir().unwrap();
    let stranger = crate::journal::keygen(other.path());
    let logs = dir.path().join("incidents");
    std::fs::create_dir_all(&logs).unwrap();
    drill_log(&logs, "a.jsonl", "customer-records", "aws", &recent, Some(&key), true);
    drill_log(&logs, "b.jsonl", "kyc-documents", "sim", &recent, Some(&key), true); // a sim drill proves nothing
    drill_log(&logs, "c.jsonl", "orders-docs", "aws", "2025-01-01T00:00:00Z", Some(&key), true); // long ago
    // Made by hand: unsigned, or signed by a key the trust root does not name. Neither counts.
    drill_log(&logs, "d.jsonl", "kyc-documents", "aws", &recent, None, true);
    drill_log(&logs, "e.jsonl", "kyc-documents", "aws", &recent, Some(&stranger), true);
    // Signed and on AWS, but it brought nothing back: restoring nothing proves nothing.
    drill_log(&logs, "f.jsonl", "kyc-documents", "aws", &recent, Some(&key), false);
    let list = |trust: Option<&std::path::Path>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"));
        c.args(["list", "--incidents", logs.to_str().unwrap()]).current_dir(crate::root()).env("NO_COLOR", "1");
        match trust {
            Some(t) => c.env("LIFEBOAT_ALLOWED_SIGNERS", t),
            None => c.env_remove("LIFEBOAT_ALLOWED_SIGNERS"),
        };
        text(&c.output().unwrap().stdout)
    };
    let untrusted = list(None);
    assert!(
        untrusted.lines().skip(1).all(|l| l.contains("never")),
        "without a trust root no drill log counts: {untrusted}"
    );
    let stdout = list(Some(&allowed));
    let row = |id: &str| stdout.lines().find(|l| l.starts_with(id)).unwrap().to_string();
    assert!(row("customers-db-quarterly-drill").ends_with(&format!("{} (10d ago)", &recent[..10])), "{stdout}");
    assert!(row("kyc-documents-prefix-deletion").ends_with("never OVERDUE"), "{stdout}");
    assert!(
        row("orders-docs-ransomware").ends_with("OVERDUE") && row("orders-docs-ransomware").contains("2025-01-01"),
        "{stdout}"
    );
}

#[test]
fn relative_paths_from_inside_the_runbook_folder_find_their_runbook() {
    let dir = tempfile::tempdir().unwrap();
    let copy = std::process::Command::new("cp")
        .arg("-r")
        .arg(crate::root().join("runbooks"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(copy.success());
    let rb = dir.path().join("runbooks");
    let at = |cwd: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (out.status.code(), text(&out.stderr))
    };
    let (code, stderr) = at(&rb, &["validate", "answers/orders-docs-ransomware.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = at(&rb.join("answers"), &["validate", "orders-docs-ransomware.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = at(
        &rb,
        &[
            "run",
            "orders-docs-ransomware.yaml",
            "--headless",
            "--cloud",
            "sim",
            "--answers",
            "answers/orders-docs-ransomware.yaml",
            "--log",
            "x.jsonl",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
}

/// README's layout section names every file and folder under `src/`, and nothing that
/// is not there: the map a new engineer reads is the tree.
#[test]
fn the_readme_layout_is_the_source_tree() {
    let readme = std::fs::read_to_string(crate::root().join("README.md")).unwrap();
    let section = readme.split("## Layout").nth(1).expect("a layout section");
    let block = section.split("```\nsrc/\n").nth(1).expect("the src/ tree").split("```").next().unwrap();
    let mut named = std::collections::BTreeSet::new();
    let mut dir = String::new();
    for line in block.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent == 0 && !line.trim().is_empty() {
            break; // tests/, bench/, scripts/: beside src/, not in it
        }
        let first = line.split_whitespace().next().unwrap_or_default();
        // Continuation lines of a description are indented past the name column.
        if indent >= 19 {
            continue;
        }
        if indent == 2 {
            dir.clear();
        }
        for name in first.split(',').chain(line.split_whitespace().nth(1).filter(|_| first.ends_with(','))) {
            let name = name.trim_end_matches(',');
            if name.is_empty() {
                continue;
            }
            if let Some(d) = name.strip_suffix('/') {
                dir = format!("{d}/");
                named.insert(format!("src/{d}"));
            } else if name.ends_with(".rs") {
                let path = format!("src/{}{name}", if indent >= 4 { dir.as_str() } else { "" });
                // `aws/mod.rs` names its folder too.
                let mut parent = std::path::Path::new(&path).parent();
                while let Some(p) = parent.filter(|p| p.as_os_str() != "src") {
                    named.insert(p.display().to_string());
                    parent = p.parent();
                }
                named.insert(path);
            }
        }
    }
    let mut actual = std::collections::BTreeSet::new();
    let src = crate::root().join("src");
    let mut todo = vec![src.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(crate::root()).unwrap().display().to_string();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "snapshots") {
                    continue; // insta's pinned screens, not code
                }
                actual.insert(rel);
                todo.push(p);
            } else if rel.ends_with(".rs") {
                actual.insert(rel);
            }
        }
    }
    let missing: Vec<_> = actual.difference(&named).collect();
    let stale: Vec<_> = named.difference(&actual).collect();
    assert!(missing.is_empty() && stale.is_empty(), "not in README: {missing:?}; in README but not in src: {stale:?}");
}

/// Issue 30 (2): the actions reference in docs/ is made from the action table, and
/// stays equal to it.
#[test]
fn docs_actions_md_is_the_action_table() {
    let out = lifeboat(&["schema", "--actions-md"]);
    assert_eq!(out.status.code(), Some(0));
    let made = text(&out.stdout);
    let kept = std::fs::read_to_string(root().join("docs/actions.md")).unwrap_or_default();
    assert!(
        made.trim_end() == kept.trim_end(),
        "docs/actions.md differs from the action table: run `cargo run -q -- schema --actions-md > docs/actions.md`"
    );
    for a in lifeboat::runbook::action_table::ACTIONS {
        assert!(made.contains(&format!("## `{}`", a.name)), "{}", a.name);
        for o in a.outputs {
            assert!(made.contains(&format!("| `{o}` |")), "{}: {o}", a.name);
        }
    }
    assert!(!made.contains("undocumented"), "an output without its form: {made}");
    // Users never see the design folder: what they need is in the repository.
    for f in ["README.md", "docs/runbook-format.md", "docs/actions.md", "SECURITY.md"] {
        let body = std::fs::read_to_string(root().join(f)).unwrap();
        assert!(!body.contains("../shared"), "{f} points outside the repository");
    }
    assert!(
        text_of("README.md").contains("(docs/actions.md)") && text_of("README.md").contains("(docs/runbook-format.md)")
    );
}

fn text_of(f: &str) -> String {
    std::fs::read_to_string(root().join(f)).unwrap()
}

/// Issue 30 (2): each action has its own `with:` in the schema (names, types,
/// required, nothing else), and every example runbook's arguments fit it.
#[test]
fn the_schema_checks_each_actions_arguments() {
    let out = lifeboat(&["schema"]);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = &schema["oneOf"][0]["properties"]["phases"]["items"]["properties"]["steps"]["items"];
    let names: Vec<&str> =
        step["properties"]["action"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(names.len(), lifeboat::runbook::action_table::ACTIONS.len());
    let with_of = |action: &str| -> serde_json::Value {
        step["allOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["if"]["properties"]["action"]["const"] == action)
            .map(|c| c["then"]["properties"]["with"].clone())
            .unwrap_or_else(|| panic!("no `with` for {action}"))
    };
    let roll = with_of("s3.restore_to_time");
    assert_eq!(roll["additionalProperties"], false);
    assert_eq!(roll["required"], serde_json::json!(["bucket", "time"]));
    assert_eq!(roll["properties"]["dry_run"]["anyOf"][0]["type"], "boolean");
    let copy = with_of("s3.copy_prefix");
    assert_eq!(copy["properties"]["from"]["anyOf"][0]["required"], serde_json::json!(["bucket"]));
    // The example runbooks' arguments: only names the action's `with` has, every one it requires.
    let mut checked = 0;
    let dir = root().join("runbooks");
    let catalog =
        lifeboat::runbook::load::catalog_from_str(&std::fs::read_to_string(dir.join("datasets.yaml")).unwrap())
            .unwrap();
    for f in example_runbooks() {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("{f}.yaml"))) else { continue };
        let rb = lifeboat::runbook::load::runbook_from_str(&text, &catalog).unwrap();
        for s in rb.steps() {
            let lifeboat::runbook::model::StepKind::Action { action, with } = &s.kind else { continue };
            let w = with_of(action.name);
            let given: Vec<&String> = with.as_object().map(|m| m.keys().collect()).unwrap_or_default();
            for k in &given {
                assert!(w["properties"].get(k.as_str()).is_some(), "{f}: {} has no argument `{k}`", action.name);
            }
            for r in w["required"].as_array().unwrap() {
                assert!(given.iter().any(|g| *g == r.as_str().unwrap()), "{f}: {} needs `{r}`", action.name);
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} action steps checked");
}

/// Issue 30 (6): an answers file the run would stop on is flagged by `validate`, with
/// the line, the column and the answer to give: a typo in the approver's role, and the
/// operator typing a yes under four eyes.
#[test]
fn validate_flags_answers_the_run_would_stop_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("datasets.yaml"), crate::engine::CATALOG).unwrap();
    std::fs::write(
        dir.path().join("rb.yaml"),
        concat!(
            "apiVersion: lifeboat/v1\nkind: Runbook\nid: rb\ntitle: RB\ndataset: shop-docs\nscenario: other\n",
            "phases:\n  - id: p\n    title: P\n    budget: 30m\n    steps:\n",
            "      - { id: go, title: Go, approval: { role: incident-commander } }\n",
            "      - { id: go2, title: Go 2, approval: { role: incident-commander, four_eyes: true } }\n",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("answers.yaml"),
        concat!(
            "apiVersion: lifeboat/v1\nkind: Answers\nrunbook: rb\noperator: alice\nsteps:\n",
            "  go: { approve: true, by: bob, role: incident-comander }\n",
            "  go2: { approve: true, by: alice, role: incident-commander }\n",
        ),
    )
    .unwrap();
    let out = lifeboat(&["validate", dir.path().to_str().unwrap()]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("`incident-comander` is not the role it needs, `incident-commander`"), "{said}");
    assert!(said.contains("answers.yaml:6:39"), "the typo's line and column: {said}");
    assert!(said.contains("a typed name cannot approve `go2`"), "{said}");
    assert_eq!(out.status.code(), Some(0), "warnings: `run` still starts: {said}");
    let strict = lifeboat(&["validate", "--deny-warnings", dir.path().to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(1));
}

/// Issue 30: `verify` and `report` find the trust root beside the catalog the run was
/// given (the log records the catalog's SHA-256), not only in `./runbooks`.
#[test]
fn verify_finds_the_trust_root_beside_the_catalog_the_run_used() {
    let dir = tempfile::tempdir().unwrap();
    let books = dir.path().join("ops/books");
    std::fs::create_dir_all(&books).unwrap();
    std::fs::write(books.join("datasets.yaml"), crate::engine::CATALOG).unwrap();
    std::fs::write(
        books.join("rb.yaml"),
        crate::run::runbook(
            "2h",
            "  x: { type: string, default: y }\n",
            "      - { id: a, title: A, run: \"true\" }\n",
        ),
    )
    .unwrap();
    let key = crate::journal::keygen(dir.path());
    crate::journal::allowed_signers(&books, &key);
    let log = dir.path().join("incidents/run.jsonl");
    let out = crate::run::replay(dir.path(), &books.join("rb.yaml"), &log, &["--sign-key", key.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = crate::run::lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]);
    let said = text(&v.stdout);
    assert!(said.contains("signed by ops@example (the trust root names the key)"), "{said}");
    assert!(said.contains("ops/books/allowed_signers"), "it says which trust root: {said}");
    assert_eq!(v.status.code(), Some(0), "{said}");
    // Named explicitly, a folder without one still means no trust root.
    let v = crate::run::lifeboat_in(dir.path(), &["verify", log.to_str().unwrap(), "--dir", "elsewhere"], &[]);
    assert_eq!(v.status.code(), Some(4), "{}", text(&v.stdout));
}
