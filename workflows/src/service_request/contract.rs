//! What the outside world sees of a service request's workflow: its input, the payloads
//! of its updates and signals, what they answer, and the status it reports. These types
//! reach Temporal's history: they are wire types, changed only by adding fields with
//! defaults.

use chrono::{DateTime, Utc};
use domain::{Actor, DispatchPolicy, RequestId, RequestState, VetAnswer, VetId};
use serde::{Deserialize, Serialize};

/// How a request finds its vet. FROZEN wire type: saved histories hold it; variants are
/// only added, never renamed or removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispatchMode {
    /// Created by staff without address or window: staff record which vet answered.
    /// (Inputs from before dispatch existed read as this.)
    #[default]
    Staff,
    /// Checked out by an owner: offered to the candidate vets on WhatsApp.
    Candidates,
}

/// What checkout (or the staff create endpoint) hands the workflow. FROZEN wire type:
/// saved histories hold it; fields are only added, with a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRequestInput {
    pub request: RequestId,
    pub description: String,
    pub policy: DispatchPolicy,
    #[serde(default)]
    pub mode: DispatchMode,
    /// Where the request stands, when a run continued as new into this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried: Option<Carried>,
}

impl ServiceRequestInput {
    /// A new request's input: nothing carried.
    pub fn new(
        request: RequestId,
        description: String,
        policy: DispatchPolicy,
        mode: DispatchMode,
    ) -> Self {
        Self {
            request,
            description,
            policy,
            mode,
            carried: None,
        }
    }
}

/// What a run hands the next when it continues as new (after a reassignment: the
/// request is back in dispatch, with no vet and no visit; or between two batches of a
/// long dispatch). FROZEN wire type: fields are only added, with a serde default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carried {
    pub state: RequestState,
    /// The last state-history sequence number written.
    pub seq: i32,
    /// Every offer made so far: a late answer to one of them is told it expired, and new
    /// offers are numbered after them.
    pub offers: Vec<Offer>,
    /// Vets never to be asked again.
    pub excluded: Vec<VetId>,
    /// Payment news not yet looked at.
    pub payment_events: Vec<i64>,
    /// The last payment link made (a payment through it is refunded at the end).
    pub payment_link: Option<String>,
    pub refunded: Vec<i64>,
    /// A cancellation that arrived as the run ended.
    pub cancel: Option<Cancel>,
    /// Answers taken but not yet written to PostgreSQL (offer, answer, when).
    #[serde(default)]
    pub unrecorded: Vec<(i32, VetAnswer, DateTime<Utc>)>,
    /// Runs before this one.
    pub runs: u32,
    /// The vets already asked in the dispatch this run carries on (a long dispatch
    /// continues as new between batches): not asked again in it.
    #[serde(default)]
    pub asked: Vec<VetId>,
}

/// A vet's answer, sent as the `vet_response` update.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VetResponse {
    pub answer: VetAnswer,
    /// The vet answering (required for dispatched requests).
    #[serde(default)]
    pub vet: Option<VetId>,
    /// The offer answered (from a link); absent from the vet's API: their latest offer.
    #[serde(default)]
    pub offer_no: Option<i32>,
    /// Sent by the vet (a link, their API), not recorded by staff.
    #[serde(default)]
    pub by_vet: bool,
}

/// What the caller of `vet_response` learns at once.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VetResponseOutcome {
    Accepted,
    Rejected,
    /// Another vet accepted first.
    Taken,
    /// The offer closed unanswered (no answer in time, or the request moved on).
    Expired,
    /// This offer was answered already (a link works once).
    AlreadyAnswered,
    /// No such offer was made to this vet.
    NotYours,
}

/// The `coordinate` update: the visit's exact start.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coordinate {
    pub start: DateTime<Utc>,
    /// The accepted vet or staff.
    pub actor: Actor,
}

/// What the `coordinate` update answers.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CoordinateOutcome {
    Coordinated {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// The vet already has a visit overlapping that time; nothing changed.
    Overlap,
}

/// The `reassign` update: staff send the request back to dispatch.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassign {
    pub actor: Actor,
    pub reason: String,
}

/// The `cancel` update: the owner (before payment) or staff call the request off.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel {
    pub actor: Actor,
    pub reason: Option<String>,
}

/// The `no_show` update: the vet came (or staff know) and the owner was not there.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoShow {
    pub actor: Actor,
    pub reason: String,
}

/// One offer as the workflow sees it.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub offer_no: i32,
    pub vet: VetId,
    pub status: OfferStatus,
}

/// Where an offer stands.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Open,
    Accepted,
    Rejected,
    /// Closed unanswered.
    Closed,
}

/// The wanted window and the visit's length.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub duration_minutes: i32,
}

/// The live view answered by the `status` query, and the workflow's result.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestStatus {
    pub request: RequestId,
    pub state: RequestState,
    /// seq of the last state change; matches `state_seq` in PostgreSQL once recorded.
    pub seq: i32,
    /// Follow-ups sent for the offers now open (the staff path: for its one offer).
    pub followups_sent: u32,
    /// Whether a vet's answer is being waited for.
    pub awaiting_vet: bool,
    pub vet: Option<VetId>,
    /// Every offer made, in order.
    #[serde(default)]
    pub offers: Vec<Offer>,
    /// The coordinated visit.
    #[serde(default)]
    pub scheduled: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Where the owner pays.
    #[serde(default)]
    pub payment_link: Option<String>,
    /// The confirmed visit's time has come (by the workflow's clock): its report may be
    /// filed, the owner marked absent.
    #[serde(default)]
    pub visit_started: bool,
}

/// Why an update was refused, as the validators say it and the API reads it. Its text
/// is what reaches the history (`field: message` for a field, `vet: message` for a
/// caller not allowed), so it stays byte-identical to what saved histories hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not this caller's to do (the API answers 403).
    NotAllowed(String),
    /// A field of the input is wrong (422 naming the field).
    Invalid { field: String, message: String },
    /// The request is not in a state for it (409).
    State(String),
    /// The offer answered is not open any more (409 `offer-taken`, `offer-expired`,
    /// `offer-answered`): [`VetResponseOutcome::Taken`], `Expired` or `AlreadyAnswered`.
    OfferClosed(VetResponseOutcome),
}

impl Refusal {
    /// The fields a refusal may name.
    pub const FIELDS: [&'static str; 3] = ["start", "reason", "vet_id"];

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The refusal of an answer that would come to `outcome`.
    pub fn of_answer(outcome: VetResponseOutcome) -> Self {
        match outcome {
            VetResponseOutcome::NotYours => Self::NotAllowed("this offer is not yours".into()),
            other => Self::OfferClosed(other),
        }
    }

    /// A refusal's text read back (by the API, from the update's failure).
    pub fn parse(text: &str) -> Self {
        match text.split_once(": ") {
            Some(("vet", message)) => Self::NotAllowed(message.to_owned()),
            Some(("offer", "taken")) => Self::OfferClosed(VetResponseOutcome::Taken),
            Some(("offer", "expired")) => Self::OfferClosed(VetResponseOutcome::Expired),
            Some(("offer", "answered")) => Self::OfferClosed(VetResponseOutcome::AlreadyAnswered),
            Some((field, message)) if Self::FIELDS.contains(&field) => {
                Self::invalid(field, message)
            }
            _ => Self::State(text.to_owned()),
        }
    }

    /// The request is changing (an update in flight): the caller may try again.
    pub fn busy() -> Self {
        Self::State("the request is changing; try again".to_owned())
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAllowed(message) => write!(f, "vet: {message}"),
            Self::Invalid { field, message } => write!(f, "{field}: {message}"),
            Self::State(message) => f.write_str(message),
            Self::OfferClosed(outcome) => match outcome {
                VetResponseOutcome::Taken => f.write_str("offer: taken"),
                VetResponseOutcome::Expired => f.write_str("offer: expired"),
                _ => f.write_str("offer: answered"),
            },
        }
    }
}

impl std::error::Error for Refusal {}

/// A validator's refusal as it travels to the API: the [`Refusal`] and the state-history
/// sequence number the workflow was at when it refused. A workflow runs its steps as
/// local activities, which write the request's rows before the workflow task that ran
/// them is in the history; after a worker dies in between, the next worker is a few
/// seconds behind those rows. A refusal from a workflow behind what PostgreSQL shows is
/// one to try again, not an answer. Validators' refusals never reach the history, so
/// the suffix is free to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub refusal: Refusal,
    pub seq: i32,
}

impl Refused {
    const AT: &'static str = " [at state seq ";

    /// A refusal's text read back: the refusal, and the sequence number when a validator
    /// sent it (a handler's refusal has none).
    pub fn parse(text: &str) -> (Refusal, Option<i32>) {
        if let Some((refusal, rest)) = text.rsplit_once(Self::AT)
            && let Some(Ok(seq)) = rest.strip_suffix(']').map(str::parse)
        {
            return (Refusal::parse(refusal), Some(seq));
        }
        (Refusal::parse(text), None)
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{}]", self.refusal, Self::AT, self.seq)
    }
}

impl std::error::Error for Refused {}

/// Update ids derived from what a call means, so that a client's retry of the same call
/// (after a timeout, a worker restart) attaches to the first one and gets its outcome,
/// instead of being a second, refused, update.
pub mod update_ids {
    use chrono::{DateTime, SecondsFormat, Utc};
    use domain::{Actor, RequestId, VetAnswer, VetId};

    /// Setting `start` for `vet`'s visit: the same vet and start is the same call.
    pub fn coordinate(request: RequestId, vet: Option<VetId>, start: DateTime<Utc>) -> String {
        let vet = vet.map_or_else(|| "none".to_owned(), |v| v.to_string());
        let start = start.to_rfc3339_opts(SecondsFormat::Secs, true);
        format!("coordinate:{request}:{vet}:{start}")
    }

    /// A request is cancelled once; by the same caller it is the same call.
    pub fn cancel(request: RequestId, actor: Actor) -> String {
        format!("cancel:{request}:{actor}")
    }

    /// `vet`'s answer to offer `offer_no` (`latest` when the caller did not say which):
    /// the same answer to the same offer is the same call.
    pub fn answer(
        request: RequestId,
        vet: Option<VetId>,
        offer_no: Option<i32>,
        answer: VetAnswer,
    ) -> String {
        let vet = vet.map_or_else(|| "none".to_owned(), |v| v.to_string());
        let offer = offer_no.map_or_else(|| "latest".to_owned(), |n| n.to_string());
        format!("answer:{request}:{vet}:{offer}:{}", answer.as_str())
    }

    /// A visit's owner is marked absent once.
    pub fn no_show(request: RequestId) -> String {
        format!("no-show:{request}")
    }

    /// Taking `vet` off the request: once per vet.
    pub fn reassign(request: RequestId, vet: Option<VetId>) -> String {
        let vet = vet.map_or_else(|| "none".to_owned(), |v| v.to_string());
        format!("reassign:{request}:{vet}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_reads_back_as_itself() {
        let refusals = [
            Refusal::NotAllowed("only the accepted vet or staff set the time".into()),
            Refusal::invalid("start", "must be in the future"),
            Refusal::invalid("reason", "must not be blank"),
            Refusal::State("the request is confirmed, not waiting for a time".into()),
            Refusal::busy(),
            Refusal::OfferClosed(VetResponseOutcome::Taken),
            Refusal::OfferClosed(VetResponseOutcome::Expired),
            Refusal::OfferClosed(VetResponseOutcome::AlreadyAnswered),
            Refusal::of_answer(VetResponseOutcome::NotYours),
        ];
        for refusal in refusals {
            assert_eq!(Refusal::parse(&refusal.to_string()), refusal, "{refusal}");
            let refused = Refused {
                refusal: refusal.clone(),
                seq: 7,
            };
            assert_eq!(
                Refused::parse(&refused.to_string()),
                (refusal.clone(), Some(7)),
                "{refused}"
            );
            assert_eq!(Refused::parse(&refusal.to_string()), (refusal, None));
        }
    }

    #[test]
    fn the_same_answer_to_the_same_offer_is_the_same_update() {
        let request = RequestId::new();
        let vet = Some(VetId::new());
        let accept = update_ids::answer(request, vet, Some(2), VetAnswer::Accept);
        assert_eq!(
            accept,
            update_ids::answer(request, vet, Some(2), VetAnswer::Accept)
        );
        assert_ne!(
            accept,
            update_ids::answer(request, vet, Some(2), VetAnswer::Reject)
        );
        assert_ne!(
            accept,
            update_ids::answer(request, vet, Some(3), VetAnswer::Accept)
        );
    }
}
