//! What takedown reads from and writes to other tools and organisations.
//!
//! Wire formats live here, not on the domain types: a hash list column or a STIX property is
//! named in exactly one place, so a change to the model never silently changes what partners
//! receive.

mod csvlines;
pub mod hashlist;
mod media_values;
pub mod releases;

pub use hashlist::{
    canonical_value, read_hash_list, write_hash_list, HashListFormat, HashListRow, RowError,
};
pub use media_values::vpdq_to_hma_json;
pub use releases::{read_release_log, write_release_log, ReleaseLogRow};
