//! The pack as Markdown, JSON and one self-contained HTML page. Both pages are drawn from
//! one list of blocks, so they cannot say different things; every value from a log is
//! escaped for the page it lands in (a step's reason is an attacker's text as often as not).

use super::{DatasetPack, Pack, RunPack, controls};
use crate::format::human_ms;

pub enum Block {
    Heading {
        level: u8,
        text: String,
        serves: &'static [&'static str],
    },
    Para(String),
    Table {
        head: Vec<&'static str>,
        rows: Vec<Vec<String>>,
    },
    /// A chart: the SVG, and the file name the Markdown links to.
    Chart {
        svg: String,
        file: String,
    },
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "—",
    }
}

fn opt_ms(ms: Option<u64>) -> String {
    ms.map(human_ms).unwrap_or_else(|| "—".into())
}

fn counted(d: &DatasetPack) -> impl Iterator<Item = &RunPack> {
    d.runs.iter().filter(|r| r.counts)
}

fn run_name(r: &RunPack) -> String {
    format!("{} ({})", r.run_id, r.started)
}

/// The blocks of the whole pack; charts are drawn here.
pub fn blocks(p: &Pack) -> Result<Vec<Block>, String> {
    use Block::*;
    let mut b = vec![
        Heading { level: 1, text: "Drill evidence pack".into(), serves: &[] },
        Para(format!(
            "Generated {} by lifeboat {} from the signed incident logs; period {} to {}. Trust root: {}. \
             A log counts only when it verifies, is sealed, and a key of the trust root signed it; a drill \
             proves that backups restore only when it also ran against AWS and succeeded (a drill on the \
             simulated cloud rehearses the procedure and proves nothing about the real backups).",
            p.generated_at,
            env!("CARGO_PKG_VERSION"),
            p.since.as_deref().unwrap_or("the first log"),
            p.until,
            p.trust_root.as_deref().unwrap_or("NONE — no log counts")
        )),
        Table {
            head: vec![
                "dataset",
                "classification",
                "RPO",
                "RTO",
                "runs",
                "counted",
                "proven drills",
                "RTO met in drills",
                "last proven drill",
                "overdue",
            ],
            rows: p
                .datasets
                .iter()
                .map(|d| {
                    vec![
                        d.id.clone(),
                        d.classification.clone(),
                        human_ms(d.rpo_ms),
                        human_ms(d.rto_ms),
                        d.runs.len().to_string(),
                        counted(d).count().to_string(),
                        d.runs.iter().filter(|r| r.proves_restore).count().to_string(),
                        format!(
                            "{} of {}{}",
                            d.rto_met_in_drills.0,
                            d.rto_met_in_drills.1,
                            d.drill_rto_p90_ms
                                .map(|p| format!("; p90 {} of {}", human_ms(p), human_ms(d.rto_ms)))
                                .unwrap_or_default()
                        ),
                        d.last_proven_drill.clone().unwrap_or_else(|| "never".into()),
                        if d.overdue.is_some() { "OVERDUE".into() } else { "no".into() },
                    ]
                })
                .collect(),
        },
    ];
    if !p.copies.is_empty() {
        b.push(Para(format!(
            "{} log(s) skipped as copies of a run already listed (a run counts once, by its run id):",
            p.copies.len()
        )));
        b.push(Table {
            head: vec!["log", "run", "listed from", "copy"],
            rows: p
                .copies
                .iter()
                .map(|c| {
                    vec![
                        c.log.clone(),
                        c.run_id.clone(),
                        c.listed_as.clone(),
                        c.tampered.clone().unwrap_or_else(|| "intact copy".into()),
                    ]
                })
                .collect(),
        });
    }
    for d in &p.datasets {
        b.push(Heading { level: 2, text: format!("{} — {}", d.id, d.title), serves: &[] });
        b.push(Heading { level: 3, text: "Objectives and classification".into(), serves: controls::OBJECTIVES });
        b.push(Table {
            head: vec!["classification", "RPO", "RTO", "drill every", "production", "backups"],
            rows: vec![vec![
                d.classification.clone(),
                human_ms(d.rpo_ms),
                human_ms(d.rto_ms),
                d.drill_every_ms.map(human_ms).unwrap_or_else(|| "not set".into()),
                format!("{} / {}", d.primary_region, d.primary_account.as_deref().unwrap_or("?")),
                match &d.backup_region {
                    Some(r) => format!("{r} / {}", d.backup_account.as_deref().unwrap_or("?")),
                    None => "none in the catalog".into(),
                },
            ]],
        });
        b.push(Heading { level: 3, text: "Runs and their logs".into(), serves: controls::RUNS });
        if d.runs.is_empty() {
            b.push(Para("No run of this dataset in the period.".into()));
        } else {
            b.push(Table {
                head: vec!["started", "run", "mode", "cloud", "verdict", "log", "signer", "counts"],
                rows: d
                    .runs
                    .iter()
                    .map(|r| {
                        vec![
                            r.started.clone(),
                            r.run_id.clone(),
                            r.mode.clone(),
                            r.cloud.clone(),
                            r.verdict.clone(),
                            r.verification.clone(),
                            match (&r.signer, &r.fingerprint) {
                                (Some(s), Some(f)) => format!("{s} ({f})"),
                                (None, Some(f)) => format!("untrusted key {f}"),
                                (Some(s), None) => s.clone(),
                                (None, None) => "unsigned".into(),
                            },
                            match &r.not_counted_because {
                                None if r.proves_restore => "yes: proves restore".into(),
                                None => "yes".into(),
                                Some(why) => format!("NOT COUNTED: {why}"),
                            },
                        ]
                    })
                    .collect(),
            });
        }
        if counted(d).next().is_none() {
            b.push(Heading { level: 3, text: "Drill schedule".into(), serves: controls::OVERDUE });
            b.push(Para(schedule(d)));
            continue;
        }
        b.push(Heading { level: 3, text: "Achieved RTO and RPO".into(), serves: controls::ACHIEVED });
        b.push(Table {
            head: vec!["run", "cloud", "RTO", "RTO objective", "RTO met", "RPO", "RPO objective", "RPO met"],
            rows: counted(d)
                .map(|r| {
                    vec![
                        run_name(r),
                        r.cloud.clone(),
                        opt_ms(r.rto_ms),
                        human_ms(r.rto_objective_ms),
                        yes_no(r.rto_met).into(),
                        opt_ms(r.rpo_ms),
                        human_ms(r.rpo_objective_ms),
                        yes_no(r.rpo_met).into(),
                    ]
                })
                .collect(),
        });
        if let Some(svg) = super::chart::svg(d)? {
            b.push(Chart { svg, file: format!("{}.svg", d.id) });
        }
        b.push(Heading { level: 3, text: "Segregation of the restore".into(), serves: controls::SEGREGATION });
        b.push(Table {
            head: vec!["run", "restored into", "account", "production", "segregated"],
            rows: counted(d)
                .map(|r| {
                    let s = &r.segregation;
                    vec![
                        run_name(r),
                        if s.restored_regions.is_empty() { "—".into() } else { s.restored_regions.join(", ") },
                        s.account.clone().unwrap_or_else(|| "—".into()),
                        format!("{} / {}", s.production_region, s.production_account.as_deref().unwrap_or("?")),
                        match s.segregated {
                            Some(true) => "yes".into(),
                            Some(false) => "NO".into(),
                            None => format!("unknown: {}", s.words),
                        },
                    ]
                })
                .collect(),
        });
        b.push(Heading { level: 3, text: "Integrity gates".into(), serves: controls::GATES });
        b.push(Table {
            head: vec!["run", "gate (step)", "result", "detail"],
            rows: counted(d)
                .flat_map(|r| {
                    r.gates.iter().map(move |g| {
                        vec![run_name(r), g.step.clone(), g.result.clone(), g.detail.clone().unwrap_or_default()]
                    })
                })
                .collect(),
        });
        b.push(Heading { level: 3, text: "Deviations and follow-up actions".into(), serves: controls::DEVIATIONS });
        b.push(Table {
            head: vec!["run", "deviation"],
            rows: counted(d).flat_map(|r| r.deviations.iter().map(move |x| vec![run_name(r), x.clone()])).collect(),
        });
        b.push(Heading { level: 4, text: "Follow-up actions".into(), serves: &[] });
        b.push(Table {
            head: vec!["run", "owner", "due", "action", "recorded by"],
            rows: counted(d)
                .flat_map(|r| {
                    r.follow_ups.iter().map(move |f| {
                        vec![
                            run_name(r),
                            f.owner.clone().unwrap_or_else(|| "MISSING".into()),
                            f.due.clone().unwrap_or_else(|| "MISSING".into()),
                            f.action.clone(),
                            f.by.clone(),
                        ]
                    })
                })
                .collect(),
        });
        b.push(Heading { level: 3, text: "Participants and approvers".into(), serves: controls::PEOPLE });
        b.push(Table {
            head: vec!["run", "participants", "approvals"],
            rows: counted(d).map(|r| vec![run_name(r), r.participants.join(", "), r.approvers.join("; ")]).collect(),
        });
        b.push(Heading { level: 3, text: "Sign-offs".into(), serves: controls::SIGN_OFFS });
        b.push(Table {
            head: vec!["run", "role", "statement", "signed by", "at", "counts"],
            rows: d
                .runs
                .iter()
                .flat_map(|r| {
                    r.sign_offs.iter().map(move |s| {
                        vec![
                            run_name(r),
                            s.role.clone().unwrap_or_default(),
                            s.statement.clone().unwrap_or_default(),
                            s.by.clone().unwrap_or_else(|| "—".into()),
                            s.signed_at.clone().unwrap_or_default(),
                            match &s.problem {
                                None if r.counts => "yes".into(),
                                None => "NOT COUNTED: the log it signs does not count".into(),
                                Some(p) => format!("NOT COUNTED: {p}"),
                            },
                        ]
                    })
                })
                .collect(),
        });
        b.push(Heading { level: 3, text: "Drill schedule".into(), serves: controls::OVERDUE });
        b.push(Para(schedule(d)));
    }
    Ok(b)
}

fn schedule(d: &DatasetPack) -> String {
    match &d.overdue {
        Some(why) => format!("OVERDUE: {why}."),
        None => match (&d.last_proven_drill, d.drill_every_ms) {
            (Some(t), Some(every)) => format!("On schedule: last proven drill {t}, one due every {}.", human_ms(every)),
            (_, None) => "No drill interval (`drill_every`) in the catalog.".into(),
            (None, Some(_)) => "No proven drill.".into(),
        },
    }
}

fn md_text(s: &str) -> String {
    crate::printable::cell(s).replace('<', "&lt;").replace('>', "&gt;")
}

pub fn markdown(blocks: &[Block]) -> String {
    let mut md = String::new();
    for b in blocks {
        match b {
            Block::Heading { level, text, serves } => {
                md += &format!("\n{} {}\n", "#".repeat(*level as usize), md_text(text));
                if !serves.is_empty() {
                    md += &format!("\n_Serves: {}_\n", serves.join(", "));
                }
            }
            Block::Para(t) => md += &format!("\n{}\n", md_text(t)),
            Block::Table { rows, .. } if rows.is_empty() => md += "\n_None._\n",
            Block::Table { head, rows } => {
                md += &format!("\n| {} |\n|{}\n", head.join(" | "), "---|".repeat(head.len()));
                for r in rows {
                    md += &format!("| {} |\n", r.iter().map(|c| md_text(c)).collect::<Vec<_>>().join(" | "));
                }
            }
            Block::Chart { file, .. } => md += &format!("\n![achieved RTO and RPO over time]({file})\n"),
        }
    }
    md.trim_start().to_string()
}

fn h(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::printable::line(s).chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            '\'' => out += "&#39;",
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}\
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}\
th,td{border:1px solid #999;padding:.25rem .4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#eee}.serves{color:#555;font-size:.85rem;font-style:italic}\
h2{border-top:2px solid #333;padding-top:1rem;margin-top:2rem}\
.bad{color:#a00;font-weight:bold}svg{max-width:100%;height:auto}\
@media print{body{margin:0;max-width:none}h2{page-break-before:always}table,svg{page-break-inside:avoid}}";

pub fn html(blocks: &[Block]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Drill evidence pack</title><style>{STYLE}</style></head><body>\n"
    );
    for b in blocks {
        match b {
            Block::Heading { level, text, serves } => {
                out += &format!("<h{level}>{}</h{level}>\n", h(text));
                if !serves.is_empty() {
                    out += &format!("<p class=\"serves\">Serves: {}</p>\n", h(&serves.join(", ")));
                }
            }
            Block::Para(t) => out += &format!("<p>{}</p>\n", h(t)),
            Block::Table { rows, .. } if rows.is_empty() => out += "<p><em>None.</em></p>\n",
            Block::Table { head, rows } => {
                out += "<table><thead><tr>";
                for c in head {
                    out += &format!("<th>{}</th>", h(c));
                }
                out += "</tr></thead><tbody>\n";
                for r in rows {
                    out += "<tr>";
                    for c in r {
                        let bad = ["NOT COUNTED", "TAMPERED", "MISSED", "OVERDUE", "NO", "failed", "MISSING"]
                            .iter()
                            .any(|w| c.starts_with(w));
                        out += &format!("<td{}>{}</td>", if bad { " class=\"bad\"" } else { "" }, h(c));
                    }
                    out += "</tr>\n";
                }
                out += "</tbody></table>\n";
            }
            // Drawn here from numbers only (no text from a log reaches it but dataset ids,
            // which the catalog's rules keep to letters, digits and dashes).
            Block::Chart { svg, .. } => out += &format!("<figure class=\"chart\">{svg}</figure>\n"),
        }
    }
    out += "</body></html>\n";
    out
}
