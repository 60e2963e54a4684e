//! Calendar v3: a visit's event, inserted under an id derived from the visit and
//! patched after.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{GoogleClient, GoogleError, encode};

/// An event of a visit, as Calendar's API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEvent {
    pub summary: String,
    pub description: String,
    pub location: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `confirmed` or `cancelled`.
    pub status: String,
}

impl CalendarEvent {
    fn body(&self) -> Value {
        let time = |at: DateTime<Utc>| {
            json!({
                "dateTime": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "timeZone": domain::time::ZONE,
            })
        };
        json!({
            "summary": self.summary,
            "description": self.description,
            "location": self.location,
            "start": time(self.start),
            "end": time(self.end),
            "status": self.status,
        })
    }
}

impl GoogleClient {
    fn event_url(&self, calendar: &str, event: Option<&str>) -> String {
        let base = self.settings.calendar_base.trim_end_matches('/');
        let calendar = encode(calendar);
        match event {
            Some(event) => format!("{base}/calendars/{calendar}/events/{}", encode(event)),
            None => format!("{base}/calendars/{calendar}/events"),
        }
    }
}

/// What AMAR needs of a calendar: a visit's event under an id of ours, inserted once and
/// patched after. Google Calendar is the one in use.
pub trait Calendar: Send + Sync {
    /// Inserts the event with the id the caller chose ([`GoogleError::Duplicate`] when
    /// it exists); no attendees (a service account may not invite anyone).
    fn insert_event(
        &self,
        calendar: &str,
        id: &str,
        event: &CalendarEvent,
    ) -> impl std::future::Future<Output = Result<(), GoogleError>> + Send;
    /// Makes the event say what `event` says.
    fn patch_event(
        &self,
        calendar: &str,
        id: &str,
        event: &CalendarEvent,
    ) -> impl std::future::Future<Output = Result<(), GoogleError>> + Send;
}

impl Calendar for GoogleClient {
    async fn insert_event(
        &self,
        calendar: &str,
        id: &str,
        event: &CalendarEvent,
    ) -> Result<(), GoogleError> {
        let mut body = event.body();
        body["id"] = json!(id);
        self.api(
            reqwest::Method::POST,
            &self.event_url(calendar, None),
            Some(&body),
            true,
        )
        .await
        .map(drop)
    }

    async fn patch_event(
        &self,
        calendar: &str,
        id: &str,
        event: &CalendarEvent,
    ) -> Result<(), GoogleError> {
        self.api(
            reqwest::Method::PATCH,
            &self.event_url(calendar, Some(id)),
            Some(&event.body()),
            true,
        )
        .await
        .map(drop)
    }
}

/// The event id of a visit: its UUID in base32hex (`[0-9a-v]`, 26 characters), which
/// Calendar accepts as a client-chosen id; the same visit, the same event.
pub fn event_id(visit: uuid::Uuid) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let value = visit.as_u128();
    // 128 bits in 5-bit digits: 26 of them, the last 3 bits padded.
    (0..26)
        .map(|i| {
            let shift = 128i32 - 5 * (i + 1);
            let digit = if shift >= 0 {
                (value >> shift) & 0x1f
            } else {
                (value << -shift) & 0x1f
            };
            ALPHABET[digit as usize] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visits_event_id_is_base32hex_and_stable() {
        let visit = uuid::Uuid::parse_str("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").expect("uuid");
        let id = event_id(visit);
        assert_eq!(id.len(), 26);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b)),
            "{id}"
        );
        assert_eq!(id, event_id(visit));
        assert_ne!(id, event_id(uuid::Uuid::nil()));
        assert_eq!(event_id(uuid::Uuid::nil()), "0".repeat(26));
        assert_eq!(event_id(uuid::Uuid::max()), format!("{}s", "v".repeat(25)));
    }
}
