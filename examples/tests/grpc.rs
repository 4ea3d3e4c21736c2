//! The contract's "gRPC", on every demo as a child process, with tonic's client and
//! tonic-health's: the health statuses follow the phases, a `Ticks` stream in flight at the
//! drain ends with `UNAVAILABLE`, an open `Watch` ends when the drain starts, a unary
//! `Sleep` in flight completes, and the drain is clean (exit 0).

mod support;

use core::time::Duration;
use lameduck_examples::grpc::{
    proto::{demo_client::DemoClient, SleepRequest, TicksRequest},
    DEMO,
};
use support::{bounded, each_demo, Demo};
use tonic::{transport::Channel, Code};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

async fn connect(demo: &Demo) -> Channel {
    bounded(
        "a gRPC connection",
        Channel::from_shared(format!("http://{}", demo.addr))
            .unwrap()
            .connect(),
    )
    .await
    .expect("connect")
}

fn service(name: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: name.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_streams_end_on_purpose_and_unary_calls_complete() {
    each_demo(|name| async move {
        let mut demo = Demo::start(name, &["--lame-duck-ms", "1500"]).await;
        let channel = connect(&demo).await;
        let mut health = HealthClient::new(channel.clone());
        let mut client = DemoClient::new(channel);

        for service_name in ["", DEMO] {
            let status = health.check(service(service_name)).await.unwrap();
            assert_eq!(
                status.get_ref().status(),
                ServingStatus::Serving,
                "{name}: {service_name:?}"
            );
        }
        let mut watch = health.watch(service(DEMO)).await.unwrap().into_inner();
        let first = bounded("the first Watch status", watch.message())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.status(), ServingStatus::Serving, "{name}");

        let request = TicksRequest {
            count: 0,
            interval_ms: 50,
        };
        let mut ticks = client.ticks(request).await.unwrap().into_inner();
        for n in 1..=2 {
            let tick = bounded("a tick", ticks.message()).await.unwrap().unwrap();
            assert_eq!(tick.n, n, "{name}");
        }
        // A unary call that spans the start of the drain (300 ms of lame duck first).
        let sleeping = tokio::spawn({
            let mut client = client.clone();
            async move { client.sleep(SleepRequest { ms: 1000 }).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;

        demo.term();
        let changed = bounded("the Watch change", watch.message())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            changed.status(),
            ServingStatus::NotServing,
            "{name}: at the first signal"
        );
        // The goodbye from the first signal sent this connection GOAWAY: a new call goes
        // on a new connection, still accepted during the lame duck.
        let mut fresh = HealthClient::new(connect(&demo).await);
        let status = fresh.check(service("")).await.unwrap();
        assert_eq!(
            status.get_ref().status(),
            ServingStatus::NotServing,
            "{name}"
        );

        demo.expect_line("phase: draining").await;
        let ended = bounded("the end of Watch", watch.message()).await;
        assert_eq!(
            ended.unwrap_err().code(),
            Code::Unavailable,
            "{name}: Watch ends at the drain"
        );
        let ticks_end = bounded("the end of Ticks", async {
            loop {
                match ticks.message().await {
                    Ok(Some(_)) => continue,
                    other => return other,
                }
            }
        })
        .await;
        let status = ticks_end.expect_err("Ticks ends with a status");
        assert_eq!(status.code(), Code::Unavailable, "{name}: {status:?}");

        let slept = bounded("the unary answer", sleeping).await.unwrap();
        assert_eq!(
            slept.expect("Sleep completes").get_ref().slept_ms,
            1000,
            "{name}"
        );
        drop((health, client, watch, ticks));
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(
            exit.last()
                .starts_with("shutdown: drained=true connections_left=0"),
            "{name}: {exit:?}"
        );
    })
    .await;
}
