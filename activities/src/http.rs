//! The retry loop the provider clients share: send, and on a network error or a status
//! worth retrying (429, 5xx, and whatever else the provider says), back off and try
//! again, up to a number of attempts.

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
}

/// Sends `build()` up to `attempts` times: 200 ms, 400 ms, 800 ms … (at most 5 s)
/// between tries. `retryable` says which answered statuses deserve another try.
pub async fn send_with_retries(
    attempts: u32,
    build: impl Fn() -> reqwest::RequestBuilder,
    retryable: impl Fn(reqwest::StatusCode) -> bool,
) -> Outcome {
    let attempts = attempts.max(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            let backoff = Duration::from_millis(100 << attempt.min(6)).min(Duration::from_secs(5));
            tokio::time::sleep(backoff).await;
        }
        let response = match build().send().await {
            Ok(response) => response,
            Err(e) => {
                last = format!("network: {e}");
                continue;
            }
        };
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if retryable(status) {
            last = format!("{status}: {body}");
            continue;
        }
        return Outcome::Answered { status, body };
    }
    Outcome::GaveUp { attempts, last }
}

/// 429 and 5xx: the provider is busy or broken for now.
pub fn busy(status: reqwest::StatusCode) -> bool {
    status.as_u16() == 429 || status.is_server_error()
}
