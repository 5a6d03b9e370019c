//! Who may do what. Every capability question is answered here, as a pure
//! function over loaded facts; domain writes take a `Permit` that only this
//! module can make, so a forgotten check does not compile.

use crate::domain::company::CompanyKind;
use crate::domain::roles::{AccountKind, AccountStatus, Role};
use crate::domain::{Actor, DomainError};

/// Proof that `policy` allowed an action. Cannot be built outside this module.
#[derive(Debug)]
pub struct Permit<A> {
    pub action: A,
    _sealed: (),
}

impl<A> Permit<A> {
    fn grant(action: A) -> Permit<A> {
        Permit { action, _sealed: () }
    }
}

/// Editing one's own profile and preferences.
#[derive(Debug, Clone, Copy)]
pub struct EditOwnProfile;

/// Creating a company of a partner or operations kind, or a user in any company.
#[derive(Debug, Clone, Copy)]
pub struct AdministerCompanies;

/// Admitting, inviting, deactivating people of one's own company.
#[derive(Debug, Clone, Copy)]
pub struct AdministerMembers;

/// Company administrators administer their company's members; everyone
/// else sees the member list only.
pub fn may_administer_members(actor: &Actor) -> Result<Permit<AdministerMembers>, DomainError> {
    if actor.is_company_admin {
        Ok(Permit::grant(AdministerMembers))
    } else {
        Err(DomainError::Forbidden)
    }
}

/// Two-step sign-in is required for operations staff.
pub fn two_step_required(company_kind: Option<CompanyKind>) -> bool {
    company_kind == Some(CompanyKind::Operations)
}

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

/// What an actor holds in one smart account, loaded by the domain and judged here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAccess {
    pub account_id: i64,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub role: Option<Role>,
    /// The virtual accounts a VA role covers (empty for SA roles).
    pub virtual_accounts: Vec<i64>,
    pub operations: bool,
    /// The actor asked for this account, and so may follow its status.
    pub requester: bool,
}

/// Everything one may do with a smart account (DOMAIN.md "Roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    ViewAccount,
    EditProperties,
    ManageVirtualAccounts,
    ViewUsers,
    /// Add, change or remove users at SA and VA level.
    ManageUsers,
    /// Add, change or remove VA-level users of this virtual account.
    ManageUsersOfVirtualAccount(i64),
    ViewEventLog,
    /// Events of the whole account, not only of one's virtual accounts.
    ViewAccountWideEvents,
    ViewAgreement,
    AcceptAgreement,
    /// Licenses in this virtual account (`None`: in all of them).
    ManageLicenses(Option<i64>),
    /// Move licenses between virtual accounts, claim PAKs into this VA
    /// (`None`: any VA). Customer accounts only: a holding account's licenses
    /// wait for their orders to be reassigned.
    TransferLicenses(Option<i64>),
    /// Registration tokens and devices (product instances) of this VA.
    /// Customer accounts only; whether one may be made now also depends on
    /// the account's state (see `token_refusal`).
    ManageInstances(i64),
    /// See and reassign orders parked in a holding account.
    ReassignOrders,
    DecideAccessRequests,
    GrantPartnerAccess,
}

/// The capability table: pure, over loaded facts.
pub fn allows(a: &AccountAccess, capability: Capability) -> bool {
    use Capability as C;
    use Role as R;
    let role = a.role;
    let covers = |va: i64| a.virtual_accounts.contains(&va);
    match capability {
        C::ViewAccount => role.is_some() || a.operations || a.requester,
        C::EditProperties | C::ManageVirtualAccounts | C::ManageUsers | C::DecideAccessRequests => role == Some(R::SaAdministrator),
        C::GrantPartnerAccess => role == Some(R::SaAdministrator) && a.kind == AccountKind::Customer,
        C::ManageUsersOfVirtualAccount(va) => role == Some(R::SaAdministrator) || (role == Some(R::VaAdministrator) && covers(va)),
        C::ViewUsers | C::ViewEventLog => role.is_some() || a.operations,
        C::ViewAccountWideEvents => matches!(role, Some(R::SaAdministrator | R::SaUser | R::SaApprover)) || a.operations,
        C::ViewAgreement => a.kind == AccountKind::Customer && (role.is_some() || a.operations),
        C::AcceptAgreement => {
            a.kind == AccountKind::Customer && a.status == AccountStatus::Active && matches!(role, Some(R::SaAdministrator | R::SaApprover))
        }
        C::ManageLicenses(None) => matches!(role, Some(R::SaAdministrator | R::SaUser)),
        C::ManageLicenses(Some(va)) => {
            matches!(role, Some(R::SaAdministrator | R::SaUser)) || (matches!(role, Some(R::VaAdministrator | R::VaUser)) && covers(va))
        }
        C::TransferLicenses(va) => a.kind == AccountKind::Customer && allows(a, C::ManageLicenses(va)),
        C::ManageInstances(va) => a.kind == AccountKind::Customer && allows(a, C::ManageLicenses(Some(va))),
        C::ReassignOrders => matches!(role, Some(R::SaAdministrator | R::SaUser | R::VaAdministrator | R::VaUser)),
    }
}

/// The roles that give `capability` in an account of this kind and status
/// (an SA-level holder, no virtual accounts): for lists that find, across
/// accounts, what a person may act on (the home page's worklist).
pub fn roles_with(kind: AccountKind, status: AccountStatus, capability: Capability) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| {
            let a = AccountAccess {
                account_id: 0,
                kind,
                status,
                role: Some(*r),
                virtual_accounts: Vec::new(),
                operations: false,
                requester: false,
            };
            allows(&a, capability)
        })
        .collect()
}

/// Why no registration token can be made (and no device registered) in an
/// account now, if it cannot (DOMAIN.md "Licenses"): a holding account takes
/// none, a pending account none until activated, a customer account none
/// before its Smart Licensing Agreement is accepted.
pub fn token_refusal(kind: AccountKind, status: AccountStatus, agreement_accepted: bool) -> Option<&'static str> {
    if kind == AccountKind::Holding {
        return Some("A holding account takes no registration tokens and no devices: its licenses cannot be used until their orders are reassigned to a customer account.");
    }
    if status != AccountStatus::Active {
        return Some("The account is not active yet: registration tokens can be made once it is activated.");
    }
    if !agreement_accepted {
        return Some("The Smart Licensing Agreement has not been accepted yet: an administrator or approver must accept it before products can be registered.");
    }
    None
}

/// A capability granted on one account.
#[derive(Debug, Clone, Copy)]
pub struct OnAccount {
    pub account_id: i64,
    pub capability: Capability,
}

/// Answers 404 when the actor may not know the account exists, 403 when they
/// know it but may not do this.
pub fn account_permit(a: &AccountAccess, capability: Capability) -> Result<Permit<OnAccount>, DomainError> {
    if !allows(a, Capability::ViewAccount) {
        return Err(DomainError::NotFound);
    }
    if !allows(a, capability) {
        return Err(DomainError::Forbidden);
    }
    Ok(Permit::grant(OnAccount { account_id: a.account_id, capability }))
}

/// Holding accounts belong to partners: only they may request one.
pub fn may_request_account(actor: &Actor, kind: AccountKind) -> bool {
    match kind {
        AccountKind::Holding => actor.company_kind.is_partner(),
        AccountKind::Customer => actor.company_kind != CompanyKind::Operations,
    }
}

/// Operations review edited domain identifiers.
pub fn may_review_domains(actor: &Actor) -> Result<Permit<AdministerCompanies>, DomainError> {
    may_administer_companies(actor)
}

/// Facts about an order for deciding who may change it.
#[derive(Debug, Clone, Copy)]
pub struct OrderOwnership {
    pub company_id: i64,
    pub internal: bool,
}

/// Changing an order's items and assignments: users of the company that
/// placed it; operations for the internal (work-bench) orders they create.
pub fn may_edit_order(actor: &Actor, order: OrderOwnership) -> bool {
    actor.company_id.0 == order.company_id || (actor.is_operations() && order.internal)
}

/// Distributors may place stocking orders (which need no smart account).
pub fn may_place_stocking_order(actor: &Actor) -> bool {
    actor.company_kind == CompanyKind::Distributor
}

/// Booking and shipping stand in for the vendor's back office.
pub fn may_fulfil_orders(actor: &Actor) -> bool {
    actor.is_operations()
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
            is_company_admin: false,
            audience: None,
        }
    }

    #[test]
    fn only_operations_administer_companies_and_see_the_operations_section() {
        for kind in CompanyKind::ALL {
            let a = actor(kind);
            assert_eq!(may_administer_companies(&a).is_ok(), kind == CompanyKind::Operations, "{kind:?}");
            assert_eq!(sees_operations_section(&a), kind == CompanyKind::Operations, "{kind:?}");
        }
    }

    fn access(role: Option<Role>, kind: AccountKind, status: AccountStatus, vas: Vec<i64>) -> AccountAccess {
        AccountAccess { account_id: 7, kind, status, role, virtual_accounts: vas, operations: false, requester: false }
    }

    /// DOMAIN.md's role table, row by row, on an active customer account.
    #[test]
    fn the_role_table_holds_for_every_role_and_capability() {
        use Capability as C;
        let caps = [
            C::EditProperties,
            C::ManageVirtualAccounts,
            C::ViewUsers,
            C::ManageUsers,
            C::ManageUsersOfVirtualAccount(1),
            C::ManageUsersOfVirtualAccount(2),
            C::ViewEventLog,
            C::ViewAccountWideEvents,
            C::ViewAgreement,
            C::AcceptAgreement,
            C::ManageLicenses(None),
            C::ManageLicenses(Some(1)),
            C::ManageLicenses(Some(2)),
            C::ReassignOrders,
            C::DecideAccessRequests,
            C::GrantPartnerAccess,
        ];
        #[rustfmt::skip]
        let table: [(Option<Role>, [bool; 16]); 6] = [
            //                        edit  VAs   vUsr  mUsr  mVA1  mVA2  log   all   vAgr  acc   lic*  lic1  lic2  orders decide partner
            (Some(Role::SaAdministrator), [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true]),
            (Some(Role::SaUser),          [false,false,true, false,false,false,true, true, true, false,true, true, true, true, false,false]),
            (Some(Role::SaApprover),      [false,false,true, false,false,false,true, true, true, true, false,false,false,false,false,false]),
            (Some(Role::VaAdministrator), [false,false,true, false,true, false,true, false,true, false,false,true, false,true, false,false]),
            (Some(Role::VaUser),          [false,false,true, false,false,false,true, false,true, false,false,true, false,true, false,false]),
            (None,                        [false,false,false,false,false,false,false,false,false,false,false,false,false,false,false,false]),
        ];
        for (role, expected) in table {
            let vas = if role.is_some_and(Role::is_va_role) { vec![1] } else { vec![] };
            let a = access(role, AccountKind::Customer, AccountStatus::Active, vas);
            for (cap, want) in caps.iter().zip(expected) {
                assert_eq!(allows(&a, *cap), want, "{role:?} {cap:?}");
            }
        }
    }

    #[test]
    fn license_actions_follow_the_role_table_and_stop_at_holding_accounts() {
        use Capability as C;
        let admin = access(Some(Role::SaAdministrator), AccountKind::Customer, AccountStatus::Active, vec![]);
        assert!(allows(&admin, C::TransferLicenses(None)) && allows(&admin, C::ManageInstances(5)));
        let approver = access(Some(Role::SaApprover), AccountKind::Customer, AccountStatus::Active, vec![]);
        assert!(!allows(&approver, C::TransferLicenses(None)) && !allows(&approver, C::ManageInstances(1)));
        let va_user = access(Some(Role::VaUser), AccountKind::Customer, AccountStatus::Active, vec![1]);
        assert!(allows(&va_user, C::TransferLicenses(Some(1))) && allows(&va_user, C::ManageInstances(1)));
        assert!(!allows(&va_user, C::TransferLicenses(Some(2))) && !allows(&va_user, C::ManageInstances(2)));
        assert!(!allows(&va_user, C::TransferLicenses(None)));
        let holding = access(Some(Role::SaAdministrator), AccountKind::Holding, AccountStatus::Active, vec![]);
        assert!(allows(&holding, C::ManageLicenses(None)), "a holding account shows its parked licenses");
        assert!(!allows(&holding, C::TransferLicenses(None)) && !allows(&holding, C::ManageInstances(1)));
    }

    #[test]
    fn tokens_are_refused_for_holding_pending_and_unaccepted_accounts() {
        assert!(token_refusal(AccountKind::Holding, AccountStatus::Active, true).unwrap().contains("holding account"));
        assert!(token_refusal(AccountKind::Customer, AccountStatus::Pending, false).unwrap().contains("not active"));
        assert!(token_refusal(AccountKind::Customer, AccountStatus::PendingDomainReview, true).unwrap().contains("not active"));
        assert!(token_refusal(AccountKind::Customer, AccountStatus::Active, false).unwrap().contains("Agreement"));
        assert_eq!(token_refusal(AccountKind::Customer, AccountStatus::Active, true), None);
    }

    #[test]
    fn the_roles_that_decide_access_and_accept_agreements_come_from_the_role_table() {
        let active = |c| roles_with(AccountKind::Customer, AccountStatus::Active, c);
        assert_eq!(active(Capability::DecideAccessRequests), vec![Role::SaAdministrator]);
        assert_eq!(active(Capability::AcceptAgreement), vec![Role::SaAdministrator, Role::SaApprover]);
        assert!(roles_with(AccountKind::Holding, AccountStatus::Active, Capability::AcceptAgreement).is_empty());
    }

    #[test]
    fn holding_accounts_have_no_agreement_and_no_partner_grants() {
        let a = access(Some(Role::SaAdministrator), AccountKind::Holding, AccountStatus::Active, vec![]);
        assert!(!allows(&a, Capability::ViewAgreement));
        assert!(!allows(&a, Capability::AcceptAgreement));
        assert!(!allows(&a, Capability::GrantPartnerAccess));
        assert!(allows(&a, Capability::ReassignOrders));
    }

    #[test]
    fn the_agreement_is_accepted_only_on_an_active_account() {
        for status in [AccountStatus::Pending, AccountStatus::PendingDomainReview, AccountStatus::Rejected] {
            let a = access(Some(Role::SaAdministrator), AccountKind::Customer, status, vec![]);
            assert!(!allows(&a, Capability::AcceptAgreement), "{status:?}");
        }
    }

    #[test]
    fn strangers_get_not_found_and_members_get_forbidden() {
        let stranger = access(None, AccountKind::Customer, AccountStatus::Active, vec![]);
        assert!(matches!(account_permit(&stranger, Capability::ViewUsers), Err(DomainError::NotFound)));
        let va_user = access(Some(Role::VaUser), AccountKind::Customer, AccountStatus::Active, vec![1]);
        assert!(matches!(account_permit(&va_user, Capability::ManageUsers), Err(DomainError::Forbidden)));
        assert!(account_permit(&va_user, Capability::ViewUsers).is_ok());
        let requester = AccountAccess { requester: true, ..stranger.clone() };
        assert!(account_permit(&requester, Capability::ViewAccount).is_ok());
        assert!(matches!(account_permit(&requester, Capability::ViewUsers), Err(DomainError::Forbidden)));
        let ops = AccountAccess { operations: true, ..stranger };
        assert!(account_permit(&ops, Capability::ViewEventLog).is_ok());
        assert!(matches!(account_permit(&ops, Capability::ManageUsers), Err(DomainError::Forbidden)));
    }

    #[test]
    fn orders_are_changed_by_their_company_and_operations_only_for_internal_orders() {
        let reseller = actor(CompanyKind::Reseller);
        assert!(may_edit_order(&reseller, OrderOwnership { company_id: 1, internal: false }));
        assert!(!may_edit_order(&reseller, OrderOwnership { company_id: 2, internal: false }));
        let mut ops = actor(CompanyKind::Operations);
        ops.company_id = crate::domain::actor::CompanyId(99);
        assert!(may_edit_order(&ops, OrderOwnership { company_id: 1, internal: true }));
        assert!(!may_edit_order(&ops, OrderOwnership { company_id: 1, internal: false }));
        assert!(may_place_stocking_order(&actor(CompanyKind::Distributor)));
        assert!(!may_place_stocking_order(&reseller));
        assert!(may_fulfil_orders(&ops) && !may_fulfil_orders(&reseller));
    }

    #[test]
    fn only_partners_request_holding_accounts() {
        for kind in CompanyKind::ALL {
            assert_eq!(may_request_account(&actor(kind), AccountKind::Holding), kind.is_partner(), "{kind:?}");
        }
        assert!(may_request_account(&actor(CompanyKind::Customer), AccountKind::Customer));
    }

    #[test]
    fn self_registration_never_makes_a_partner() {
        assert_eq!(kind_for_self_registered_company(), CompanyKind::Customer);
        assert!(!kind_for_self_registered_company().is_partner());
    }
}
