//! Typed values that are valid by construction: parse, don't validate.
//! Each `parse` returns a message fit to show beside the form field.

use std::fmt;

/// A lowercase email address with a plausible local part and a valid domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<EmailAddress, String> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err("Enter an email address.".into());
        }
        if s.len() > 254 {
            return Err("An email address has at most 254 characters.".into());
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("An email address has the form name@company.com.".into());
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        if !local_ok {
            return Err("The part before the @ is not valid.".into());
        }
        DomainIdentifier::parse(domain).map_err(|_| "The part after the @ is not a valid domain.".to_string())?;
        Ok(EmailAddress(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain after the @, e.g. `acme.example`.
    pub fn domain(&self) -> DomainIdentifier {
        let domain = self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        DomainIdentifier(domain.to_string())
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A lowercase DNS name with at least two labels: a company's email domain or
/// a smart account's domain identifier (`acme.com`, `emea.acme.com`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainIdentifier(String);

impl DomainIdentifier {
    pub fn parse(input: &str) -> Result<DomainIdentifier, String> {
        let s = input.trim().trim_end_matches('.').to_lowercase();
        if s.is_empty() {
            return Err("Enter a domain, such as company.com.".into());
        }
        if s.len() > 253 {
            return Err("A domain has at most 253 characters.".into());
        }
        let labels: Vec<&str> = s.split('.').collect();
        if labels.len() < 2 {
            return Err("A domain has at least two parts, such as company.com.".into());
        }
        for label in &labels {
            if label.is_empty() || label.len() > 63 {
                return Err("Each part of a domain has 1 to 63 characters.".into());
            }
            if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err("A domain has only letters, digits, hyphens and dots.".into());
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err("A part of a domain cannot start or end with a hyphen.".into());
            }
        }
        let tld = labels[labels.len() - 1];
        if tld.chars().all(|c| c.is_ascii_digit()) {
            return Err("The last part of a domain cannot be a number.".into());
        }
        Ok(DomainIdentifier(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DomainIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse_display_text(input: &str, what: &str, max: usize) -> Result<String, String> {
    let s: String = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        return Err(format!("Enter {what}."));
    }
    if s.chars().count() > max {
        return Err(format!("{} has at most {max} characters.", capitalise(what)));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(format!("{} cannot contain control characters.", capitalise(what)));
    }
    Ok(s)
}

fn capitalise(s: &str) -> String {
    let s = s.trim_start_matches("a ").trim_start_matches("the ").trim_start_matches("your ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A company's (legal) name: 1–120 characters, white space folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyName(String);

impl CompanyName {
    pub fn parse(input: &str) -> Result<CompanyName, String> {
        parse_display_text(input, "the company name", 120).map(CompanyName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as they want it shown: 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<PersonName, String> {
        parse_display_text(input, "your name", 100).map(PersonName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 10 to 128 characters. Never printed.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(input: &str) -> Result<NewPassword, String> {
        let n = input.chars().count();
        if n < 10 {
            return Err("Use at least 10 characters.".into());
        }
        if n > 128 {
            return Err("Use at most 128 characters.".into());
        }
        if input.trim().is_empty() {
            return Err("A password cannot be only spaces.".into());
        }
        Ok(NewPassword(input.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

/// An id chosen from a list (an account, a virtual account, a product):
/// a positive whole number, else `message` (never "none" in disguise).
pub fn parse_id(input: &str, message: &str) -> Result<i64, String> {
    match input.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(message.to_string()),
    }
}

/// An optional id: empty is none; anything else must be an id.
pub fn parse_optional_id(input: &str, message: &str) -> Result<Option<i64>, String> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    parse_id(input, message).map(Some)
}

/// A whole number typed into a field, between `min` and `max`.
pub fn parse_whole_number(input: &str, what: &str, min: i64, max: i64) -> Result<i64, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err(format!("Enter {what}."));
    }
    match s.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(_) => Err(format!("{} is a whole number from {min} to {max}.", capitalise(what))),
        Err(_) => Err(format!("{} is a whole number, such as {min}.", capitalise(what))),
    }
}

/// Whether `c` may appear in text: no control characters, except tab and
/// line breaks in multi-line text.
fn allowed_char(c: char, multiline: bool) -> bool {
    !c.is_control() || (multiline && matches!(c, '\t' | '\n' | '\r'))
}

/// Free text (a description, a note): at most `max` characters, no control
/// characters except tab and line breaks when `multiline`. May be empty.
pub fn parse_free_text(input: &str, what: &str, max: usize, multiline: bool) -> Result<String, String> {
    if !input.chars().all(|c| allowed_char(c, multiline)) {
        return Err(format!("{} cannot contain control characters.", capitalise(what)));
    }
    if input.chars().count() > max {
        return Err(format!("{} has at most {max} characters.", capitalise(what)));
    }
    Ok(input.to_string())
}

/// Text typed into a search or filter box: at most `max` characters and no
/// control characters.
pub fn parse_search(input: &str, max: usize) -> Result<String, String> {
    if input.chars().any(|c| c.is_control()) {
        return Err("Search text cannot contain control characters.".into());
    }
    if input.chars().count() > max {
        return Err(format!("Search for at most {max} characters."));
    }
    Ok(input.trim().to_string())
}

/// Whether text is free of control characters (for values checked elsewhere).
pub fn has_control(input: &str) -> bool {
    input.chars().any(|c| c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_is_lowercased_and_trimmed() {
        let e = EmailAddress::parse("  Ada@Metalworks.Example ").unwrap();
        assert_eq!(e.as_str(), "ada@metalworks.example");
        assert_eq!(e.domain().as_str(), "metalworks.example");
    }

    #[test]
    fn email_without_at_or_domain_is_refused() {
        for bad in ["", "ada", "ada@", "@metalworks.example", "ada@localhost", "a..b@x.example", "ada@-x.example", "a b@x.example"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn domain_identifier_accepts_prefixes_and_refuses_bad_labels() {
        assert_eq!(DomainIdentifier::parse("EMEA.Acme.com.").unwrap().as_str(), "emea.acme.com");
        for bad in ["acme", "acme..com", "-acme.com", "acme-.com", "ac_me.com", "acme.123", ""] {
            assert!(DomainIdentifier::parse(bad).is_err(), "{bad} was accepted");
        }
        assert!(DomainIdentifier::parse(&format!("{}.com", "a".repeat(64))).is_err());
    }

    #[test]
    fn company_name_folds_white_space_and_limits_length() {
        assert_eq!(CompanyName::parse("  Acme   Corp ").unwrap().as_str(), "Acme Corp");
        assert_eq!(CompanyName::parse("   ").unwrap_err(), "Enter the company name.");
        assert!(CompanyName::parse(&"x".repeat(121)).is_err());
    }

    #[test]
    fn password_needs_ten_characters() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("          ").is_err());
        assert!(NewPassword::parse("long enough pass").is_ok());
        assert_eq!(format!("{:?}", NewPassword::parse("long enough pass").unwrap()), "NewPassword(…)");
    }

    #[test]
    fn ids_and_numbers_are_refused_unless_they_are_numbers() {
        assert_eq!(parse_id(" 12 ", "m"), Ok(12));
        for bad in ["", "0", "-3", "<script>", "1.5", "99999999999999999999"] {
            assert_eq!(parse_id(bad, "m"), Err("m".to_string()), "{bad}");
        }
        assert_eq!(parse_optional_id("", "m"), Ok(None));
        assert_eq!(parse_optional_id("<script>", "m"), Err("m".to_string()));
        assert_eq!(parse_whole_number("3", "the quantity", 1, 9999), Ok(3));
        assert!(parse_whole_number("", "the quantity", 1, 9999).is_err());
        assert!(parse_whole_number("-1", "the quantity", 1, 9999).is_err());
        assert!(parse_whole_number("1e9", "the quantity", 1, 9999).is_err());
    }

    #[test]
    fn control_characters_are_refused_except_line_breaks_in_multi_line_text() {
        assert!(parse_free_text("a\u{0}b", "the description", 100, true).is_err());
        assert!(parse_free_text("a\nb\tc\r\n", "the description", 100, true).is_ok());
        assert!(parse_free_text("a\nb", "the name", 100, false).is_err());
        assert!(parse_search("acme\u{0}", 100).is_err());
        assert!(CompanyName::parse("Acme\u{0}").is_err());
        assert!(parse_search("Zürich 株式会社", 100).is_ok());
    }

    proptest! {
        #[test]
        fn parsed_domains_parse_again_to_themselves(s in "[a-zA-Z0-9-]{1,20}(\\.[a-zA-Z0-9-]{1,20}){1,3}") {
            if let Ok(d) = DomainIdentifier::parse(&s) {
                prop_assert_eq!(DomainIdentifier::parse(d.as_str()).unwrap(), d.clone());
                prop_assert!(d.as_str().chars().all(|c| !c.is_ascii_uppercase()));
            }
        }

        #[test]
        fn email_parser_never_panics(s in "\\PC{0,80}") {
            let _ = EmailAddress::parse(&s);
        }
    }
}
