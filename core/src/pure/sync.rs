//! The one place that names atomics, so `--cfg loom` can swap in loom's models.

#[cfg(all(feature = "alloc", not(loom)))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicU8};
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

#[cfg(all(feature = "alloc", not(loom)))]
pub(crate) use alloc::sync::Arc;

#[cfg(all(feature = "alloc", loom))]
pub(crate) use loom::sync::Arc;
