//! Test support.
pub mod webdriver;
