//! Who people are to the system: validated emails and passwords, and roles.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased. Deliberately lenient beyond
/// `local@domain.tld`: the welcome email is the real check.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("must look like name@example.com")]
    Malformed,
    #[error("must be at most 254 characters")]
    TooLong,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
        let valid = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(char::is_whitespace);
        if valid {
            Ok(Self(email))
        } else {
            Err(EmailError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed, before hashing: 10 to 128 characters. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("must be at least {min} characters")]
    TooShort { min: usize },
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
}

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            Err(PasswordError::TooShort {
                min: Self::MIN_CHARS,
            })
        } else if chars > Self::MAX_CHARS {
            Err(PasswordError::TooLong {
                max: Self::MAX_CHARS,
            })
        } else {
            Ok(Self(raw.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// What a user may act as. One user may hold several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Vet,
    Staff,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ana.Perez@Mail.COM ").unwrap().as_str(),
            "ana.perez@mail.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@mail.com",
            "ana@mail",
            "ana@@mail.com",
            "a na@mail.com",
            "ana@.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Malformed), "{bad:?}");
        }
        assert_eq!(
            Email::parse(&format!("{}@mail.com", "a".repeat(250))),
            Err(EmailError::TooLong)
        );
    }

    #[test]
    fn passwords_are_bounded_and_never_printed() {
        assert_eq!(
            Password::parse("short"),
            Err(PasswordError::TooShort { min: 10 })
        );
        assert!(Password::parse(&"x".repeat(129)).is_err());
        let p = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert_eq!(p.expose(), "correct horse battery");
    }
}

/// An Argentine CUIT/CUIL: 11 digits (dashes allowed on input) whose last is the mod-11
/// check digit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cuit(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CuitError {
    #[error("must be 11 digits")]
    Format,
    #[error("the check digit does not match")]
    CheckDigit,
}

impl Cuit {
    pub fn parse(raw: &str) -> Result<Self, CuitError> {
        let digits: String = raw
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .collect();
        if digits.len() != 11 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(CuitError::Format);
        }
        let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
        let weights = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
        let sum: u32 = weights.iter().zip(&d).map(|(w, x)| w * x).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err(CuitError::CheckDigit),
            n => n,
        };
        if check == d[10] {
            Ok(Self(digits))
        } else {
            Err(CuitError::CheckDigit)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod cuit_tests {
    use super::*;

    #[test]
    fn cuits_are_checked_by_their_last_digit() {
        // AFIP's own CUIT.
        assert_eq!(
            Cuit::parse("33-69345023-9").unwrap().as_str(),
            "33693450239"
        );
        assert_eq!(
            Cuit::parse("20-12345678-6").unwrap().as_str(),
            "20123456786"
        );
        assert_eq!(Cuit::parse("20-12345678-5"), Err(CuitError::CheckDigit));
        assert_eq!(Cuit::parse("2012345678"), Err(CuitError::Format));
        assert_eq!(Cuit::parse("20-1234567a-6"), Err(CuitError::Format));
    }
}
