//! Who may do what. Every capability question is answered here, as a pure
//! function over loaded facts; domain writes take a `Permit` that only this
//! module can make, so a forgotten check does not compile.

use crate::domain::company::CompanyKind;
use crate::domain::{Actor, DomainError};

/// Proof that `policy` allowed an action. Cannot be built outside this module.
#[derive(Debug)]
pub struct Permit<A> {
    pub action: A,
    _sealed: (),
}

impl<A> Permit<A> {
    fn grant(action: A) -> Permit<A> {
        Permit {
            action,
            _sealed: (),
        }
    }
}

/// Editing one's own profile and preferences.
#[derive(Debug, Clone, Copy)]
pub struct EditOwnProfile;

/// Creating a company of a partner or operations kind, or a user in any company.
#[derive(Debug, Clone, Copy)]
pub struct AdministerCompanies;

pub fn may_edit_own_profile(_actor: &Actor) -> Permit<EditOwnProfile> {
    Permit::grant(EditOwnProfile)
}

pub fn may_administer_companies(actor: &Actor) -> Result<Permit<AdministerCompanies>, DomainError> {
    if actor.company_kind == CompanyKind::Operations {
        Ok(Permit::grant(AdministerCompanies))
    } else {
        Err(DomainError::Forbidden)
    }
}

/// The kind a company gets when someone registers with an unknown domain:
/// always customer; only operations make partners.
pub fn kind_for_self_registered_company() -> CompanyKind {
    CompanyKind::Customer
}

/// Sections of the navigation an actor sees.
pub fn sees_operations_section(actor: &Actor) -> bool {
    actor.is_operations()
}

/// Permit for set-up code paths that run without a signed-in user (the CLI
/// and demo data), which are operations' work by definition.
pub(crate) fn system_permit() -> Permit<AdministerCompanies> {
    Permit::grant(AdministerCompanies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::actor::{CompanyId, UserId};

    fn actor(kind: CompanyKind) -> Actor {
        Actor {
            user_id: UserId(1),
            email: "a@x.example".into(),
            name: "A".into(),
            company_id: CompanyId(1),
            company_name: "X".into(),
            company_kind: kind,
            notify_orders: true,
            notify_reminders: true,
        }
    }

    #[test]
    fn only_operations_administer_companies_and_see_the_operations_section() {
        for kind in CompanyKind::ALL {
            let a = actor(kind);
            assert_eq!(
                may_administer_companies(&a).is_ok(),
                kind == CompanyKind::Operations,
                "{kind:?}"
            );
            assert_eq!(
                sees_operations_section(&a),
                kind == CompanyKind::Operations,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn self_registration_never_makes_a_partner() {
        assert_eq!(kind_for_self_registered_company(), CompanyKind::Customer);
        assert!(!kind_for_self_registered_company().is_partner());
    }
}
