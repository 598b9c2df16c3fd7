//! One module per subcommand.

pub mod audit;
pub mod bank;
pub mod case;
pub mod check;
pub mod compare;
pub mod demo;
pub mod hash;
pub mod matching;
pub mod operation;
pub mod org;
pub mod provider;
pub mod referral;
pub mod release;
pub mod report;
pub mod samples;
pub mod serve;
pub mod url;
