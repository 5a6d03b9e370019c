//! The business: typed values, the signed-in actor, the rules of who may do
//! what (`policy`), and one module per area. Handlers call these functions;
//! they never reach the database around them.

pub mod accounts;
pub mod actor;
pub mod catalogue;
pub mod company;
pub mod credentials;
pub mod error;
pub mod identity;
pub mod licenses;
pub mod moment;
pub mod orders;
pub mod policy;
pub mod roles;
pub mod users;
pub mod values;
pub mod worklist;

pub use actor::Actor;
pub use error::{DomainError, FieldErrors};
