//! Feature `tracing`: every phase change, hook outcome and signal is an event, with counts.
//! Run with `cargo test -p lameduck --features tracing --test tracing`.

use lameduck::{
    test_util::{ManualClock, ScriptedSignals},
    Config, Hook, Shutdown, Signal,
};
use std::{
    io::Write,
    sync::{Arc, Mutex},
};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn phases_hooks_and_signals_are_traced_with_counts() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let hooks = shutdown.hooks();
        hooks
            .register(Hook::new("flush", || Ok::<(), &str>(())))
            .unwrap();
        hooks
            .register(Hook::new("close", || Err("pool busy")))
            .unwrap();
        let idle = shutdown.handle().connection().unwrap();
        let clock = ManualClock::new();
        let signals = ScriptedSignals::new();
        signals.send(Signal::HUP);
        signals.send(Signal::new(10));
        signals.send(Signal::TERM);
        signals.send(Signal::TERM);
        clock.block_on(shutdown.run(clock.clone(), signals));
        drop(idle);
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "reload requested signal=1",
        "signal received signal=10 acted=false",
        "signal received signal=15 acted=true",
        "phase changed phase=\"lame-duck\" open=1 idle=1 anomalies=0",
        "phase changed phase=\"draining\" open=1 idle=1",
        "phase changed phase=\"hooks\"",
        "phase changed phase=\"stopped\"",
        "hook ok hook=\"flush\"",
        "hook did not succeed hook=\"close\" outcome=failed: pool busy",
    ] {
        assert!(log.contains(expected), "missing `{expected}` in:\n{log}");
    }
}
