//! Reading an activity's failure for people.

/// What an activity's failure says, its causes included (`Activity task failed:
/// Google refused the service account (invalid_grant): Invalid JWT Signature.`).
pub fn why(e: &temporalio_sdk::ActivityExecutionError) -> String {
    let mut parts = Vec::new();
    let mut failure = e.failure();
    while let Some(f) = failure {
        if !f.message.is_empty() {
            parts.push(f.message.clone());
        }
        failure = f.cause.as_deref();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}
