//! Pets and their owners' details.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::requests::UnknownValue;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)
)]
#[cfg_attr(feature = "diesel", diesel(sql_type = crate::requests::sql::PetSex))]
#[serde(rename_all = "snake_case")]
pub enum PetSex {
    Female,
    Male,
    #[default]
    Unknown,
}

impl PetSex {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
            Self::Unknown => "unknown",
        }
    }
}

impl FromStr for PetSex {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "female" => Ok(Self::Female),
            "male" => Ok(Self::Male),
            "unknown" => Ok(Self::Unknown),
            other => Err(UnknownValue(other.to_owned())),
        }
    }
}

/// A point on Earth given as latitude and longitude in degrees (WGS 84, SRID 4326).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LatLonError {
    #[error("latitude must be between -90 and 90")]
    Latitude,
    #[error("longitude must be between -180 and 180")]
    Longitude,
}

impl LatLonError {
    /// The input field at fault, as the API names it.
    pub const fn field(&self) -> &'static str {
        match self {
            Self::Latitude => "lat",
            Self::Longitude => "lon",
        }
    }
}

impl LatLon {
    pub fn new(lat: f64, lon: f64) -> Result<Self, LatLonError> {
        if !(-90.0..=90.0).contains(&lat) || !lat.is_finite() {
            return Err(LatLonError::Latitude);
        }
        if !(-180.0..=180.0).contains(&lon) || !lon.is_finite() {
            return Err(LatLonError::Longitude);
        }
        Ok(Self { lat, lon })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_range_checked() {
        assert!(LatLon::new(-34.6037, -58.3816).is_ok());
        assert_eq!(LatLon::new(-91.0, 0.0), Err(LatLonError::Latitude));
        assert_eq!(LatLon::new(0.0, 181.0), Err(LatLonError::Longitude));
        assert_eq!(LatLon::new(f64::NAN, 0.0), Err(LatLonError::Latitude));
    }

    #[test]
    fn sexes_round_trip() {
        for sex in [PetSex::Female, PetSex::Male, PetSex::Unknown] {
            assert_eq!(sex.as_str().parse::<PetSex>(), Ok(sex));
        }
    }
}

/// When the next dose of a vaccine is due: the date given, else `applied_on` plus the
/// vaccine's interval, else none (a single-dose vaccine).
pub fn next_due(
    applied_on: chrono::NaiveDate,
    given: Option<chrono::NaiveDate>,
    interval_days: Option<i32>,
) -> Option<chrono::NaiveDate> {
    given.or_else(|| {
        interval_days
            .and_then(|days| u64::try_from(days).ok())
            .and_then(|days| applied_on.checked_add_days(chrono::Days::new(days)))
    })
}

#[cfg(test)]
mod next_due_tests {
    use super::next_due;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_next_dose_comes_from_the_given_date_or_the_interval() {
        assert_eq!(
            next_due(d("2026-03-01"), None, Some(365)),
            Some(d("2027-03-01"))
        );
        assert_eq!(
            next_due(d("2024-02-29"), None, Some(365)),
            Some(d("2025-02-28"))
        );
        assert_eq!(
            next_due(d("2026-03-01"), Some(d("2026-04-01")), Some(365)),
            Some(d("2026-04-01"))
        );
        assert_eq!(next_due(d("2026-03-01"), None, None), None);
    }
}
