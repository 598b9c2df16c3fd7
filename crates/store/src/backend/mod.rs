//! The two backends. Each is a thin module of dialect differences around the shared
//! implementation in `shared.rs`, which both include (see that file for why).

pub(crate) mod postgres;
pub(crate) mod sqlite;
