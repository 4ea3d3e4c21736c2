//! Benchmarks of lameduck against its peers.
