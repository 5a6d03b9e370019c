//! The names of the smart-account world: account kinds and states, and the
//! five roles a user can hold in an account (DOMAIN.md "Roles").

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    Holding,
    Customer,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Holding => "holding",
            AccountKind::Customer => "customer",
        }
    }
    pub fn parse(s: &str) -> Option<AccountKind> {
        match s {
            "holding" => Some(AccountKind::Holding),
            "customer" => Some(AccountKind::Customer),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            AccountKind::Holding => "Holding",
            AccountKind::Customer => "Customer",
        }
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// Requested; a temporary account exists; orders may be assigned; licenses cannot be used.
    Pending,
    /// The domain identifier was edited: operations review it before activation.
    PendingDomainReview,
    Active,
    Rejected,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Pending => "pending",
            AccountStatus::PendingDomainReview => "pending_domain_review",
            AccountStatus::Active => "active",
            AccountStatus::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<AccountStatus> {
        [AccountStatus::Pending, AccountStatus::PendingDomainReview, AccountStatus::Active, AccountStatus::Rejected]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            AccountStatus::Pending => "Pending",
            AccountStatus::PendingDomainReview => "Pending domain review",
            AccountStatus::Active => "Active",
            AccountStatus::Rejected => "Rejected",
        }
    }
    /// The style of the status badge: active, rejected, or waiting.
    pub fn badge_class(self) -> &'static str {
        match self {
            AccountStatus::Active => "badge-active",
            AccountStatus::Rejected => "badge-danger",
            _ => "badge-pending",
        }
    }
    /// Licenses in the account can be used only once it is active.
    pub fn licenses_usable(self) -> bool {
        self == AccountStatus::Active
    }
    /// Orders may be assigned to a pending (temporary) or active account.
    pub fn accepts_orders(self) -> bool {
        matches!(self, AccountStatus::Pending | AccountStatus::PendingDomainReview | AccountStatus::Active)
    }
}

/// A user's role in one smart account. VA roles name the virtual accounts they cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    SaAdministrator,
    SaUser,
    SaApprover,
    VaAdministrator,
    VaUser,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::SaAdministrator, Role::SaUser, Role::SaApprover, Role::VaAdministrator, Role::VaUser];
    /// The roles a customer may give a partner's user.
    pub const PARTNER: [Role; 4] = [Role::SaAdministrator, Role::VaAdministrator, Role::SaUser, Role::VaUser];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SaAdministrator => "sa_administrator",
            Role::SaUser => "sa_user",
            Role::SaApprover => "sa_approver",
            Role::VaAdministrator => "va_administrator",
            Role::VaUser => "va_user",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::SaAdministrator => "SA Administrator",
            Role::SaUser => "SA User",
            Role::SaApprover => "SA Approver",
            Role::VaAdministrator => "VA Administrator",
            Role::VaUser => "VA User",
        }
    }
    /// VA roles are limited to the virtual accounts they name.
    pub fn is_va_role(self) -> bool {
        matches!(self, Role::VaAdministrator | Role::VaUser)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_account_takes_orders_but_its_licenses_cannot_be_used() {
        for status in [AccountStatus::Pending, AccountStatus::PendingDomainReview] {
            assert!(status.accepts_orders(), "{status:?}");
            assert!(!status.licenses_usable(), "{status:?}");
        }
        assert!(AccountStatus::Active.accepts_orders() && AccountStatus::Active.licenses_usable());
        assert!(!AccountStatus::Rejected.accepts_orders() && !AccountStatus::Rejected.licenses_usable());
    }

    #[test]
    fn names_round_trip_through_their_stored_form() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for s in [AccountStatus::Pending, AccountStatus::PendingDomainReview, AccountStatus::Active, AccountStatus::Rejected] {
            assert_eq!(AccountStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AccountKind::parse("holding"), Some(AccountKind::Holding));
        assert_eq!(AccountKind::parse("other"), None);
    }
}
