//! `GET /api/v1/health`, answered by the host as Dagu answers it (`HealthResponse`): open to
//! everyone, `status` always `healthy` while the server answers at all.

use std::fmt::Display;
use std::time::{Duration, Instant};

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Local, SecondsFormat, TimeZone};
use serde_json::{Value, json};

/// The answer for a server that began serving at `started`.
pub async fn answer(started: Instant) -> Response {
    Json(body(started.elapsed(), Local::now())).into_response()
}

/// `uptime` in whole seconds; `timestamp` in the server's time zone without fractions, as Dagu
/// writes it (`Z` when that zone is UTC).
fn body<Tz: TimeZone>(uptime: Duration, now: DateTime<Tz>) -> Value
where
    Tz::Offset: Display,
{
    json!({
        "status": "healthy",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime": uptime.as_secs(),
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    #[test]
    fn uptime_counts_whole_seconds_and_the_time_has_no_fraction() {
        let now = Utc
            .with_ymd_and_hms(2026, 8, 22, 8, 55, 24)
            .single()
            .expect("a valid time")
            + chrono::Duration::milliseconds(987);
        assert_eq!(
            body(Duration::from_millis(3_600_999), now),
            json!({
                "status": "healthy",
                "version": env!("CARGO_PKG_VERSION"),
                "uptime": 3600,
                "timestamp": "2026-08-22T08:55:24Z",
            })
        );
    }

    #[test]
    fn the_time_is_written_in_the_servers_zone() {
        let tokyo = FixedOffset::east_opt(9 * 3600).expect("a valid offset");
        let now = tokyo
            .with_ymd_and_hms(2026, 8, 22, 17, 55, 24)
            .single()
            .expect("a valid time");
        assert_eq!(
            body(Duration::ZERO, now)["timestamp"],
            "2026-08-22T17:55:24+09:00"
        );
    }
}
