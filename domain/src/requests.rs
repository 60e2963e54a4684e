//! The service request lifecycle: its states and which moves between them are legal.

use std::{fmt, str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{OwnerId, VetId};

/// Where a service request is in its lifecycle (`docs/DOMAIN.md`, "A request's life").
/// FROZEN wire type (workflow histories, and a PostgreSQL enum): variants are only
/// added, never renamed or removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)
)]
#[cfg_attr(feature = "diesel", diesel(sql_type = crate::requests::sql::RequestState))]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    #[default]
    Pending,
    VetAsked,
    VetAccepted,
    Coordinated,
    Payed,
    Confirmed,
    Completed,
    Cancelled,
    Expired,
    /// The owner was not there when the vet came (marked by the vet or staff).
    NoShow,
}

impl RequestState {
    pub const ALL: [RequestState; 10] = [
        Self::Pending,
        Self::VetAsked,
        Self::VetAccepted,
        Self::Coordinated,
        Self::Payed,
        Self::Confirmed,
        Self::Completed,
        Self::Cancelled,
        Self::Expired,
        Self::NoShow,
    ];

    /// The name used in the API, the database enum and the `RequestState` search attribute.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::VetAsked => "vet_asked",
            Self::VetAccepted => "vet_accepted",
            Self::Coordinated => "coordinated",
            Self::Payed => "payed",
            Self::Confirmed => "confirmed",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::NoShow => "no_show",
        }
    }

    /// No move leaves a terminal state.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Cancelled | Self::Expired | Self::NoShow
        )
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown enum value {0:?}")]
pub struct UnknownValue(pub String);

impl FromStr for RequestState {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a service request cannot move from {from} to {to}")]
pub struct TransitionError {
    pub from: RequestState,
    pub to: RequestState,
}

/// The one place that says which moves are legal.
///
/// `vet_asked → vet_asked` is legal: the offer moves on to the next candidate. Staff may
/// send an accepted or coordinated request back to dispatch (reassign). Staff may cancel
/// up to the visit; owners only before payment, which is an authorization rule, not a
/// lifecycle one.
pub fn check_transition(from: RequestState, to: RequestState) -> Result<(), TransitionError> {
    use RequestState::*;
    let legal = matches!(
        (from, to),
        (Pending, VetAsked)
            | (VetAsked, VetAsked | VetAccepted)
            | (VetAccepted | Coordinated, VetAsked)
            | (VetAccepted, Coordinated)
            | (Coordinated, Payed)
            | (Payed, Confirmed)
            | (Confirmed, Completed | NoShow)
            | (
                Pending | VetAsked | VetAccepted | Coordinated | Payed | Confirmed,
                Cancelled
            )
            | (Pending | VetAsked | VetAccepted | Coordinated, Expired)
    );
    if legal {
        Ok(())
    } else {
        Err(TransitionError { from, to })
    }
}

/// Who caused a state change; stored in the state history as `kind` or `kind:<id>`.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// The workflow itself (timers, dispatch).
    System,
    Owner(OwnerId),
    Vet(VetId),
    /// A staff user, by user id.
    Staff(uuid::Uuid),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("system"),
            Self::Owner(id) => write!(f, "owner:{id}"),
            Self::Vet(id) => write!(f, "vet:{id}"),
            Self::Staff(id) => write!(f, "staff:{id}"),
        }
    }
}

/// One entry of a request's append-only state history. `seq` orders the entries of one
/// request and makes recording them idempotent.
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    pub seq: i32,
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub actor: Actor,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// What the owner asks for, in their words: 1 to 2000 characters, not blank.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DescriptionError {
    #[error("must not be blank")]
    Blank,
    #[error("must be at most {max} characters, got {got}")]
    TooLong { max: usize, got: usize },
}

impl Description {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, DescriptionError> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            Err(DescriptionError::Blank)
        } else if chars > Self::MAX_CHARS {
            Err(DescriptionError::TooLong {
                max: Self::MAX_CHARS,
                got: chars,
            })
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = DescriptionError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Description> for String {
    fn from(d: Description) -> Self {
        d.0
    }
}

/// A vet's answer to an offer.
/// FROZEN wire type (workflow histories, and a PostgreSQL enum): variants are only
/// added, never renamed or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)
)]
#[cfg_attr(feature = "diesel", diesel(sql_type = crate::requests::sql::VetAnswer))]
#[serde(rename_all = "snake_case")]
pub enum VetAnswer {
    Accept,
    Reject,
}

impl VetAnswer {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Reject => "reject",
        }
    }
}

impl FromStr for VetAnswer {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "accept" => Ok(Self::Accept),
            "reject" => Ok(Self::Reject),
            other => Err(UnknownValue(other.to_owned())),
        }
    }
}

/// Delays and counts of dispatch, carried in the workflow input so that tests can use
/// seconds, the time-skipping server days, and production its configured defaults.
///
/// FROZEN wire type: every workflow's input holds it, so a field is only ever added with
/// a serde default that keeps saved histories' behaviour, and a default never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchPolicy {
    /// How long to wait for a vet's answer before re-sending the offer.
    pub vet_followup_delay_secs: u64,
    /// How many times the offer is re-sent before giving up on that vet.
    pub vet_max_followups: u32,
    /// How many vets are asked at once; the first to accept wins. Histories from before
    /// batches existed read as 1.
    #[serde(default = "one")]
    pub offer_batch_size: u32,
    /// How long the owner has to pay once the visit is coordinated.
    #[serde(default = "payment_deadline")]
    pub payment_deadline_secs: u64,
    /// How often the owner is reminded to pay before the deadline (0: never).
    #[serde(default = "payment_reminder")]
    pub payment_reminder_secs: u64,
    /// How long the accepted vet has to set the visit's time before being reminded;
    /// after `coordinate_max_reminders` reminders the request goes back to dispatch.
    #[serde(default = "coordinate_reminder")]
    pub coordinate_reminder_secs: u64,
    #[serde(default = "two")]
    pub coordinate_max_reminders: u32,
    /// How long after the visit's end it counts as done (`completed`).
    #[serde(default = "completion_grace")]
    pub completion_grace_secs: u64,
    /// After the visit's end, how often the vet is reminded to file the report, at
    /// most `report_max_reminders` times.
    #[serde(default = "report_reminder")]
    pub report_reminder_secs: u64,
    #[serde(default = "two")]
    pub report_max_reminders: u32,
    /// After the visit's end, when staff are alerted that no report came.
    #[serde(default = "report_deadline")]
    pub report_deadline_secs: u64,
    /// After the visit's end, when the request is completed without a report (before
    /// the visit's records stop following it, a week after the end).
    #[serde(default = "report_give_up")]
    pub report_give_up_secs: u64,
    /// A no-show (the owner was not there) is refunded in full; otherwise the payment is
    /// kept as the visit's fee.
    #[serde(default)]
    pub no_show_refund: bool,
    /// A dispatch continues as new between two batches once its run's history holds
    /// this many events (0: when Temporal suggests it, by default at 4,096 events), so
    /// that however many vets are asked, no run nears Temporal's limit of 51,200.
    #[serde(default)]
    pub history_events: u32,
}

/// Upper bounds of the policy's counts: history grows with each follow-up or reminder.
pub const MAX_FOLLOWUPS: u32 = 10;
pub const MAX_BATCH_SIZE: u32 = 20;
pub const MAX_COORDINATE_REMINDERS: u32 = 10;
pub const MAX_PAYMENT_REMINDERS: u64 = 10;
/// The range of `history_events` (besides 0): the first batch must fit, and a run
/// stays far from Temporal's limit.
pub const HISTORY_EVENTS: std::ops::RangeInclusive<u32> = 10..=40_000;

/// A policy value out of its range, named by its environment variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}: {reason}")]
pub struct PolicyError {
    pub name: &'static str,
    pub reason: String,
}

const fn payment_deadline() -> u64 {
    24 * 60 * 60
}

const fn payment_reminder() -> u64 {
    6 * 60 * 60
}

const fn one() -> u32 {
    1
}

const fn two() -> u32 {
    2
}

const fn coordinate_reminder() -> u64 {
    4 * 60 * 60
}

const fn completion_grace() -> u64 {
    2 * 60 * 60
}

const fn report_reminder() -> u64 {
    6 * 60 * 60
}

const fn report_deadline() -> u64 {
    2 * 24 * 60 * 60
}

const fn report_give_up() -> u64 {
    5 * 24 * 60 * 60
}

/// The longest a request waits for its report after the visit's end.
pub const MAX_REPORT_WAIT_SECS: u64 = 6 * 24 * 60 * 60;
pub const MAX_REPORT_REMINDERS: u32 = 10;

impl DispatchPolicy {
    pub fn vet_followup_delay(&self) -> Duration {
        Duration::from_secs(self.vet_followup_delay_secs)
    }

    /// Checks every value is in its range (the worker and API refuse to start otherwise);
    /// errors name the environment variable.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let fail = |name, reason: String| Err(PolicyError { name, reason });
        if self.vet_followup_delay_secs == 0 {
            return fail("VET_FOLLOWUP_DELAY_SECS", "must be at least 1".into());
        }
        if self.vet_max_followups > MAX_FOLLOWUPS {
            return fail(
                "VET_MAX_FOLLOWUPS",
                format!("must be at most {MAX_FOLLOWUPS}"),
            );
        }
        if self.offer_batch_size == 0 || self.offer_batch_size > MAX_BATCH_SIZE {
            return fail("OFFER_BATCH_SIZE", format!("must be 1 to {MAX_BATCH_SIZE}"));
        }
        if self.payment_deadline_secs == 0 {
            return fail("PAYMENT_DEADLINE_SECS", "must be at least 1".into());
        }
        if self.payment_reminder_secs != 0
            && (self.payment_reminder_secs < 60
                || self.payment_deadline_secs / self.payment_reminder_secs > MAX_PAYMENT_REMINDERS)
        {
            let reason = format!(
                "must be 0 (never) or at least 60 and PAYMENT_DEADLINE_SECS / {MAX_PAYMENT_REMINDERS}"
            );
            return fail("PAYMENT_REMINDER_SECS", reason);
        }
        if self.coordinate_reminder_secs == 0 {
            return fail("COORDINATE_REMINDER_SECS", "must be at least 1".into());
        }
        if self.coordinate_max_reminders > MAX_COORDINATE_REMINDERS {
            let reason = format!("must be at most {MAX_COORDINATE_REMINDERS}");
            return fail("COORDINATE_MAX_REMINDERS", reason);
        }
        if self.report_reminder_secs == 0 || self.report_reminder_secs > MAX_REPORT_WAIT_SECS {
            let reason = format!("must be 1 to {MAX_REPORT_WAIT_SECS}");
            return fail("REPORT_REMINDER_SECS", reason);
        }
        if self.report_max_reminders > MAX_REPORT_REMINDERS {
            let reason = format!("must be at most {MAX_REPORT_REMINDERS}");
            return fail("REPORT_MAX_REMINDERS", reason);
        }
        if self.report_give_up_secs == 0 || self.report_give_up_secs > MAX_REPORT_WAIT_SECS {
            let reason = format!("must be 1 to {MAX_REPORT_WAIT_SECS}");
            return fail("REPORT_GIVE_UP_SECS", reason);
        }
        if self.report_deadline_secs == 0 || self.report_deadline_secs > self.report_give_up_secs {
            let reason = "must be at least 1 and at most REPORT_GIVE_UP_SECS".into();
            return fail("REPORT_DEADLINE_SECS", reason);
        }
        if self.history_events != 0 && !HISTORY_EVENTS.contains(&self.history_events) {
            let (low, high) = (HISTORY_EVENTS.start(), HISTORY_EVENTS.end());
            let reason = format!("must be 0 (when Temporal suggests it) or {low} to {high}");
            return fail("DISPATCH_HISTORY_EVENTS", reason);
        }
        Ok(())
    }

    /// How long an offer stays open: the first message and every follow-up each get one
    /// delay to be answered.
    pub fn offer_lifetime(&self) -> Duration {
        self.vet_followup_delay()
            .saturating_mul(self.vet_max_followups.saturating_add(1))
    }
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        Self {
            vet_followup_delay_secs: 2 * 60 * 60,
            vet_max_followups: 2,
            offer_batch_size: 1,
            payment_deadline_secs: payment_deadline(),
            payment_reminder_secs: payment_reminder(),
            coordinate_reminder_secs: coordinate_reminder(),
            coordinate_max_reminders: two(),
            completion_grace_secs: completion_grace(),
            report_reminder_secs: report_reminder(),
            report_max_reminders: two(),
            report_deadline_secs: report_deadline(),
            report_give_up_secs: report_give_up(),
            no_show_refund: false,
            history_events: 0,
        }
    }
}

#[cfg(feature = "diesel")]
pub mod sql {
    //! The PostgreSQL enum types behind the lifecycle enums, mapped through their names.
    use diesel::{
        deserialize::{self, FromSql},
        pg::{Pg, PgValue},
        serialize::{self, IsNull, Output, ToSql},
    };
    use std::io::Write;

    macro_rules! pg_enum {
        ($sql:ident, $pg_name:literal, $rust:ty) => {
            #[doc = concat!("The `", $pg_name, "` PostgreSQL enum.")]
            #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
            #[diesel(postgres_type(name = $pg_name))]
            pub struct $sql;

            impl ToSql<$sql, Pg> for $rust {
                fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                    out.write_all(self.as_str().as_bytes())?;
                    Ok(IsNull::No)
                }
            }

            impl FromSql<$sql, Pg> for $rust {
                fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                    Ok(std::str::from_utf8(bytes.as_bytes())?.parse()?)
                }
            }
        };
    }

    pg_enum!(RequestState, "request_state", super::RequestState);
    pg_enum!(VetAnswer, "vet_answer", super::VetAnswer);
    pg_enum!(PetSex, "pet_sex", crate::pets::PetSex);
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestState::*;

    /// Every pair of states, with the expected verdict written out once.
    #[test]
    fn transitions_are_legal_exactly_where_the_lifecycle_says() {
        let legal: &[(RequestState, RequestState)] = &[
            (Pending, VetAsked),
            (VetAsked, VetAsked),
            (VetAsked, VetAccepted),
            (VetAccepted, VetAsked),
            (Coordinated, VetAsked),
            (VetAccepted, Coordinated),
            (Coordinated, Payed),
            (Payed, Confirmed),
            (Confirmed, Completed),
            (Confirmed, NoShow),
            (Pending, Cancelled),
            (VetAsked, Cancelled),
            (VetAccepted, Cancelled),
            (Coordinated, Cancelled),
            (Payed, Cancelled),
            (Confirmed, Cancelled),
            (Pending, Expired),
            (VetAsked, Expired),
            (VetAccepted, Expired),
            (Coordinated, Expired),
        ];
        for from in RequestState::ALL {
            for to in RequestState::ALL {
                let expected = legal.contains(&(from, to));
                assert_eq!(
                    check_transition(from, to).is_ok(),
                    expected,
                    "{from} -> {to} should be {}",
                    if expected { "legal" } else { "illegal" }
                );
            }
        }
    }

    #[test]
    fn nothing_leaves_a_terminal_state() {
        for from in RequestState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in RequestState::ALL {
                assert!(check_transition(from, to).is_err(), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn state_names_round_trip_through_text_and_json() {
        for state in RequestState::ALL {
            assert_eq!(state.as_str().parse::<RequestState>(), Ok(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert!("paid".parse::<RequestState>().is_err());
    }

    #[test]
    fn descriptions_are_trimmed_and_bounded() {
        assert_eq!(
            Description::parse("  vacuna antirrábica ")
                .unwrap()
                .as_str(),
            "vacuna antirrábica"
        );
        assert_eq!(Description::parse(" \n\t"), Err(DescriptionError::Blank));
        let long = "ñ".repeat(Description::MAX_CHARS + 1);
        assert_eq!(
            Description::parse(&long),
            Err(DescriptionError::TooLong {
                max: 2000,
                got: 2001
            })
        );
        assert!(Description::parse(&"ñ".repeat(Description::MAX_CHARS)).is_ok());
    }

    #[test]
    fn the_default_policy_is_valid_and_each_value_out_of_range_is_named() {
        assert_eq!(DispatchPolicy::default().validate(), Ok(()));
        let named = |policy: DispatchPolicy| policy.validate().map_err(|e| e.name);
        let default = DispatchPolicy::default();
        let cases = [
            (
                DispatchPolicy {
                    vet_followup_delay_secs: 0,
                    ..default
                },
                "VET_FOLLOWUP_DELAY_SECS",
            ),
            (
                DispatchPolicy {
                    vet_max_followups: MAX_FOLLOWUPS + 1,
                    ..default
                },
                "VET_MAX_FOLLOWUPS",
            ),
            (
                DispatchPolicy {
                    offer_batch_size: 0,
                    ..default
                },
                "OFFER_BATCH_SIZE",
            ),
            (
                DispatchPolicy {
                    offer_batch_size: MAX_BATCH_SIZE + 1,
                    ..default
                },
                "OFFER_BATCH_SIZE",
            ),
            (
                DispatchPolicy {
                    payment_deadline_secs: 0,
                    ..default
                },
                "PAYMENT_DEADLINE_SECS",
            ),
            (
                DispatchPolicy {
                    payment_reminder_secs: 59,
                    ..default
                },
                "PAYMENT_REMINDER_SECS",
            ),
            // A reminder a minute for a day would be 1,440 reminders in one history.
            (
                DispatchPolicy {
                    payment_deadline_secs: 24 * 3600,
                    payment_reminder_secs: 60,
                    ..default
                },
                "PAYMENT_REMINDER_SECS",
            ),
            (
                DispatchPolicy {
                    coordinate_reminder_secs: 0,
                    ..default
                },
                "COORDINATE_REMINDER_SECS",
            ),
            (
                DispatchPolicy {
                    coordinate_max_reminders: MAX_COORDINATE_REMINDERS + 1,
                    ..default
                },
                "COORDINATE_MAX_REMINDERS",
            ),
            (
                DispatchPolicy {
                    report_reminder_secs: MAX_REPORT_WAIT_SECS + 1,
                    ..default
                },
                "REPORT_REMINDER_SECS",
            ),
            (
                DispatchPolicy {
                    report_max_reminders: MAX_REPORT_REMINDERS + 1,
                    ..default
                },
                "REPORT_MAX_REMINDERS",
            ),
            (
                DispatchPolicy {
                    report_give_up_secs: 0,
                    ..default
                },
                "REPORT_GIVE_UP_SECS",
            ),
            (
                DispatchPolicy {
                    report_deadline_secs: default.report_give_up_secs + 1,
                    ..default
                },
                "REPORT_DEADLINE_SECS",
            ),
            (
                DispatchPolicy {
                    history_events: 9,
                    ..default
                },
                "DISPATCH_HISTORY_EVENTS",
            ),
            (
                DispatchPolicy {
                    history_events: 40_001,
                    ..default
                },
                "DISPATCH_HISTORY_EVENTS",
            ),
        ];
        for (policy, name) in cases {
            assert_eq!(named(policy), Err(name), "{policy:?}");
        }
        // The edges of each range hold.
        let edges = DispatchPolicy {
            vet_max_followups: MAX_FOLLOWUPS,
            offer_batch_size: MAX_BATCH_SIZE,
            payment_deadline_secs: 10 * 60,
            payment_reminder_secs: 60,
            coordinate_max_reminders: MAX_COORDINATE_REMINDERS,
            report_max_reminders: MAX_REPORT_REMINDERS,
            report_deadline_secs: default.report_give_up_secs,
            history_events: 10,
            ..default
        };
        assert_eq!(edges.validate(), Ok(()));
    }

    #[test]
    fn actors_are_written_as_kind_and_id() {
        let vet = VetId::new();
        assert_eq!(Actor::Vet(vet).to_string(), format!("vet:{vet}"));
        assert_eq!(Actor::System.to_string(), "system");
    }
}
