//! Operations (action days): parsing what people type, and the analytics' view of one.

use chrono::{Duration, NaiveDate};
use takedown_model::Timestamp;
use takedown_store::{Infrastructure, InfrastructureKind, OperationRecord};

use crate::ImpactError;

/// Parses a time given on the command line or in a request: a date (`2018-04-25`, the start of
/// that day, or with `end_of_day` its last second, so `--end 2018-04-26` includes the 26th) or
/// any time the release-log reader accepts (RFC 3339, `YYYY-MM-DD HH:MM[:SS]` in UTC).
pub fn parse_time(text: &str, end_of_day: bool) -> Result<Timestamp, ImpactError> {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
        return Ok(if end_of_day {
            start + Duration::days(1) - Duration::seconds(1)
        } else {
            start
        });
    }
    takedown_exchange::releases::parse_time(text).map_err(ImpactError::Invalid)
}

/// Parses the end of a period given as a bound people write: a bare date includes that whole
/// day (the period ends at the next midnight, exclusive); a time is taken as it is.
pub fn parse_period_end(text: &str) -> Result<Timestamp, ImpactError> {
    if NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").is_ok() {
        Ok(parse_time(text, false)? + Duration::days(1))
    } else {
        parse_time(text, false)
    }
}

/// Parses `kind:value` (`domain:example.org`, `channel:msg:amaq-ar`, `server:...`) into an
/// infrastructure item; without a known kind prefix the whole text is `other`.
pub fn parse_infrastructure(text: &str) -> Result<Infrastructure, ImpactError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ImpactError::Invalid("empty infrastructure item".into()));
    }
    if let Some((kind, value)) = text.split_once(':') {
        if let Ok(kind) = kind.parse::<InfrastructureKind>() {
            return Ok(Infrastructure {
                kind,
                value: value.trim().to_string(),
            });
        }
    }
    Ok(Infrastructure {
        kind: InfrastructureKind::Other,
        value: text.to_string(),
    })
}

/// The analytics' view of a stored operation.
pub fn for_analysis(op: &OperationRecord) -> takedown_analytics::Operation {
    takedown_analytics::Operation {
        name: op.name.clone(),
        start: op.starts_at,
        end: op.ends_at,
        targets: op.targets.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_cover_whole_days_and_times_pass_through() {
        let start = parse_time("2018-04-25", false).expect("date");
        let end = parse_time("2018-04-26", true).expect("date");
        assert_eq!(start.to_rfc3339(), "2018-04-25T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2018-04-26T23:59:59+00:00");
        let t = parse_time("2018-04-25T06:30:00+02:00", true).expect("time");
        assert_eq!(t.to_rfc3339(), "2018-04-25T04:30:00+00:00");
        assert!(parse_time("next week", false).is_err());
        let end = parse_period_end("2018-04-30").expect("date");
        assert_eq!(end.to_rfc3339(), "2018-05-01T00:00:00+00:00");
        let end = parse_period_end("2018-04-30T12:00:00Z").expect("time");
        assert_eq!(end.to_rfc3339(), "2018-04-30T12:00:00+00:00");
    }

    #[test]
    fn infrastructure_kinds() {
        let d = parse_infrastructure("domain:example.org").expect("ok");
        assert_eq!(d.kind, InfrastructureKind::Domain);
        assert_eq!(d.value, "example.org");
        let c = parse_infrastructure("channel:msg:amaq-ar").expect("ok");
        assert_eq!(
            (c.kind, c.value.as_str()),
            (InfrastructureKind::Channel, "msg:amaq-ar")
        );
        let o = parse_infrastructure("bulletproof host in NL").expect("ok");
        assert_eq!(o.kind, InfrastructureKind::Other);
    }
}
