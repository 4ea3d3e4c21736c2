//! Shared pieces of the demo servers.
