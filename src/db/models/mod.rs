//! Row structs, one file per table: `X` for reads, `NewX` for inserts.

pub mod account;
pub mod company;
pub mod outbox;
pub mod user;
