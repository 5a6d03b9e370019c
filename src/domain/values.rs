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
