//! A forecast for people (text) and for graphs (Prometheus's text format); JSON is the
//! `Forecast` itself.

use super::Forecast;

/// The forecast for people.
pub fn text(f: &Forecast) -> String {
    use crate::format::human_ms;
    let ms = |v: Option<u64>| v.map_or("—".to_string(), human_ms);
    let mut out = format!("Forecast of {} (RTO {})\n", f.runbook, human_ms(f.rto_ms));
    let kinds: Vec<String> = f.kinds.iter().map(|(k, n)| format!("{n} {}", format!("{k:?}").to_lowercase())).collect();
    out.push_str(&format!(
        "From {} trusted run{} ({}; {}){}\n",
        f.runs,
        if f.runs == 1 { "" } else { "s" },
        if kinds.is_empty() { "none".to_string() } else { kinds.join(", ") },
        if f.evidence.is_empty() { "no evidence" } else { &f.evidence },
        if f.older_runs > 0 {
            format!(
                "; {} of an older runbook, counted for the steps still the same ({})",
                f.older_runs,
                f.steps_from_older.join(", ")
            )
        } else {
            String::new()
        }
    ));
    match (f.duration_p50_ms, f.duration_p90_ms) {
        (Some(p50), Some(p90)) => out.push_str(&format!(
            "Whole run to the milestone: p50 {}, p90 {} ({} runs)\n",
            human_ms(p50),
            human_ms(p90),
            f.duration_n
        )),
        _ => out.push_str("Whole run to the milestone: not enough runs of this runbook\n"),
    }
    match f.p_meet_rto {
        Some(p) => out.push_str(&format!("Chance of meeting the RTO: {:.0}%\n", p * 100.0)),
        None => out.push_str("Chance of meeting the RTO: not enough runs\n"),
    }
    out.push('\n');
    let mut rows = vec![["STEP", "N", "P50", "P90", "MACHINE", "PEOPLE", "CLOUD"].map(String::from).to_vec()];
    for s in &f.steps {
        rows.push(vec![
            crate::printable::line(&s.id).into_owned(),
            s.n.to_string(),
            ms(s.p50_ms),
            ms(s.p90_ms),
            ms(s.machine_p50_ms),
            ms(s.people_p50_ms),
            ms(s.cloud_p50_ms),
        ]);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for r in &rows {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    for n in &f.notes {
        out.push_str(&format!("\nnote: {n}"));
    }
    if !f.notes.is_empty() {
        out.push('\n');
    }
    if !f.excluded.is_empty() {
        out.push_str("\nNot counted:\n");
        for e in &f.excluded {
            out.push_str(&format!(
                "  {}: {}\n",
                crate::printable::line(&e.path.display().to_string()),
                crate::printable::line(&e.why)
            ));
        }
    }
    out
}

/// The same figures in Prometheus's text format, for people who graph RTO trends.
pub fn prometheus(f: &Forecast) -> String {
    let rb = f.runbook.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, rows: Vec<(String, f64)>| {
        out.push_str(&format!("# HELP lifeboat_forecast_{name} {help}\n# TYPE lifeboat_forecast_{name} gauge\n"));
        for (labels, v) in rows {
            out.push_str(&format!("lifeboat_forecast_{name}{{runbook=\"{rb}\"{labels}}} {v}\n"));
        }
    };
    let secs = |v: u64| v as f64 / 1000.0;
    metric("runs", "Trusted runs the forecast counts.", vec![(String::new(), f.runs as f64)]);
    metric("rto_seconds", "The runbook's RTO.", vec![(String::new(), secs(f.rto_ms))]);
    if let Some(p) = f.p_meet_rto {
        metric(
            "p_meet_rto",
            "Share of simulated runs reaching the milestone within the RTO.",
            vec![(String::new(), p)],
        );
    }
    let whole: Vec<(String, f64)> = [("0.5", f.duration_p50_ms), ("0.9", f.duration_p90_ms)]
        .into_iter()
        .filter_map(|(q, v)| v.map(|v| (format!(",quantile=\"{q}\""), secs(v))))
        .collect();
    if !whole.is_empty() {
        metric("duration_seconds", "Time from the first step to the milestone.", whole);
    }
    let steps: Vec<(String, f64)> = f
        .steps
        .iter()
        .flat_map(|s| {
            let id = s.id.replace('\\', "\\\\").replace('"', "\\\"");
            [("0.5", s.p50_ms), ("0.9", s.p90_ms)]
                .into_iter()
                .filter_map(move |(q, v)| v.map(|v| (format!(",step=\"{id}\",quantile=\"{q}\""), secs(v))))
        })
        .collect();
    if !steps.is_empty() {
        metric("step_duration_seconds", "Each step's time.", steps);
    }
    out
}
