//! One module per subcommand.

pub mod audit;
pub mod bank;
pub mod compare;
pub mod demo;
pub mod hash;
pub mod matching;
pub mod org;
pub mod samples;
pub mod serve;
