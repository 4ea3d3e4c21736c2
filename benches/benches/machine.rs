//! Phase machine: the cost of a whole shutdown sequence on the manual clock.
//!
//! * `machine_inputs`: `lameduck::machine::Machine` driven by hand through a signal, a lame-duck
//!   period, a drain that ends with the last connection, three hooks and the stop;
//! * `shutdown_run`: the same sequence through `Shutdown::run` with `ManualClock`,
//!   `ScriptedSignals` and three async hooks, under `ManualClock::block_on` (which jumps the
//!   clock through the 100 ms lame-duck period), including building the `Shutdown` and
//!   registering the hooks;
//! * `shutdown_run_sync_hooks`: the same with two of the hooks sync. With `std` a sync hook
//!   runs on a thread of its own (so a blocking hook cannot stall the driver), and that
//!   thread is part of the cost. `ManualClock::block_on` would jump the clock to the hook's
//!   deadline while the thread runs, so this one runs under `futures::executor::block_on`
//!   with no lame-duck period (the manual clock then never needs to move).
//!
//! No peer has an equivalent (none has phases or hooks), so these have no ratio.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use core::{hint::black_box, time::Duration};
use criterion::{criterion_group, criterion_main, Criterion};
use lameduck::{
    machine::{Action, HookResult, Machine},
    test_util::{ManualClock, ScriptedSignals},
    Config, Hook, Phase, Reason, Shutdown, Signal,
};

const HOOKS: usize = 3;

fn config() -> Config {
    Config::new()
        .lame_duck(Duration::from_millis(100))
        .drain_timeout(Duration::from_secs(1))
        .hook_timeout(Duration::from_millis(500))
}

/// Drives one machine from Running to Stopped and returns its last phase.
fn machine_sequence(config: Config) -> Phase {
    let ms = Duration::from_millis;
    let mut m = Machine::new(config).expect("valid config");
    m.request(Reason::Signal(Signal::TERM), ms(0));
    let mut now = ms(0);
    loop {
        while let Some(action) = m.poll_action() {
            match action {
                Action::RunHook(i) if i < HOOKS => {
                    m.hook_started(i, None, now);
                    m.hook_finished(i, HookResult::Ok);
                }
                Action::RunHook(_) => m.hooks_exhausted(now),
                Action::CutConnections => m.record_cut(0),
                Action::Enter(_) | Action::StopAccepting | Action::AbandonHook(_) => {}
                Action::Finish => return m.phase(),
            }
        }
        match m.phase() {
            // The last connection closes 50 ms into the drain.
            Phase::Draining => {
                now += ms(50);
                m.drained(now);
            }
            _ => {
                now = m.next_deadline().expect("a deadline while not stopped");
                m.tick(now);
            }
        }
    }
}

fn shutdown_run(sync_hooks: bool) -> lameduck::Report {
    let config = if sync_hooks {
        config().lame_duck(Duration::ZERO)
    } else {
        config()
    };
    let shutdown = Shutdown::new(config).expect("valid config");
    let hooks = shutdown.hooks();
    for name in ["flush", "deregister", "close-db"] {
        let hook = if sync_hooks && name != "close-db" {
            Hook::new(name, || Ok::<(), &str>(()))
        } else {
            Hook::new_async(name, || async { Ok::<(), &str>(()) })
        };
        hooks.register(hook).expect("registered before stop");
    }
    let clock = ManualClock::new();
    let signals = ScriptedSignals::new();
    signals.send(Signal::TERM);
    let run = shutdown.run(clock.clone(), signals);
    if sync_hooks {
        futures::executor::block_on(run)
    } else {
        clock.block_on(run)
    }
}

fn machine(c: &mut Criterion) {
    assert_eq!(machine_sequence(config()), Phase::Stopped);
    assert_eq!(shutdown_run(false).exit_code(), 0);
    assert_eq!(shutdown_run(true).exit_code(), 0);
    let mut group = c.benchmark_group("phase_machine");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    group.bench_function("machine_inputs", |b| {
        b.iter(|| machine_sequence(black_box(config())))
    });
    group.bench_function("shutdown_run", |b| b.iter(|| shutdown_run(false)));
    group.bench_function("shutdown_run_sync_hooks", |b| b.iter(|| shutdown_run(true)));
    group.finish();
}

criterion_group!(benches, machine);
criterion_main!(benches);
