//! The service request lifecycle: its states and which moves between them are legal.
//! The dispatch policy the workflow follows is in [`crate::policy`].

use std::{fmt, str::FromStr};

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
    fn actors_are_written_as_kind_and_id() {
        let vet = VetId::new();
        assert_eq!(Actor::Vet(vet).to_string(), format!("vet:{vet}"));
        assert_eq!(Actor::System.to_string(), "system");
    }
}
