//! URLs: [`IntoUrl`] (what the API accepts), [`Url`] (a URL checked to be fetchable), and
//! [`Url::join`], which resolves a redirect's `Location` against the URL that sent it.

use http::Uri;

use crate::Error;

/// Something that names an `http://` or `https://` URL: a `&str`, a `String`, or an [`http::Uri`].
pub trait IntoUrl: sealed::Sealed {}

mod sealed {
    use crate::Error;
    use crate::url::Url;

    pub trait Sealed {
        fn into_url(self) -> Result<Url, Error>;
    }
}

use sealed::Sealed;

impl IntoUrl for &str {}
impl Sealed for &str {
    fn into_url(self) -> Result<Url, Error> {
        match self.parse::<Uri>() {
            Ok(uri) => Url::new(uri),
            Err(e) => Err(invalid(self, e.to_string())),
        }
    }
}

impl IntoUrl for String {}
impl Sealed for String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }
}

impl IntoUrl for &String {}
impl Sealed for &String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }
}

impl IntoUrl for Uri {}
impl Sealed for Uri {
    fn into_url(self) -> Result<Url, Error> {
        Url::new(self)
    }
}

impl IntoUrl for &Uri {}
impl Sealed for &Uri {
    fn into_url(self) -> Result<Url, Error> {
        Url::new(self.clone())
    }
}

/// An `http://` or `https://` URL with a host: everything needed to connect and to write a
/// request line.
/// (`http::Uri` has already dropped any `#fragment`, which is never sent.)
///
/// `pub` only because the sealed [`IntoUrl`] names it; this module is private, so no caller can.
#[derive(Debug, Clone)]
pub struct Url {
    /// The URL itself, what [`Response::url`](crate::Response::url) and errors show.
    pub(crate) uri: Uri,
    /// Whether the connection is plain TCP or TLS over it.
    pub(crate) scheme: Scheme,
    /// The host to connect to: a name, or an IP address without IPv6's brackets.
    pub(crate) host: String,
    /// The port to connect to (the scheme's default, 80 or 443, unless the URL says otherwise).
    pub(crate) port: u16,
}

/// The two schemes glass fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Scheme {
    /// `http://`: HTTP/1.1 straight on TCP.
    Http,
    /// `https://`: HTTP/1.1 in a TLS session on TCP.
    Https,
}

impl Scheme {
    /// The port a URL of this scheme means when it names none.
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl Url {
    fn new(uri: Uri) -> Result<Url, Error> {
        // `http::Uri` has lowercased the scheme already.
        let scheme = match uri.scheme_str() {
            Some("http") => Scheme::Http,
            Some("https") => Scheme::Https,
            Some(_) => return Err(Error::UnsupportedScheme { url: uri }),
            None => {
                return Err(invalid(
                    &uri.to_string(),
                    "no scheme (expected http:// or https://)",
                ));
            }
        };
        let Some(authority) = uri.authority() else {
            return Err(invalid(&uri.to_string(), "no host"));
        };
        if authority.as_str().contains('@') {
            // Credentials would have to be sent as `Authorization: Basic`; rather than send them
            // half-supported, say so. A caller can set the header itself.
            return Err(invalid(
                &uri.to_string(),
                "credentials in the URL are not supported (set an Authorization header instead)",
            ));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(invalid(&uri.to_string(), "empty host"));
        }
        // `http::Uri` accepts any digits as a port but reports one over 65535 as no port at all,
        // so the port is read from the authority here. (`]` ends an IPv6 address, not a port.)
        let port = match authority.as_str().rsplit_once(':') {
            Some((_, port)) if !port.is_empty() && !port.contains(']') => match port.parse() {
                Ok(port) => port,
                Err(_) => return Err(invalid(&uri.to_string(), "port out of range")),
            },
            _ => scheme.default_port(),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Url {
            uri,
            scheme,
            host,
            port,
        })
    }

    /// The `Host` header's value: the host and, if the URL names one, the port, as written.
    pub(crate) fn host_header(&self) -> &str {
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        // `http://a:/` has an empty port, which RFC 3986 allows and `Host` should not repeat.
        authority.strip_suffix(':').unwrap_or(authority)
    }

    /// The request target of the request line: the path and query, never empty.
    pub(crate) fn target(&self) -> String {
        match self.uri.path_and_query().map(|p| p.as_str()) {
            None | Some("") => "/".to_owned(),
            // `http://a?q` has a query but no path.
            Some(pq) if pq.starts_with('?') => format!("/{pq}"),
            Some(pq) => pq.to_owned(),
        }
    }

    /// Whether `other` has the same scheme, host and port (the same origin, RFC 6454), so that
    /// credentials may follow a redirect. `http://a` and `https://a` are different origins: a
    /// password sent over TLS must not follow a redirect to plain text, nor the reverse.
    pub(crate) fn same_origin(&self, other: &Url) -> bool {
        self.scheme == other.scheme
            && self.host.eq_ignore_ascii_case(&other.host)
            && self.port == other.port
    }

    /// Resolves a `Location` (absolute or relative) against this URL, as RFC 3986 section 5.2
    /// says. The result may have another scheme; [`IntoUrl`] rejects it then.
    pub(crate) fn join(&self, location: &str) -> Result<Url, Error> {
        // The fragment is never sent, so it can go before anything else is looked at.
        let location = location.split('#').next().unwrap_or_default();
        let scheme = self.uri.scheme_str().unwrap_or("http");
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        let (base_path, base_query) =
            split_query(self.uri.path_and_query().map_or("/", |p| p.as_str()));

        let absolute = if has_scheme(location) {
            location.to_owned()
        } else if location.starts_with("//") {
            format!("{scheme}:{location}")
        } else if location.is_empty() {
            format!(
                "{scheme}://{authority}{}",
                join_query(base_path, base_query)
            )
        } else if let Some(query) = location.strip_prefix('?') {
            format!("{scheme}://{authority}{base_path}?{query}")
        } else {
            let (path, query) = split_query(location);
            let merged = if path.starts_with('/') {
                path.to_owned()
            } else {
                // Everything up to the base's last `/` is the directory the reference is in.
                let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
                let dir = if dir.is_empty() { "/" } else { dir };
                format!("{dir}{path}")
            };
            let path = remove_dot_segments(&merged);
            format!("{scheme}://{authority}{}", join_query(&path, query))
        };
        absolute.as_str().into_url()
    }
}

/// Whether a reference starts with `scheme:` (RFC 3986: a letter, then letters, digits, `+-.`).
fn has_scheme(reference: &str) -> bool {
    let Some(colon) = reference.find(':') else {
        return false;
    };
    let scheme = &reference[..colon];
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn split_query(path_and_query: &str) -> (&str, Option<&str>) {
    match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    }
}

fn join_query(path: &str, query: Option<&str>) -> String {
    match query {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    }
}

/// RFC 3986 section 5.2.4: `/a/b/../c/./d` becomes `/a/c/d`; `..` never climbs above the root.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." | ".." => {
                if *segment == ".." {
                    output.pop();
                }
                // `/a/b/..` ends in a directory, so the result keeps its trailing slash.
                if last {
                    output.push("");
                }
            }
            segment => output.push(segment),
        }
    }
    format!("/{}", output.join("/"))
}

fn invalid(url: &str, reason: impl Into<String>) -> Error {
    Error::InvalidUrl {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(base: &str, location: &str) -> String {
        let base = base.into_url().unwrap();
        base.join(location).unwrap().uri.to_string()
    }

    #[test]
    fn relative_locations_resolve_as_rfc_3986_says() {
        let base = "http://a/b/c/d;p?q";
        // The normal examples of RFC 3986 section 5.4.1 that stay within http.
        assert_eq!(join(base, "g"), "http://a/b/c/g");
        assert_eq!(join(base, "./g"), "http://a/b/c/g");
        assert_eq!(join(base, "g/"), "http://a/b/c/g/");
        assert_eq!(join(base, "/g"), "http://a/g");
        assert_eq!(join(base, "//g"), "http://g/");
        assert_eq!(join(base, "?y"), "http://a/b/c/d;p?y");
        assert_eq!(join(base, "g?y"), "http://a/b/c/g?y");
        assert_eq!(join(base, "#s"), "http://a/b/c/d;p?q");
        assert_eq!(join(base, "g#s"), "http://a/b/c/g");
        assert_eq!(join(base, ""), "http://a/b/c/d;p?q");
        assert_eq!(join(base, "."), "http://a/b/c/");
        assert_eq!(join(base, "./"), "http://a/b/c/");
        assert_eq!(join(base, ".."), "http://a/b/");
        assert_eq!(join(base, "../g"), "http://a/b/g");
        assert_eq!(join(base, "../.."), "http://a/");
        assert_eq!(join(base, "../../g"), "http://a/g");
        assert_eq!(join(base, "../../../g"), "http://a/g");
        assert_eq!(join(base, "http://other:8080/x"), "http://other:8080/x");
    }

    #[test]
    fn a_url_without_a_path_requests_the_root() {
        assert_eq!("http://a".into_url().unwrap().target(), "/");
        assert_eq!("http://a?q=1".into_url().unwrap().target(), "/?q=1");
        assert_eq!(
            "http://a:8080/x?y".into_url().unwrap().host_header(),
            "a:8080"
        );
    }

    #[test]
    fn urls_that_cannot_be_fetched_are_refused() {
        let https = "HTTPS://a/".into_url().unwrap();
        assert_eq!((https.scheme, https.port), (Scheme::Https, 443));
        assert_eq!("http://a/".into_url().unwrap().port, 80);
        assert!(
            !https.same_origin(&"http://a:443/".into_url().unwrap()),
            "another scheme is another origin"
        );
        assert!(matches!(
            "ftp://a/".into_url(),
            Err(Error::UnsupportedScheme { .. })
        ));
        assert!(matches!("/path".into_url(), Err(Error::InvalidUrl { .. })));
        assert!(matches!(
            "http://a:99999/".into_url(),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            "http://u:p@a/".into_url(),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            "not a url".into_url(),
            Err(Error::InvalidUrl { .. })
        ));
        let v6 = "http://[::1]:81/".into_url().unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 81));
    }
}
