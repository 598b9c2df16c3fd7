//! One module per subcommand.

pub mod compare;
pub mod hash;
pub mod matching;
pub mod samples;
