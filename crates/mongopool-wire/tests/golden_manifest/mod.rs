//! The manifest of the golden files (`tests/golden/manifest.json`) and our messages
//! for its entries.

pub mod expected;
pub mod reading;
