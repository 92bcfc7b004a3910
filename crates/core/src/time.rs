//! Timestamps: RFC 3339 in UTC, the only time representation Bridle stores or exchanges.

use chrono::{DateTime, SecondsFormat, Utc};

/// A point in time, always UTC.
pub type Timestamp = DateTime<Utc>;

/// Parses an RFC 3339 timestamp whose offset is UTC (`Z` or `+00:00`).
///
/// Other offsets are refused rather than converted: the estate format stores UTC, and a silent
/// conversion would make an exported file differ from the one that was imported.
pub fn parse_utc(text: &str) -> Result<Timestamp, String> {
    let parsed = DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("`{text}` is not an RFC 3339 timestamp ({e})"))?;
    if parsed.offset().local_minus_utc() != 0 {
        return Err(format!(
            "`{text}` is not in UTC: write it with a `Z` offset"
        ));
    }
    Ok(parsed.with_timezone(&Utc))
}

/// Formats a timestamp the one way Bridle writes times: RFC 3339, `Z`, fractional seconds only
/// when present.
pub fn format_utc(time: &Timestamp) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_whole_and_fractional_seconds() {
        for text in ["2026-01-05T10:00:00Z", "2026-01-05T10:00:00.250Z"] {
            assert_eq!(format_utc(&parse_utc(text).unwrap()), text);
        }
        assert_eq!(
            format_utc(&parse_utc("2026-01-05T10:00:00+00:00").unwrap()),
            "2026-01-05T10:00:00Z"
        );
    }

    #[test]
    fn refuses_offsets_and_nonsense() {
        assert!(
            parse_utc("2026-01-05T10:00:00+02:00")
                .unwrap_err()
                .contains("not in UTC")
        );
        assert!(parse_utc("2026-13-01T00:00:00Z").is_err());
        assert!(parse_utc("yesterday").is_err());
    }
}
