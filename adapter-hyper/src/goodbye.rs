//! Saying goodbye on HTTP/1.1: `connection: close` on a response, from the first signal on
//! (`lameduck::Config::goodbye`). One place for the rule, for every wrapper that answers
//! requests (the counting service here, a tower layer for servers lameduck does not run).
//!
//! hyper's HTTP/1 server reads the header on the response it writes and closes the
//! connection after it, so the client leaves after a complete answer: it reconnects (to
//! whichever server its balancer picks) rather than racing the close of an idle connection
//! when the drain starts. HTTP/2 says goodbye with GOAWAY instead, per connection (see
//! `serve_connection`).

use hyper::{header, http::HeaderValue, Method, Request, Response, StatusCode, Version};

/// Whether the response to `request` can say goodbye with `connection: close`: HTTP/1.x
/// (HTTP/2 forbids the header and has GOAWAY), and not a request that may switch protocols
/// (its `101` keeps `connection: upgrade`) or open a `CONNECT` tunnel.
pub(crate) fn closable<B>(request: &Request<B>) -> bool {
    request.version() < Version::HTTP_2
        && request.method() != Method::CONNECT
        && !request.headers().contains_key(header::UPGRADE)
}

/// Makes `response` the last on its HTTP/1 connection, unless it switches protocols.
/// Call it for a [`closable`] request's response when the shutdown says goodbye.
pub(crate) fn close_after<B>(response: &mut Response<B>) {
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http1_requests_are_closable() {
        let get = |version| Request::get("/").version(version).body(()).unwrap();
        assert!(closable(&get(Version::HTTP_11)));
        assert!(closable(&get(Version::HTTP_10)));
        assert!(!closable(&get(Version::HTTP_2)));
        let upgrade = Request::get("/echo")
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "echo")
            .body(())
            .unwrap();
        assert!(!closable(&upgrade));
        let connect = Request::connect("example.com:443").body(()).unwrap();
        assert!(!closable(&connect));
    }

    #[test]
    fn close_replaces_keep_alive_and_leaves_a_switch_alone() {
        let mut response = Response::builder()
            .header(header::CONNECTION, "keep-alive")
            .body(())
            .unwrap();
        close_after(&mut response);
        let values: Vec<_> = response
            .headers()
            .get_all(header::CONNECTION)
            .iter()
            .collect();
        assert_eq!(values, ["close"]);
        let mut switching = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .body(())
            .unwrap();
        close_after(&mut switching);
        assert_eq!(switching.headers()[header::CONNECTION], "upgrade");
    }
}
