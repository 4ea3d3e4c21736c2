//! gRPC on the demos' port: `lameduck.demo.v1.Demo` (`demo.proto`: `Sleep`, `Ticks`) and
//! `grpc.health.v1.Health`, tonic services served through `lameduck_hyper::serve` beside
//! the HTTP routes, runtime-agnostic (time comes from a [`lameduck::runtime::Runtime`]). The health
//! statuses follow the phases (`lameduck_hyper::grpc::health`), and the streams still open
//! when draining starts end with `UNAVAILABLE` (`lameduck_hyper::grpc::EndStreams`).

use bytes::Bytes;
use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use futures_util::{future::Either, Stream};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt};
use hyper::{header::CONTENT_TYPE, Request, Response};
use lameduck::{runtime::Runtime, Handle};
use lameduck_hyper::grpc::EndStreams;
use tonic::{server::NamedService, Status};

/// The code tonic generates from `demo.proto`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    unreachable_pub,
    unnameable_types,
    clippy::all
)]
pub mod proto {
    tonic::include_proto!("lameduck.demo.v1");
}

use proto::{
    demo_server::{Demo as DemoApi, DemoServer},
    SleepReply, SleepRequest, Tick, TicksRequest,
};

/// The error of every body [`WithGrpc`] answers with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body [`WithGrpc`] answers with: an HTTP route's or a gRPC one's.
pub type MixedBody = UnsyncBoxBody<Bytes, BoxError>;

/// The demo service, on `runtime`'s timer.
#[derive(Clone, Debug)]
pub struct DemoService<R> {
    runtime: R,
}

#[tonic::async_trait]
impl<R: Runtime> DemoApi for DemoService<R> {
    async fn sleep(
        &self,
        request: tonic::Request<SleepRequest>,
    ) -> Result<tonic::Response<SleepReply>, Status> {
        let ms = request.into_inner().ms;
        self.runtime.sleep(Duration::from_millis(ms.into())).await;
        Ok(tonic::Response::new(SleepReply { slept_ms: ms }))
    }

    type TicksStream = Pin<Box<dyn Stream<Item = Result<Tick, Status>> + Send>>;

    async fn ticks(
        &self,
        request: tonic::Request<TicksRequest>,
    ) -> Result<tonic::Response<Self::TicksStream>, Status> {
        let TicksRequest { count, interval_ms } = request.into_inner();
        let interval = Duration::from_millis(interval_ms.into());
        let runtime = self.runtime.clone();
        let ticks = futures_util::stream::unfold(1u32, move |n| {
            let runtime = runtime.clone();
            async move {
                if count != 0 && n > count {
                    return None;
                }
                if n > 1 {
                    runtime.sleep(interval).await;
                }
                Some((Ok(Tick { n }), n.checked_add(1)?))
            }
        });
        Ok(tonic::Response::new(Box::pin(ticks)))
    }
}

/// The name of the demo service, as the health service knows it.
///
/// ```
/// assert_eq!(lameduck_examples::grpc::DEMO, "lameduck.demo.v1.Demo");
/// ```
pub const DEMO: &str = <DemoServer<DemoService<lameduck_smol::Smol>> as NamedService>::NAME;

/// `http` (the HTTP routes) with the gRPC services beside it: a request with
/// `content-type: application/grpc…` goes to gRPC. Made by [`with_grpc`].
#[derive(Clone)]
pub struct WithGrpc<S> {
    http: S,
    grpc: EndStreams<tonic::service::Routes>,
}

impl<S> core::fmt::Debug for WithGrpc<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WithGrpc").finish_non_exhaustive()
    }
}

/// `http` with the demo's gRPC services beside it, for `handle`'s shutdown on `runtime`:
/// spawns the health bridge (`SERVING`, then `NOT_SERVING` from the first signal).
///
/// ```
/// # smol::block_on(async {
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let runtime = lameduck_smol::Smol::new();
/// let routes = lameduck_examples::routes::Routes::new(shutdown.handle(), runtime);
/// let _service = lameduck_examples::grpc::with_grpc(routes, shutdown.handle(), runtime);
/// # });
/// ```
pub fn with_grpc<S, R: Runtime>(http: S, handle: Handle, runtime: R) -> WithGrpc<S> {
    let (reporter, health) = tonic_health::server::health_reporter();
    runtime.spawn(lameduck_hyper::grpc::health(
        handle.clone(),
        reporter,
        [DEMO],
    ));
    let routes =
        tonic::service::Routes::new(health).add_service(DemoServer::new(DemoService { runtime }));
    WithGrpc {
        http,
        grpc: EndStreams::new(routes, handle),
    }
}

fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

impl<S, B, ReqB> tower_service::Service<Request<ReqB>> for WithGrpc<S>
where
    S: tower_service::Service<Request<ReqB>, Response = Response<B>> + Clone + Send + 'static,
    ReqB: http_body::Body<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<MixedBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<MixedBody>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Both are always ready (the HTTP routes and tonic's router).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let answer = if is_grpc(&request) {
            let mut grpc = self.grpc.clone();
            Either::Left(async move {
                let Ok(response) = tower_service::Service::call(&mut grpc, request).await;
                Ok::<_, BoxError>(response.map(|body| body.map_err(BoxError::from).boxed_unsync()))
            })
        } else {
            let mut http = self.http.clone();
            Either::Right(async move {
                let response = http.call(request).await.map_err(Into::into)?;
                Ok(response.map(|body| body.map_err(Into::into).boxed_unsync()))
            })
        };
        Box::pin(answer)
    }
}
