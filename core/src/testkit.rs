//! The test kit (feature `test-util`): the manual clock (a `Runtime`), scripted signals, and
//! the conformance suite every runtime adapter runs.

pub mod conformance;
pub mod test_util;
