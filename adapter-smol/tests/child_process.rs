//! Child-process tests (to come).
fn main() {}
