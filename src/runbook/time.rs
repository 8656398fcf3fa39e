//! Durations and timestamps as the runbook format allows them, and nothing else.

use std::fmt;

/// A whole number of seconds written as `90s`, `15m`, `2h`, `1h30m` or `3d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub u64);

const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

impl Duration {
    pub fn secs(self) -> u64 {
        self.0
    }

    pub fn parse(text: &str) -> Result<Duration, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("a duration is a number and a unit, like `15m`".into());
        }
        let mut total: u64 = 0;
        let mut rest = t;
        let mut next_unit = 0; // units must come in order d, h, m, s, each once
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            if digits == 0 {
                return Err(hint(t));
            }
            let n: u64 = rest[..digits].parse().map_err(|_| "the number is too large".to_string())?;
            let unit = rest[digits..]
                .chars()
                .next()
                .ok_or_else(|| format!("`{t}` has no unit: write `{t}s`, `{t}m` or `{t}h`"))?;
            let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
                return Err(hint(t));
            };
            if pos < next_unit {
                return Err("units go from largest to smallest, each once, like `1h30m`".into());
            }
            next_unit = pos + 1;
            total =
                n.checked_mul(UNITS[pos].1).and_then(|v| total.checked_add(v)).ok_or("the duration is too large")?;
            rest = &rest[digits + unit.len_utf8()..];
        }
        if total > MAX_SECS {
            return Err(format!("`{t}` is longer than 100 years: no plan needs it (and sums of such would wrap)"));
        }
        Ok(Duration(total))
    }
}

/// The longest duration a runbook may give: 100 years. In milliseconds it fits a `u64`
/// a million times over, so budgets, RTOs and their sums can never wrap around.
pub const MAX_SECS: u64 = 100 * 365 * 86_400;

fn hint(t: &str) -> String {
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit: String = t[digits.len()..].chars().take_while(|c| c.is_alphabetic()).collect::<String>().to_lowercase();
    let fix = match unit.as_str() {
        "sec" | "secs" | "second" | "seconds" => Some('s'),
        "min" | "mins" | "minute" | "minutes" => Some('m'),
        "hr" | "hrs" | "hour" | "hours" => Some('h'),
        "day" | "days" => Some('d'),
        _ => None,
    };
    match (digits.is_empty(), fix) {
        (false, Some(u)) => {
            format!("write `{digits}{u}`: durations are like `90s`, `15m`, `2h`, `1h30m`, `3d`")
        }
        _ => "durations are like `90s`, `15m`, `2h`, `1h30m`, `3d`".into(),
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, size) in UNITS {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

/// An RFC 3339 instant; the offset is required so "03:00" is never ambiguous at 3 a.m.
pub type Timestamp = jiff::Timestamp;

pub fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    let b = t.as_bytes();
    // Seconds may be left out (`2026-12-07T16:30Z`, as people write a time); the zone may
    // not: a time without one means a different instant on every operator's laptop.
    let minutes_only = b.len() >= 16 && b[13] == b':' && b.get(16) != Some(&b':');
    let t: std::borrow::Cow<str> = if minutes_only { format!("{}:00{}", &t[..16], &t[16..]).into() } else { t.into() };
    let t = t.as_ref();
    let b = t.as_bytes();
    // jiff also accepts forms RFC 3339 does not; hold the format to the contract.
    let shaped = t.len() >= 19 && b[4] == b'-' && b[10].eq_ignore_ascii_case(&b'T');
    let has_offset =
        t.len() >= 20 && (t.ends_with(['Z', 'z']) || (b.len() >= 6 && matches!(b[b.len() - 6], b'+' | b'-')));
    if shaped && !has_offset {
        return Err(format!(
            "`{}` has no zone: write it in UTC as `{}Z` (or with an offset, `+01:00`)",
            text.trim(),
            text.trim()
        ));
    }
    if !shaped {
        return Err(
            "timestamps are RFC 3339 with a zone, like `2026-11-24T03:00Z` or `2026-11-24T03:00:00+01:00`".into()
        );
    }
    t.parse::<Timestamp>().map_err(|e| format!("not a valid RFC 3339 time ({e}); like `2026-11-24T03:00:00Z`"))
}

/// Times on screen are UTC, to the second.
pub fn format_timestamp(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Times in evidence are UTC to the millisecond, so events of one second stay ordered.
pub fn format_timestamp_ms(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 30 (5): seconds may be left out; the zone may not, and the error shows the
    /// value as it should be written.
    #[test]
    fn times_without_seconds_are_taken_times_without_a_zone_are_not() {
        let whole = parse_timestamp("2026-12-07T16:30:00Z").unwrap();
        assert_eq!(parse_timestamp("2026-12-07T16:30Z"), Ok(whole));
        assert_eq!(parse_timestamp("2026-12-07T17:30+01:00"), Ok(whole));
        let e = parse_timestamp("2026-12-07T16:30").unwrap_err();
        assert!(e.contains("`2026-12-07T16:30Z`"), "{e}");
        assert!(parse_timestamp("2026-12-07T16:30:00").unwrap_err().contains("`2026-12-07T16:30:00Z`"));
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("2026-12-07").is_err());
    }

    #[test]
    fn durations_of_the_contract() {
        for (text, secs) in [("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("3d", 259_200)] {
            assert_eq!(Duration::parse(text), Ok(Duration(secs)), "{text}");
            assert_eq!(Duration(secs).to_string(), if text == "90s" { "1m30s" } else { text });
        }
    }

    #[test]
    fn durations_outside_the_contract() {
        assert!(Duration::parse("15min").unwrap_err().contains("`15m`"));
        assert!(Duration::parse("15").unwrap_err().contains("no unit"));
        assert!(Duration::parse("30m1h").unwrap_err().contains("largest"));
        assert!(Duration::parse("1.5h").is_err());
        assert!(Duration::parse("-5m").is_err());
        assert!(Duration::parse("99999999999999999999d").is_err());
        assert!(Duration::parse("").is_err());
    }

    #[test]
    fn timestamps_need_rfc3339_with_offset() {
        let t = parse_timestamp("2026-11-24T03:00:00Z").unwrap();
        assert_eq!(format_timestamp(t), "2026-11-24T03:00:00Z");
        assert!(parse_timestamp("2026-11-24T04:00:00+01:00").is_ok());
        assert!(parse_timestamp("2026-11-24 03:00").is_err());
        assert!(parse_timestamp("2026-11-24T03:00:00").is_err());
        assert!(parse_timestamp("2026-13-24T03:00:00Z").is_err());
        assert!(parse_timestamp("yesterday").is_err());
    }
}
