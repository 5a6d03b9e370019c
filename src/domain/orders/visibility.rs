//! Who sees an order, who may reassign it, and who sees it masked
//! (DOMAIN.md "Who sees an order", rule 9). The judgements are pure functions
//! over an `Audience` (what the actor holds, loaded once) and an order's
//! `OrderAccess`; every page, list, export and the API go through them, and
//! `sources` turns the same audience into the indexed queries of the lists.

use diesel::prelude::*;

use crate::db::schema::{account_role_virtual_accounts, account_roles, smart_accounts, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::roles::{AccountKind, Role};
use crate::domain::Actor;

/// What one actor holds that lets them see orders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Audience {
    pub operations: bool,
    pub company_id: i64,
    /// Holding accounts where the actor is SA Administrator or SA User.
    pub holding_wide: Vec<i64>,
    /// Virtual accounts of holding accounts that the actor's VA roles cover.
    pub holding_vas: Vec<i64>,
    /// Customer accounts where the actor is SA Administrator or SA User.
    pub customer_wide: Vec<i64>,
    /// Virtual accounts of customer accounts that the actor's VA roles cover.
    pub customer_vas: Vec<i64>,
    /// Customer accounts whose default VA the actor's VA roles cover: a line
    /// assigned there without a VA lands in the default VA.
    pub customer_default_va_accounts: Vec<i64>,
}

impl Audience {
    /// How many account and VA ids it holds.
    pub fn ids(&self) -> usize {
        self.holding_wide.len()
            + self.holding_vas.len()
            + self.customer_wide.len()
            + self.customer_vas.len()
            + self.customer_default_va_accounts.len()
    }
}

/// What the judgements need to know of an order.
#[derive(Debug, Clone, Default)]
pub struct OrderAccess {
    pub company_id: i64,
    pub holding: Option<i64>,
    pub holding_va: Option<i64>,
    pub associated: Option<i64>,
    /// The reseller company a distributor handed the order to.
    pub handoff_company: Option<i64>,
    pub lines: Vec<LineAccess>,
}

#[derive(Debug, Clone, Copy)]
pub struct LineAccess {
    pub id: i64,
    pub account: Option<i64>,
    pub va: Option<i64>,
}

/// How much of an order an actor sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sight {
    Nothing,
    Whole,
    /// A customer account's users see the lines assigned to it.
    Lines(Vec<i64>),
}

impl Sight {
    pub fn any(&self) -> bool {
        *self != Sight::Nothing
    }
    pub fn shows_line(&self, id: i64) -> bool {
        match self {
            Sight::Nothing => false,
            Sight::Whole => true,
            Sight::Lines(ids) => ids.contains(&id),
        }
    }
}

impl Audience {
    /// Users of the holding account the order is parked in (SA-wide roles:
    /// every order; VA roles: orders parked in their VAs).
    fn on_holding_side(&self, o: &OrderAccess) -> bool {
        o.holding.is_some_and(|h| self.holding_wide.contains(&h)) || o.holding_va.is_some_and(|v| self.holding_vas.contains(&v))
    }

    fn sees_line(&self, l: &LineAccess) -> bool {
        let Some(account) = l.account else { return false };
        self.customer_wide.contains(&account)
            || match l.va {
                Some(va) => self.customer_vas.contains(&va),
                None => self.customer_default_va_accounts.contains(&account),
            }
    }
}

/// DOMAIN.md "Who sees an order": the company that placed it; users of the
/// holding account it is in or associated with; users of a customer account
/// one of its lines is in (those lines); operations. Nobody else.
pub fn sight(a: &Audience, o: &OrderAccess) -> Sight {
    if a.operations || a.company_id == o.company_id || a.on_holding_side(o) || o.associated.is_some_and(|h| a.holding_wide.contains(&h)) {
        return Sight::Whole;
    }
    let lines: Vec<i64> = o.lines.iter().filter(|l| a.sees_line(l)).map(|l| l.id).collect();
    if lines.is_empty() {
        Sight::Nothing
    } else {
        Sight::Lines(lines)
    }
}

/// Rule 9: after submission, who may change an order's assignments. The
/// holding account's users reassign what is parked there; the placing company
/// does too, until it hands the order to a reseller's holding account, after
/// which the choice is the reseller's. Operations always may.
pub fn may_reassign(a: &Audience, o: &OrderAccess) -> bool {
    if a.operations || a.on_holding_side(o) {
        return true;
    }
    a.company_id == o.company_id && o.handoff_company.is_none_or(|h| h == a.company_id)
}

/// Rule 9: a distributor that handed the order to a reseller sees the order
/// but not which customer account the reseller chose.
pub fn masked(a: &Audience, o: &OrderAccess) -> bool {
    !a.operations && handed_off_by(a.company_id, o) && !a.on_holding_side(o)
}

/// Rule 9: `company` placed the order and handed it to a reseller's holding
/// account; the choice, and the work, are the reseller's now.
pub fn handed_off_by(company: i64, o: &OrderAccess) -> bool {
    o.company_id == company && o.handoff_company.is_some_and(|h| h != company)
}

/// Whether an order the actor sees is their work while it waits Not
/// Assigned: counted in the navigation and selectable for bulk
/// reassignment. A distributor's handed-off order leaves its worklist (it
/// still sees the order, masked).
pub fn in_worklist(a: &Audience, o: &OrderAccess) -> bool {
    may_reassign(a, o) && !masked(a, o)
}

/// Where an order in the actor's worklist can be: `in_worklist` holds only
/// for operations, for the placing company, or on the holding side, so the
/// Not Assigned count reads only the sources of these three (`listing`).
pub fn worklist_reach(a: &Audience, o: &OrderAccess) -> bool {
    a.operations || a.company_id == o.company_id || a.on_holding_side(o)
}

/// Whether the user who placed the order still gets its order mail
/// ("assignment required", reminders): not once their company handed the
/// order to a reseller, whose holding account's users are told instead.
pub fn mails_the_placer(o: &OrderAccess) -> bool {
    !handed_off_by(o.company_id, o)
}

/// What the actor holds: remembered on the actor if it was loaded before
/// (`Actor::remember_audience`), else loaded.
pub fn audience(conn: &mut DbConnection, actor: &Actor) -> QueryResult<Audience> {
    match &actor.audience {
        Some(cell) => {
            if let Some(a) = cell.get() {
                return Ok(a.clone());
            }
            let a = load_audience(conn, actor)?;
            let _ = cell.set(a.clone());
            Ok(a)
        }
        None => load_audience(conn, actor),
    }
}

/// Remembers `audience` as the actor's, when it was loaded for this actor
/// and nothing it depends on has changed since (`kept_counts`): the
/// request's judgements then read no roles. Does nothing for an actor whose
/// audience is not remembered or already loaded.
pub(crate) fn remember(actor: &Actor, audience: Audience) {
    if let Some(cell) = &actor.audience {
        let _ = cell.set(audience);
    }
}

/// Loads what the actor holds: one query for roles, one for the VAs they cover.
fn load_audience(conn: &mut DbConnection, actor: &Actor) -> QueryResult<Audience> {
    let mut a = Audience { operations: actor.is_operations(), company_id: actor.company_id.0, ..Default::default() };
    if a.operations {
        return Ok(a);
    }
    let roles: Vec<(i64, i64, String, String)> = account_roles::table
        .inner_join(smart_accounts::table)
        .filter(account_roles::user_id.eq(actor.user_id.0))
        .select((account_roles::id, account_roles::smart_account_id, account_roles::role, smart_accounts::kind))
        .load(conn)?;
    let va_role_ids: Vec<i64> = roles.iter().filter(|r| Role::parse(&r.2).is_some_and(Role::is_va_role)).map(|r| r.0).collect();
    let covered: Vec<(i64, i64, i64, bool)> = if va_role_ids.is_empty() {
        Vec::new()
    } else {
        account_role_virtual_accounts::table
            .inner_join(virtual_accounts::table)
            .filter(crate::db::ids::ids_in(account_role_virtual_accounts::account_role_id, &va_role_ids))
            .select((
                account_role_virtual_accounts::account_role_id,
                virtual_accounts::id,
                virtual_accounts::smart_account_id,
                virtual_accounts::is_default,
            ))
            .load(conn)?
    };
    for (role_id, account, role, kind) in roles {
        let holding = AccountKind::parse(&kind) == Some(AccountKind::Holding);
        match Role::parse(&role) {
            Some(Role::SaAdministrator | Role::SaUser) => {
                if holding { &mut a.holding_wide } else { &mut a.customer_wide }.push(account);
            }
            Some(Role::VaAdministrator | Role::VaUser) => {
                for (_, va, sa, is_default) in covered.iter().filter(|c| c.0 == role_id) {
                    if holding {
                        a.holding_vas.push(*va);
                    } else {
                        a.customer_vas.push(*va);
                        if *is_default {
                            a.customer_default_va_accounts.push(*sa);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for v in [&mut a.holding_wide, &mut a.holding_vas, &mut a.customer_wide, &mut a.customer_vas, &mut a.customer_default_va_accounts] {
        v.sort_unstable();
        v.dedup();
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISTRIBUTOR: i64 = 1;
    const RESELLER: i64 = 2;
    const CUSTOMER: i64 = 3;
    const STRANGER: i64 = 4;
    const DIST_HOLDING: i64 = 10;
    const RES_HOLDING: i64 = 20;
    const RES_HOLDING_VA: i64 = 21;
    const RES_HOLDING_OTHER_VA: i64 = 22;
    const CUST_SA: i64 = 30;
    const CUST_VA_PROD: i64 = 31;
    const CUST_VA_DEFAULT: i64 = 32;

    fn order(
        holding: Option<i64>,
        holding_va: Option<i64>,
        handoff: Option<i64>,
        lines: &[(i64, Option<i64>, Option<i64>)],
    ) -> OrderAccess {
        OrderAccess {
            company_id: DISTRIBUTOR,
            holding,
            holding_va,
            associated: None,
            handoff_company: handoff,
            lines: lines.iter().map(|&(id, account, va)| LineAccess { id, account, va }).collect(),
        }
    }

    fn of(company: i64) -> Audience {
        Audience { company_id: company, ..Default::default() }
    }

    /// The actors of the matrix, by name.
    fn actors() -> Vec<(&'static str, Audience)> {
        vec![
            ("distributor user", of(DISTRIBUTOR)),
            ("distributor holding user (other company)", Audience { holding_wide: vec![DIST_HOLDING], ..of(STRANGER) }),
            ("reseller holding SA user", Audience { holding_wide: vec![RES_HOLDING], ..of(RESELLER) }),
            ("reseller holding VA user", Audience { holding_vas: vec![RES_HOLDING_VA], ..of(RESELLER) }),
            ("reseller holding other-VA user", Audience { holding_vas: vec![RES_HOLDING_OTHER_VA], ..of(RESELLER) }),
            ("reseller without a role", of(RESELLER)),
            ("customer SA user", Audience { customer_wide: vec![CUST_SA], ..of(CUSTOMER) }),
            ("customer Production VA user", Audience { customer_vas: vec![CUST_VA_PROD], ..of(CUSTOMER) }),
            (
                "customer default VA user",
                Audience { customer_vas: vec![CUST_VA_DEFAULT], customer_default_va_accounts: vec![CUST_SA], ..of(CUSTOMER) },
            ),
            ("stranger", of(STRANGER)),
            ("operations", Audience { operations: true, ..of(99) }),
        ]
    }

    /// (situation, order, expected sight per actor in `actors()` order: W whole, N nothing, or the visible lines).
    #[test]
    fn the_visibility_matrix_holds_for_every_actor_and_situation() {
        use Sight::{Lines, Nothing as N, Whole as W};
        let situations: Vec<(&str, OrderAccess, Vec<Sight>)> = vec![
            (
                "parked in the distributor's holding account",
                order(Some(DIST_HOLDING), None, None, &[(1, None, None), (2, None, None)]),
                vec![W, W, N, N, N, N, N, N, N, N, W],
            ),
            (
                "moved to the reseller's holding account, VA 21",
                order(Some(RES_HOLDING), Some(RES_HOLDING_VA), Some(RESELLER), &[(1, None, None)]),
                vec![W, N, W, W, N, N, N, N, N, N, W],
            ),
            (
                "reseller assigned line 1 to the customer's Production VA, line 2 without a VA",
                order(
                    Some(RES_HOLDING),
                    Some(RES_HOLDING_VA),
                    Some(RESELLER),
                    &[(1, Some(CUST_SA), Some(CUST_VA_PROD)), (2, Some(CUST_SA), None)],
                ),
                vec![W, N, W, W, N, N, Lines(vec![1, 2]), Lines(vec![1]), Lines(vec![2]), N, W],
            ),
            (
                "assigned straight to the customer account, no holding",
                order(None, None, None, &[(1, Some(CUST_SA), Some(CUST_VA_PROD)), (3, None, None)]),
                vec![W, N, N, N, N, N, Lines(vec![1]), Lines(vec![1]), N, N, W],
            ),
        ];
        let actors = actors();
        for (situation, o, expected) in situations {
            assert_eq!(expected.len(), actors.len());
            for ((who, a), want) in actors.iter().zip(expected) {
                assert_eq!(sight(a, &o), want, "{who} / {situation}");
            }
        }
    }

    #[test]
    fn an_associated_holding_account_shows_the_order_to_its_sa_wide_users_only() {
        let mut o = order(None, None, None, &[(1, Some(CUST_SA), None)]);
        o.associated = Some(RES_HOLDING);
        assert_eq!(sight(&Audience { holding_wide: vec![RES_HOLDING], ..of(RESELLER) }, &o), Sight::Whole);
        assert_eq!(sight(&Audience { holding_vas: vec![RES_HOLDING_VA], ..of(RESELLER) }, &o), Sight::Nothing);
    }

    /// The distributor → reseller → customer chain: who reassigns and who sees it masked at each step.
    #[test]
    fn the_two_tier_chain_hands_the_choice_to_the_reseller_and_masks_it_from_the_distributor() {
        let distributor = of(DISTRIBUTOR);
        let reseller = Audience { holding_wide: vec![RES_HOLDING], ..of(RESELLER) };
        let customer = Audience { customer_wide: vec![CUST_SA], ..of(CUSTOMER) };
        let ops = Audience { operations: true, ..of(99) };

        let parked = order(Some(DIST_HOLDING), None, None, &[(1, None, None)]);
        assert!(may_reassign(&distributor, &parked));
        assert!(!may_reassign(&reseller, &parked));
        assert!(!masked(&distributor, &parked));

        let handed = order(Some(RES_HOLDING), Some(RES_HOLDING_VA), Some(RESELLER), &[(1, None, None)]);
        assert!(!may_reassign(&distributor, &handed), "the distributor handed the choice over");
        assert!(may_reassign(&reseller, &handed));
        assert!(may_reassign(&Audience { holding_vas: vec![RES_HOLDING_VA], ..of(RESELLER) }, &handed));
        assert!(!may_reassign(&Audience { holding_vas: vec![RES_HOLDING_OTHER_VA], ..of(RESELLER) }, &handed));
        assert!(masked(&distributor, &handed));
        assert!(!masked(&reseller, &handed));

        let assigned = order(Some(RES_HOLDING), Some(RES_HOLDING_VA), Some(RESELLER), &[(1, Some(CUST_SA), None)]);
        assert_eq!(sight(&distributor, &assigned), Sight::Whole);
        assert!(masked(&distributor, &assigned), "the distributor does not learn the reseller's end customer");
        assert!(!masked(&customer, &assigned));
        assert!(!may_reassign(&customer, &assigned));
        assert!(!masked(&ops, &assigned) && may_reassign(&ops, &assigned));
        assert!(!may_reassign(&of(STRANGER), &assigned));
    }

    #[test]
    fn a_handed_off_order_leaves_the_distributors_worklist_and_mail_but_not_the_resellers() {
        let distributor = of(DISTRIBUTOR);
        let reseller = Audience { holding_wide: vec![RES_HOLDING], ..of(RESELLER) };
        let parked = order(Some(DIST_HOLDING), None, None, &[(1, None, None)]);
        assert!(in_worklist(&distributor, &parked) && mails_the_placer(&parked));
        let handed = order(Some(RES_HOLDING), Some(RES_HOLDING_VA), Some(RESELLER), &[(1, None, None)]);
        assert!(!in_worklist(&distributor, &handed), "no count, no checkbox for the distributor");
        assert!(!mails_the_placer(&handed), "no more assignment mail to the distributor's user");
        assert!(in_worklist(&reseller, &handed));
        assert!(in_worklist(&Audience { operations: true, ..of(99) }, &handed));
        assert!(!in_worklist(&Audience { holding_vas: vec![RES_HOLDING_OTHER_VA], ..of(RESELLER) }, &handed));
    }

    #[test]
    fn every_order_in_a_worklist_is_within_the_worklist_reach() {
        // Every combination of who the actor is and where the order is.
        let ids = [None, Some(1), Some(2), Some(3)];
        let lists: [&[i64]; 3] = [&[], &[1], &[2, 3]];
        let mut judged = 0;
        for operations in [false, true] {
            for company_id in [1, 2] {
                for holding_wide in lists {
                    for holding_vas in lists {
                        for customer_wide in lists {
                            let a = Audience {
                                operations,
                                company_id,
                                holding_wide: holding_wide.to_vec(),
                                holding_vas: holding_vas.to_vec(),
                                customer_wide: customer_wide.to_vec(),
                                ..Default::default()
                            };
                            for placed_by in [1, 2] {
                                for holding in ids {
                                    for holding_va in ids {
                                        for associated in ids {
                                            for handoff_company in ids {
                                                let o = OrderAccess {
                                                    company_id: placed_by,
                                                    holding,
                                                    holding_va,
                                                    associated,
                                                    handoff_company,
                                                    lines: vec![LineAccess { id: 1, account: holding, va: holding_va }],
                                                };
                                                judged += 1;
                                                assert!(!in_worklist(&a, &o) || worklist_reach(&a, &o), "{a:?} {o:?}");
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(judged > 10_000);
    }
}
