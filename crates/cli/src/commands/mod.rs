//! One module per subcommand.

pub mod audit;
pub mod bank;
pub mod compare;
pub mod demo;
pub mod hash;
pub mod matching;
pub mod operation;
pub mod org;
pub mod release;
pub mod report;
pub mod samples;
pub mod serve;
