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

/// What a request is to the goodbye rule, read with one header lookup at the most (it runs
/// for every request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Plain HTTP/1.x: its response can say goodbye with `connection: close`.
    Closable,
    /// HTTP/1.x that may switch protocols (an `upgrade` header: its `101` keeps
    /// `connection: upgrade`) or open a `CONNECT` tunnel (`connect`).
    Upgrade { connect: bool },
    /// HTTP/2 or later: the header is forbidden; the connection says goodbye with GOAWAY.
    Http2,
}

impl Kind {
    pub(crate) fn of<B>(request: &Request<B>) -> Kind {
        if request.version() >= Version::HTTP_2 {
            Kind::Http2
        } else if request.method() == Method::CONNECT {
            Kind::Upgrade { connect: true }
        } else if request.headers().contains_key(header::UPGRADE) {
            Kind::Upgrade { connect: false }
        } else {
            Kind::Closable
        }
    }
}

/// Makes `response` the last on its HTTP/1 connection, unless it switches protocols.
/// Call it for a [`Kind::Closable`] request's response when the shutdown says goodbye.
/// Out of line: only responses from the first signal on take it.
#[cold]
#[inline(never)]
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
        assert_eq!(Kind::of(&get(Version::HTTP_11)), Kind::Closable);
        assert_eq!(Kind::of(&get(Version::HTTP_10)), Kind::Closable);
        assert_eq!(Kind::of(&get(Version::HTTP_2)), Kind::Http2);
        assert_eq!(Kind::of(&get(Version::HTTP_3)), Kind::Http2);
        let upgrade = Request::get("/echo")
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "echo")
            .body(())
            .unwrap();
        assert_eq!(Kind::of(&upgrade), Kind::Upgrade { connect: false });
        let connect = Request::connect("example.com:443").body(()).unwrap();
        assert_eq!(Kind::of(&connect), Kind::Upgrade { connect: true });
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
