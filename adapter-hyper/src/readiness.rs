//! A readiness answer for health endpoints.

use hyper::{header, Response, StatusCode};
use lameduck::Handle;

/// The answer for a readiness endpoint (`/healthz`): `200 ok` while running, `503 draining`
/// from the lame-duck phase on, so a load balancer moves traffic away before the
/// listener closes.
///
/// ```
/// use lameduck::{Config, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let response = lameduck_hyper::readiness(&shutdown.handle());
/// assert_eq!(response.status(), 200);
/// ```
pub fn readiness(handle: &Handle) -> Response<String> {
    let (status, body) = if handle.is_ready() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    };
    let mut response = Response::new(String::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    response
}
