//! Names people type that go into WhatsApp and email templates (a pet's, an owner's, a
//! vet's): letters, digits, spaces and a little punctuation, and nothing that reads as a
//! web address or a phone number, so that a booking cannot carry a phishing line to a
//! vet's phone under our name.

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must be 1 to {0} characters")]
    Length(usize),
    #[error("may contain only letters, digits, spaces and ' - . , ( ) &")]
    Characters,
    #[error("must not contain a web address")]
    WebAddress,
    #[error("must not contain a phone number")]
    PhoneNumber,
}

const PUNCTUATION: [char; 9] = ['\'', '’', '´', '-', '.', ',', '(', ')', '&'];

/// The name trimmed, with runs of spaces made one, if it may go into a message.
pub fn name(raw: &str, max: usize) -> Result<String, NameError> {
    let value = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(NameError::Length(max));
    }
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || PUNCTUATION.contains(&c);
    if !value.chars().all(allowed) {
        return Err(NameError::Characters);
    }
    // `bit.ly`, `pagos.example`: a dot between a letter or digit and two letters.
    let chars: Vec<char> = value.chars().collect();
    let web = chars.windows(4).any(|w| {
        w[0].is_alphanumeric() && w[1] == '.' && w[2].is_alphabetic() && w[3].is_alphabetic()
    });
    if web {
        return Err(NameError::WebAddress);
    }
    // Six digits anywhere, however spaced or dotted, read as a phone number.
    if chars.iter().filter(|c| c.is_numeric()).count() >= 6 {
        return Err(NameError::PhoneNumber);
    }
    Ok(value)
}

/// A WhatsApp number as messages are addressed: `+`, the country code and the number,
/// 8 to 15 digits in all (E.164); spaces, dashes, dots and parentheses are dropped.
pub fn whatsapp_number(raw: &str) -> Result<String, &'static str> {
    let kept: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = kept.strip_prefix('+').unwrap_or("");
    if (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(kept)
    } else {
        Err("an international number: + and the country code, e.g. +5491155550000")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_pass_tidied() {
        for (raw, kept) in [
            ("  Luna ", "Luna"),
            ("Sr.  Bigotes", "Sr. Bigotes"),
            ("Ñandú", "Ñandú"),
            ("María José O'Connor-Pérez", "María José O'Connor-Pérez"),
            ("R2D2", "R2D2"),
            ("Michi (el gordo)", "Michi (el gordo)"),
            ("Dr. J. López", "Dr. J. López"),
        ] {
            assert_eq!(name(raw, 50).as_deref(), Ok(kept), "{raw}");
        }
    }

    #[test]
    fn a_phishing_line_does_not_pass_for_a_name() {
        for (raw, why) in [
            ("Pagá acá: bit.ly/x", NameError::Characters),
            ("Luna visitá pagos.example", NameError::WebAddress),
            ("Llamá al 11 5555 0000", NameError::PhoneNumber),
            ("Llamá 11.5555.0000", NameError::PhoneNumber),
            ("Luna １１５５５５００００", NameError::PhoneNumber),
            ("<b>Luna</b>", NameError::Characters),
            ("Luna\u{202e}", NameError::Characters),
            ("", NameError::Length(50)),
        ] {
            assert_eq!(name(raw, 50), Err(why), "{raw}");
        }
        assert_eq!(name(&"a".repeat(51), 50), Err(NameError::Length(50)));
        // A line break is white space: the name is one line.
        assert_eq!(name("Luna\nURGENTE", 50).as_deref(), Ok("Luna URGENTE"));
    }

    #[test]
    fn whatsapp_numbers_are_international_and_tidied() {
        assert_eq!(
            whatsapp_number("+54 9 11 5555-0000").as_deref(),
            Ok("+5491155550000")
        );
        for bad in [
            "1155550000",
            "+0123456789",
            "+54",
            "+54911555500001234",
            "+54 11 abc",
            "",
        ] {
            assert!(whatsapp_number(bad).is_err(), "{bad}");
        }
    }
}
