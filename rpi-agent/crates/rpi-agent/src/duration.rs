//! Durations as people write them ("100us", "1.5ms"): the agent's config
//! and flags and rtt-bind's budgets read them alike.

/// Why a text is not a duration, said so that it can be fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("unknown unit `{unit}` in duration `{text}` (use ns, us, ms or s)")]
    Unit { text: String, unit: String },
    #[error("`{0}` is not a duration (examples: 250ns, 100us, 1.5ms, 2s; a bare number is ns)")]
    NotANumber(String),
}

/// "100us" -> 100_000. Units: ns us ms s; a bare number is ns.
pub fn parse_duration_ns(s: &str) -> Result<u64, DurationError> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    // The number first: "fast" is not a duration, "3h" has a wrong unit.
    let v: f64 = num.parse().map_err(|_| DurationError::NotANumber(s.into()))?;
    let mult: f64 = match unit.trim() {
        "" | "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        u => {
            return Err(DurationError::Unit {
                text: s.into(),
                unit: u.into(),
            })
        }
    };
    Ok((v * mult).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("100us"), Ok(100_000));
        assert_eq!(parse_duration_ns("1.5ms"), Ok(1_500_000));
        assert_eq!(parse_duration_ns("2s"), Ok(2_000_000_000));
        assert_eq!(parse_duration_ns("250"), Ok(250));
        assert_eq!(parse_duration_ns(" 3 µs "), Ok(3_000));
        assert!(matches!(parse_duration_ns("fast"), Err(DurationError::NotANumber(_))));
        assert!(matches!(parse_duration_ns("3h"), Err(DurationError::Unit { .. })));
    }
}
