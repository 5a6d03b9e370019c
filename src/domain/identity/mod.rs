//! People before companies: confirmed addresses, membership that a company
//! administrator grants, invitations, passwords, sessions that end, two-step
//! sign-in and the security events that record all of it (DOMAIN.md
//! "People, companies and membership").
//!
//! A person becomes an [`Actor`](crate::domain::Actor) — someone who sees a
//! company's data — only when their address is confirmed, a company has
//! granted them membership and nobody has deactivated them.

pub mod links;
pub mod membership;
pub mod passwords;
pub mod security;
pub mod sessions;
pub mod two_step;

/// Someone who is signed in, whatever their standing with a company.
#[derive(Debug, Clone)]
pub struct Person {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub confirmed: bool,
    pub company_id: Option<i64>,
    pub totp_enabled: bool,
}

impl Person {
    /// The domain part of the address: the company the person claims.
    pub fn email_domain(&self) -> &str {
        self.email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

/// Where a signed-in person stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The address is not confirmed yet: only "check your mail".
    Unconfirmed,
    /// Confirmed, but no company has granted membership yet.
    Outsider,
    /// A member of a company: sees what its rules allow.
    Member,
}

/// The pure rule: confirmed and granted, in that order.
pub fn standing(confirmed: bool, company_id: Option<i64>) -> Standing {
    match (confirmed, company_id) {
        (false, _) => Standing::Unconfirmed,
        (true, None) => Standing::Outsider,
        (true, Some(_)) => Standing::Member,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_needs_a_confirmed_address_and_a_company() {
        assert_eq!(standing(false, None), Standing::Unconfirmed);
        assert_eq!(standing(false, Some(3)), Standing::Unconfirmed, "a company alone is not enough");
        assert_eq!(standing(true, None), Standing::Outsider);
        assert_eq!(standing(true, Some(3)), Standing::Member);
    }
}
