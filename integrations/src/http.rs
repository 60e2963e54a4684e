//! The retry loop the provider clients share: send, and on a network error or a status
//! worth retrying (429, 5xx, and whatever else the provider says), back off and try
//! again, up to a number of attempts. A client whose POSTs are not idempotent at the
//! provider (Mercately) says which network errors are safe to resend (the request never
//! left); any other ends the call as [`Outcome::Uncertain`].

use std::time::Duration;

/// How a call ended.
pub enum Outcome {
    /// The provider answered with a status not worth retrying (success or refusal).
    Answered {
        status: reqwest::StatusCode,
        body: String,
    },
    /// Every attempt failed on the network or with a retryable status; the last one.
    GaveUp { attempts: u32, last: String },
    /// The request may have reached the provider, which did not answer (a timeout or a
    /// dropped connection after sending), and resending is not safe.
    Uncertain { last: String },
}

/// When to try again.
pub struct Retry<S, N> {
    /// Tries in all, at least one.
    pub attempts: u32,
    /// An answered status worth another try.
    pub status: S,
    /// A network error after which resending is safe.
    pub network: N,
}

/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100 << attempt.min(6)).min(MAX_BACKOFF)
}

/// The longest a call with `attempts` tries of at most `per_try` each can take, backoff
/// included: what an activity's attempt must leave room for.
pub fn worst_case(attempts: u32, per_try: Duration) -> Duration {
    (2..=attempts.max(1)).map(backoff).sum::<Duration>() + per_try * attempts.max(1)
}

/// Sends `build()` up to `retry.attempts` times: 200 ms, 400 ms, 800 ms … (at most 5 s)
/// between tries.
pub async fn send_with_retries<S, N>(
    retry: Retry<S, N>,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Outcome
where
    S: Fn(reqwest::StatusCode) -> bool,
    N: Fn(&reqwest::Error) -> bool,
{
    let attempts = retry.attempts.max(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        let response = match build().send().await {
            Ok(response) => response,
            Err(e) if (retry.network)(&e) => {
                last = format!("network: {e}");
                continue;
            }
            Err(e) => {
                return Outcome::Uncertain {
                    last: format!("network: {e}"),
                };
            }
        };
        let status = response.status();
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) if (retry.network)(&e) => {
                last = format!("network: {e}");
                continue;
            }
            Err(e) => {
                return Outcome::Uncertain {
                    last: format!("{status}, then network: {e}"),
                };
            }
        };
        if (retry.status)(status) {
            last = format!("{status}: {}", summary(&body));
            continue;
        }
        return Outcome::Answered { status, body };
    }
    Outcome::GaveUp { attempts, last }
}

/// What a provider's answer says, fit for a log line, a staff alert or a Temporal
/// failure: its `message` (or `error`) when it is JSON, at most 200 characters; never
/// the body itself, which may carry a payer's or an owner's data.
pub fn summary(body: &str) -> String {
    let said = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            ["message", "error"]
                .iter()
                .find_map(|k| v[*k].as_str().map(str::to_owned))
        });
    match said {
        Some(message) if message.chars().count() > 200 => {
            format!("{}…", message.chars().take(200).collect::<String>())
        }
        Some(message) => message,
        None => format!("an answer of {} bytes without a message", body.len()),
    }
}

/// 429 and 5xx: the provider is busy or broken for now.
pub fn busy(status: reqwest::StatusCode) -> bool {
    status.as_u16() == 429 || status.is_server_error()
}

/// Any network error: for calls the provider deduplicates (an idempotency key) or that
/// change nothing.
pub fn any_network_error(_: &reqwest::Error) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_says_the_message_and_never_the_body() {
        let refusal = r#"{"message":"invalid payer","payer":{"email":"ana@example.com"}}"#;
        assert_eq!(summary(refusal), "invalid payer");
        let payment = r#"{"id":1,"payer":{"email":"ana@example.com","identification":{"number":"20123456789"}}}"#;
        let said = summary(payment);
        assert!(
            !said.contains("ana@example.com") && !said.contains("2012345"),
            "{said}"
        );
        assert_eq!(
            summary("<html>Bad gateway</html>"),
            "an answer of 24 bytes without a message"
        );
        assert_eq!(
            summary(&format!(r#"{{"error":"{}"}}"#, "x".repeat(300)))
                .chars()
                .count(),
            201
        );
    }

    #[test]
    fn the_worst_case_adds_every_try_and_every_backoff() {
        let one = Duration::from_secs(10);
        assert_eq!(worst_case(1, one), one);
        // 4 tries: 400 ms + 800 ms + 1.6 s between them.
        assert_eq!(worst_case(4, one), one * 4 + Duration::from_millis(2800));
    }
}
