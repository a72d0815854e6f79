//! Redirects: whether a response is one to follow, and the request that follows it.
//!
//! The rules are RFC 9110 section 15.4's, with what browsers do where it leaves a choice:
//! - 301, 302, 303, 307 and 308 with a `Location` are followed; other 3xx (300, 304, 305) and a
//!   redirect without `Location` come back to the caller as they are.
//! - 303 turns the method into GET (HEAD stays HEAD); 301 and 302 turn POST into GET, as every
//!   browser does; 307 and 308 keep the method. A method turned into GET loses the header fields
//!   that described the (absent) content.
//! - `Location` may be relative: it is resolved against the URL that sent it.
//! - Credentials (`Authorization`, `Proxy-Authorization`, `Cookie`) and a caller's `Host` are
//!   dropped when the redirect leads to another host or port.

use http::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH, CONTENT_LOCATION,
    CONTENT_TYPE, COOKIE, HOST, LOCATION, PROXY_AUTHORIZATION,
};
use http::{HeaderMap, Method, StatusCode};

use crate::Error;
use crate::request::Request;

/// The request to send after `request` got a response with `status` and `headers`, or `None` if
/// that response is not a redirect to follow.
pub(crate) fn next_request(
    request: &Request,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<Option<Request>, Error> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(location) = headers.get(LOCATION) else {
        return Ok(None);
    };
    let malformed = |what: String| Error::MalformedResponse {
        url: request.url.uri.clone(),
        what,
    };
    let location = location
        .to_str()
        .map_err(|_| malformed("a Location that is not ASCII".to_owned()))?;
    let url = match request.url.join(location) {
        Ok(url) => url,
        // The target's scheme is the server's choice; the error names the URL it chose.
        Err(e @ Error::UnsupportedScheme { .. }) => return Err(e),
        Err(e) => return Err(malformed(format!("a redirect to an invalid URL ({e})"))),
    };

    let method = match (status.as_u16(), &request.method) {
        (303, &Method::HEAD) => Method::HEAD,
        (303, _) | (301 | 302, &Method::POST) => Method::GET,
        (_, method) => method.clone(),
    };
    let mut headers = request.headers.clone();
    if method != request.method {
        for name in [
            CONTENT_LENGTH,
            CONTENT_TYPE,
            CONTENT_ENCODING,
            CONTENT_LANGUAGE,
            CONTENT_LOCATION,
        ] {
            headers.remove(name);
        }
    }
    if !request.url.same_origin(&url) {
        for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE, HOST] {
            headers.remove(name);
        }
    }
    tracing::debug!(target: "glass::http", %status, from = %request.url.uri, to = %url.uri, "redirect");
    Ok(Some(Request {
        method,
        url,
        headers,
    }))
}
