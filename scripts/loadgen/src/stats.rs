//! Counts, failure kinds and latencies.

use std::{collections::BTreeMap, time::Duration};

/// How many failures are kept in full for the report.
const KEPT: usize = 20;

#[derive(Default)]
pub struct Stats {
    latencies_us: Vec<u64>,
    failures_by_kind: BTreeMap<String, u64>,
    first: Vec<String>,
    failures: u64,
}

impl Stats {
    pub fn success(&mut self, latency: Duration) {
        self.latencies_us.push(latency.as_micros() as u64);
    }

    /// A failed request: `kind` groups it in the totals, `detail` is kept for the first few.
    pub fn failure(&mut self, latency: Duration, kind: String, detail: String) {
        self.latencies_us.push(latency.as_micros() as u64);
        self.failures += 1;
        *self.failures_by_kind.entry(kind).or_default() += 1;
        if self.first.len() < KEPT {
            self.first.push(detail);
        }
    }

    pub fn requests(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    pub fn failures(&self) -> u64 {
        self.failures
    }

    pub fn first_failures(&self) -> &[String] {
        &self.first
    }

    /// `loadgen: requests=N failures=F p50_ms=X p99_ms=Y max_ms=Z rps=R [kinds=...]`
    pub fn summary(&self, elapsed: Duration) -> String {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        let at = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted[index] as f64 / 1000.0
        };
        let rps = self.requests() as f64 / elapsed.as_secs_f64().max(1e-9);
        let mut line = format!(
            "loadgen: requests={} failures={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} rps={:.0} elapsed_s={:.1}",
            self.requests(),
            self.failures,
            at(0.50),
            at(0.99),
            at(1.0),
            rps,
            elapsed.as_secs_f64(),
        );
        if !self.failures_by_kind.is_empty() {
            let kinds: Vec<_> = self
                .failures_by_kind
                .iter()
                .map(|(kind, n)| format!("{kind}:{n}"))
                .collect();
            line.push_str(&format!(" kinds={}", kinds.join(",")));
        }
        line
    }
}
