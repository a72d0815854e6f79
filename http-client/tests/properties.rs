//! Property tests through a real socket: a response written in pieces cut at arbitrary points
//! reads back as the response that was generated, whatever its framing; and arbitrary bytes in
//! place of a response (or of its body) end in `Ok` or an error, never a panic or a hang.
//!
//! The decoders' own properties, on plain bytes and with many more cases, are unit tests in
//! `src/body.rs` and `src/head.rs`.

mod support;

use std::time::Duration;

use http_client::Client;
use proptest::prelude::*;
use proptest::sample::Index;
use reactor::time::sleep;
use support::{read_request, run, serve_connections};

/// Few cases: each one is a connection and a few milliseconds of pauses.
const CASES: u32 = 48;

/// How a generated response marks the end of its body.
#[derive(Debug, Clone)]
enum Framing {
    /// `Content-Length`.
    Length,
    /// Chunked, cut into chunks of these sizes (the rest in one last chunk).
    Chunked(Vec<usize>),
    /// Until the server closes the connection.
    Close,
}

/// A response the test generated, so what the client must read back is known.
#[derive(Debug, Clone)]
struct Generated {
    /// The status code the client must report.
    status: u16,
    /// Extra header fields (`x-...`), each of which the client must report.
    headers: Vec<(String, String)>,
    /// The body the client must read back, byte for byte.
    body: Vec<u8>,
    /// How the body is framed on the wire.
    framing: Framing,
}

impl Generated {
    fn encode(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} Whatever\r\n", self.status).into_bytes();
        for (name, value) in &self.headers {
            out.extend(format!("{name}: {value}\r\n").bytes());
        }
        match &self.framing {
            Framing::Length => {
                out.extend(format!("Content-Length: {}\r\n\r\n", self.body.len()).bytes());
                out.extend_from_slice(&self.body);
            }
            Framing::Chunked(sizes) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut rest = &self.body[..];
                for &size in sizes.iter().chain([&usize::MAX]) {
                    let (chunk, after) = rest.split_at(size.min(rest.len()));
                    if !chunk.is_empty() {
                        out.extend(format!("{:X};ext={size}\r\n", chunk.len()).bytes());
                        out.extend_from_slice(chunk);
                        out.extend_from_slice(b"\r\n");
                    }
                    rest = after;
                }
                out.extend_from_slice(b"0\r\nX-Trailer: done\r\n\r\n");
            }
            Framing::Close => {
                out.extend_from_slice(b"Connection: close\r\n\r\n");
                out.extend_from_slice(&self.body);
            }
        }
        out
    }
}

fn generated() -> impl Strategy<Value = Generated> {
    let header = ("x-[a-z0-9]{1,10}", "[!-~]([ -~]{0,20}[!-~])?");
    let framing = prop_oneof![
        Just(Framing::Length),
        prop::collection::vec(1usize..700, 0..8).prop_map(Framing::Chunked),
        Just(Framing::Close),
    ];
    (
        prop::sample::select(vec![200u16, 201, 206, 404, 500, 599]),
        prop::collection::vec(header, 0..6),
        prop::collection::vec(any::<u8>(), 0..3000),
        framing,
    )
        .prop_map(|(status, headers, body, framing)| Generated {
            status,
            headers,
            body,
            framing,
        })
}

/// Splits `bytes` at the given points (in any order, repeats allowed).
fn split(bytes: &[u8], cuts: &[Index]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for point in points.into_iter().chain([bytes.len()]) {
        pieces.push(bytes[start..point].to_vec());
        start = point;
    }
    pieces
}

/// A server that answers one request by writing `pieces` with a pause after each, so that the
/// client reads them separately; then closes, or (with `linger`) keeps the connection open, so
/// a client that waited for the close instead of minding the framing would hang.
async fn writes_in_pieces(pieces: Vec<Vec<u8>>, linger: bool) -> support::Server {
    serve_connections(move |stream, _, _| {
        let pieces = pieces.clone();
        async move {
            let mut pending = Vec::new();
            read_request(&stream, &mut pending).await;
            for piece in pieces {
                if stream.write_all(&piece).await.is_err() {
                    return;
                }
                sleep(Duration::from_millis(1)).await;
            }
            if linger {
                sleep(Duration::from_secs(60)).await;
            }
        }
    })
    .await
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn a_response_in_arbitrary_pieces_reads_back_as_generated(
        response in generated(),
        cuts in prop::collection::vec(any::<Index>(), 0..6),
    ) {
        let pieces = split(&response.encode(), &cuts);
        let linger = !matches!(response.framing, Framing::Close);
        let (status, headers, body) = run(async {
            let server = writes_in_pieces(pieces, linger).await;
            let reply = Client::new().get(server.url("/")).send().await.unwrap();
            let status = reply.status().as_u16();
            let headers = reply.headers().clone();
            (status, headers, reply.bytes().await.unwrap())
        });
        prop_assert_eq!(status, response.status);
        for (name, value) in &response.headers {
            let values: Vec<_> = headers.get_all(name.as_str()).iter().collect();
            prop_assert!(values.iter().any(|v| v.as_bytes() == value.as_bytes()), "{name}: {values:?}");
        }
        prop_assert_eq!(&body[..], &response.body[..]);
    }

    #[test]
    fn arbitrary_bytes_as_a_response_never_panic_or_hang(
        prefix in prop::sample::select(vec![
            "",
            "HTTP/1.1 200 OK\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
        ]),
        garbage in prop::collection::vec(any::<u8>(), 0..2000),
        cuts in prop::collection::vec(any::<Index>(), 0..4),
    ) {
        let mut bytes = prefix.as_bytes().to_vec();
        bytes.extend_from_slice(&garbage);
        let pieces = split(&bytes, &cuts);
        run(async {
            // The server closes after the garbage: whatever it meant, the client must be done.
            let server = writes_in_pieces(pieces, false).await;
            let client = Client::new();
            if let Ok(response) = client.get(server.url("/")).send().await {
                let _ = response.bytes().await;
            }
        });
    }
}
