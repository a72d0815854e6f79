//! Requests: [`RequestBuilder`], what the caller fills in, and [`Request`], what goes on the wire,
//! written out by [`Request::encode_head`].

use http::Method;
use http::header::{
    ACCEPT_ENCODING, CONTENT_LENGTH, HOST, HeaderMap, HeaderName, HeaderValue, USER_AGENT,
};

use crate::url::{IntoUrl, Url};
use crate::{Client, Error, Response};

/// The `User-Agent` sent unless the caller sets one.
const USER_AGENT_VALUE: &str = concat!("glass/", env!("CARGO_PKG_VERSION"));

/// A request being put together; [`send`](RequestBuilder::send) sends it. Made by
/// [`Client::get`] and [`Client::request`].
///
/// glass sends no request bodies: this client is for fetching.
#[must_use = "a request does nothing until it is sent"]
#[derive(Debug)]
pub struct RequestBuilder {
    /// The client whose settings and connections the request uses.
    client: Client,
    /// The method.
    method: Method,
    /// The URL, or why it is not one; an error waits for `send`, so that building stays chainable.
    url: Result<Url, Error>,
    /// The caller's header fields.
    headers: HeaderMap,
    /// The first header the caller got wrong, reported by `send` for the same reason.
    invalid_header: Option<http::Error>,
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder {
            client,
            method,
            url: url.into_url(),
            headers: HeaderMap::new(),
            invalid_header: None,
        }
    }

    /// Adds a header field (`"range"`, `"bytes=0-99"`, or the `http` crate's typed names and
    /// values). A field the client would send anyway (`Host`, `User-Agent`, `Accept-Encoding`)
    /// replaces the default. An invalid name or value makes `send` fail with
    /// [`Error::InvalidHeader`].
    pub fn header<K, V>(mut self, name: K, value: V) -> RequestBuilder
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        let name = HeaderName::try_from(name).map_err(Into::into);
        let value = HeaderValue::try_from(value).map_err(Into::into);
        match (name, value) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(e), _) | (_, Err(e)) => {
                self.invalid_header.get_or_insert(e);
            }
        }
        self
    }

    /// Sends the request and waits for the response's head (its body is read later, from the
    /// [`Response`]). Redirects are followed as the client is set to.
    pub async fn send(self) -> Result<Response, Error> {
        let url = self.url?;
        if let Some(source) = self.invalid_header {
            return Err(Error::InvalidHeader {
                url: url.uri,
                source,
            });
        }
        let request = Request {
            method: self.method,
            url,
            headers: self.headers,
        };
        self.client.execute(request).await
    }
}

/// A request as it goes to one server; a redirect makes the next one.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The method.
    pub(crate) method: Method,
    /// Where to send it.
    pub(crate) url: Url,
    /// The caller's header fields (less those a redirect had to drop).
    pub(crate) headers: HeaderMap,
}

impl Request {
    /// The request line and header fields, ready to write: the caller's fields, preceded by the
    /// defaults the caller did not set.
    pub(crate) fn encode_head(&self) -> Vec<u8> {
        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(self.method.as_str().as_bytes());
        head.push(b' ');
        head.extend_from_slice(self.url.target().as_bytes());
        head.extend_from_slice(b" HTTP/1.1\r\n");
        let defaults: [(HeaderName, &str); 3] = [
            (HOST, self.url.host_header()),
            (USER_AGENT, USER_AGENT_VALUE),
            // Compressed bodies would need decoding, which this client does not do.
            (ACCEPT_ENCODING, "identity"),
        ];
        for (name, value) in &defaults {
            if !self.headers.contains_key(name) {
                field(&mut head, name.as_str(), value.as_bytes());
            }
        }
        // RFC 9110 section 8.6: a method that usually carries content says when there is none.
        let expects_content = matches!(self.method, Method::POST | Method::PUT | Method::PATCH);
        if expects_content && !self.headers.contains_key(CONTENT_LENGTH) {
            field(&mut head, "content-length", b"0");
        }
        for (name, value) in &self.headers {
            field(&mut head, name.as_str(), value.as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        head
    }
}

fn field(head: &mut Vec<u8>, name: &str, value: &[u8]) {
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
}
