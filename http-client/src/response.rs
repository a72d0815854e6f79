//! [`Response`]: the status and headers at once, the body as it arrives.

use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode, Uri, Version};

use crate::Error;
use crate::body::{self, Decoder};
use crate::connection::Connection;
use crate::head::Head;
use crate::pool::{Key, Pool};
use crate::timeouts::Timeouts;

/// How much [`Response::bytes`] reserves up front from a `Content-Length`: more would let a server
/// that announces a huge body make us allocate it before sending a byte.
const MAX_PREALLOCATION: u64 = 16 * 1024 * 1024;

/// A response: its head has been read, its body has not. Read the body piece by piece with
/// [`chunk`](Response::chunk), or whole with [`bytes`](Response::bytes) or
/// [`text`](Response::text).
///
/// Reading the body to its end lets the connection serve the next request to the same server;
/// dropping a response before that closes the connection.
#[derive(Debug)]
pub struct Response {
    /// The status line and header fields.
    head: Head,
    /// The URL that gave this response, after any redirects.
    url: Uri,
    /// The length the server announced, if it announced one it can be held to.
    content_length: Option<u64>,
    /// Where the body comes from.
    body: Body,
}

/// The body's source, and what becomes of the connection after it.
#[derive(Debug)]
struct Body {
    /// The connection the body arrives on; `None` once the body is done (the connection has gone
    /// back to the pool or been closed) or reading it has failed.
    conn: Option<Connection>,
    /// Finds the body in the bytes read, and its end.
    decoder: Decoder,
    /// Whether the response allows the connection to be reused (HTTP/1.1, no `Connection: close`).
    keep_alive: bool,
    /// Where the connection goes once the body is done, and under which host and port.
    pool: Rc<Pool>,
    /// The pool's key for this connection.
    key: Key,
    /// The request's time limits, which go on while the body is read.
    timeouts: Timeouts,
}

impl Response {
    /// A response whose head has just been read from `conn`, in answer to `method`.
    pub(crate) fn new(
        method: &Method,
        head: Head,
        url: Uri,
        conn: Connection,
        (pool, key): (Rc<Pool>, Key),
        timeouts: Timeouts,
    ) -> Result<Response, Error> {
        let decoder = Decoder::for_response(method, &head).map_err(|e| e.at(&url))?;
        let content_length = head.content_length();
        let keep_alive = body::keep_alive(&head);
        let mut response = Response {
            head,
            url,
            content_length,
            body: Body {
                conn: Some(conn),
                decoder,
                keep_alive,
                pool,
                key,
                timeouts,
            },
        };
        // A response without a body (HEAD, 204, 304, `Content-Length: 0`) is done already.
        response.body.release_if_done();
        Ok(response)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.head.status
    }

    /// The header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The HTTP version the server answered with (1.0 or 1.1).
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// The body's length as the server announced it in `Content-Length`; `None` for a chunked or
    /// close-delimited body. For a response to HEAD (or a 304) this is the length a GET would
    /// have returned, not the (empty) body of this one.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The URL this response came from, after any redirects.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The next piece of the body, as it arrives; `Ok(None)` once the body has ended. A body that
    /// ends too early (the connection closes or resets) is an error, never a short `Ok`.
    ///
    /// The pieces are slices of the connection's read buffer, handed over without copying.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let body = &mut self.body;
        loop {
            let Some(conn) = body.conn.as_mut() else {
                if body.decoder.is_done() {
                    return Ok(None);
                }
                // An earlier call returned the error; the body cannot be resumed.
                return Err(Error::Io {
                    url: self.url.clone(),
                    source: std::io::Error::other("reading this body has already failed"),
                });
            };
            match body.decoder.decode(&mut conn.buf) {
                Ok(Some(data)) => {
                    body.release_if_done();
                    return Ok(Some(data));
                }
                Ok(None) if body.decoder.is_done() => {
                    body.release_if_done();
                    return Ok(None);
                }
                Ok(None) => {}
                Err(e) => {
                    body.conn = None;
                    return Err(e.at(&self.url));
                }
            }
            match conn.fill(&body.timeouts, &self.url).await {
                Ok(0) => {
                    body.conn = None;
                    body.decoder.at_eof().map_err(|e| e.at(&self.url))?;
                }
                Ok(_) => {}
                Err(e) => {
                    body.conn = None;
                    return Err(e);
                }
            }
        }
    }

    /// The whole body, read to its end. A body that arrives in one read is returned as is; a
    /// longer one is gathered into one buffer.
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        let Some(first) = self.chunk().await? else {
            return Ok(Bytes::new());
        };
        let Some(second) = self.chunk().await? else {
            return Ok(first);
        };
        let announced = self.content_length.unwrap_or(0).min(MAX_PREALLOCATION) as usize;
        let mut all = BytesMut::with_capacity(announced.max(first.len() + second.len()));
        all.extend_from_slice(&first);
        all.extend_from_slice(&second);
        while let Some(piece) = self.chunk().await? {
            all.extend_from_slice(&piece);
        }
        Ok(all.freeze())
    }

    /// The whole body as text. The body is taken to be UTF-8 (whatever the `Content-Type`
    /// charset says); invalid sequences become U+FFFD.
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes().await?;
        Ok(match String::from_utf8(Vec::from(bytes)) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Takes whatever of the body has already arrived, without waiting for more; if that was all
    /// of it, the connection goes back to the pool. For a redirect's body, which nobody reads.
    pub(crate) fn discard_buffered_body(&mut self) {
        let body = &mut self.body;
        if let Some(conn) = body.conn.as_mut() {
            while let Ok(Some(_)) = body.decoder.decode(&mut conn.buf) {}
        }
        body.release_if_done();
    }
}

impl Body {
    /// Once the body is done, lets go of the connection: back to the pool if it can carry another
    /// response, closed otherwise.
    fn release_if_done(&mut self) {
        if !self.decoder.is_done() {
            return;
        }
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A close-delimited body is done only when the connection is gone, so it never gets here.
        // Bytes past the end of the body were never asked for: the stream is out of step.
        if self.keep_alive && conn.buf.is_empty() {
            self.pool.checkin(self.key.clone(), conn);
        }
    }
}
