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

/// The kinds of file a study may carry, recognised by their first bytes (never by the name
/// or the declared type alone, which a client can get wrong or fake).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudyFileKind {
    Pdf,
    Jpeg,
    Png,
    Webp,
    Dicom,
}

impl StudyFileKind {
    pub const ALL: [Self; 5] = [Self::Pdf, Self::Jpeg, Self::Png, Self::Webp, Self::Dicom];

    /// What the bytes are, if they are one of the accepted kinds.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
            Some(Self::Dicom)
        } else {
            None
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Dicom => "application/dicom",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Dicom => "dcm",
        }
    }
}

/// A file name safe to store and to send back in `Content-Disposition`: the last path
/// segment, without control characters or quotes, at most 120 characters; `fallback`
/// when nothing is left.
pub fn clean_file_name(raw: Option<&str>, fallback: &str) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn recognises_each_kind_by_its_signature() {
        let mut dicom = vec![0u8; 128];
        dicom.extend_from_slice(b"DICM\x02\x00");
        let cases: [(&[u8], Option<StudyFileKind>); 7] = [
            (b"%PDF-1.7\n...", Some(StudyFileKind::Pdf)),
            (
                &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10],
                Some(StudyFileKind::Jpeg),
            ),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some(StudyFileKind::Png)),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some(StudyFileKind::Webp)),
            (&dicom, Some(StudyFileKind::Dicom)),
            (b"MZ\x90\0 an executable", None),
            (b"<html><script>", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(StudyFileKind::sniff(bytes), want, "{bytes:?}");
        }
        assert_eq!(StudyFileKind::sniff(b"%PD"), None, "too short to tell");
    }

    #[test]
    fn file_names_lose_paths_quotes_and_control_characters() {
        assert_eq!(clean_file_name(Some("../../etc/passwd"), "f"), "passwd");
        assert_eq!(
            clean_file_name(Some("C:\\fotos\\rx tórax.png"), "f"),
            "rx tórax.png"
        );
        assert_eq!(clean_file_name(Some("a\"b\r\n.pdf"), "f"), "ab.pdf");
        assert_eq!(clean_file_name(Some("..."), "study.pdf"), "study.pdf");
        assert_eq!(clean_file_name(None, "study.pdf"), "study.pdf");
        assert_eq!(clean_file_name(Some(&"x".repeat(300)), "f").len(), 120);
    }
}
