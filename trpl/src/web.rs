//! [`get`] and [`Response`] (glass's HTTP client), and [`Html`] (the `scraper` crate), for the
//! chapter's page-title examples.

use std::fmt;

/// Fetches `url` with a GET request (`http://` or `https://`, redirects followed) and returns the
/// response once its head has arrived. Every `.await` inside ends in a read or write on a glass
/// `TcpStream`: the task's waker waits in the reactor until the socket is ready.
///
/// # Panics
/// If the request fails (a bad URL, a refused connection, a certificate not trusted...), as the
/// book's trpl does, to keep the listings short. The message names the URL and the cause.
pub async fn get(url: &str) -> Response {
    match http_client::get(url).await {
        Ok(response) => Response(response),
        Err(e) => panic!("trpl::get({url:?}) failed: {e}"),
    }
}

/// A response whose head has arrived and whose body has not.
pub struct Response(http_client::Response);

impl Response {
    /// Reads the whole body and returns it as text (UTF-8; invalid sequences become U+FFFD).
    ///
    /// # Panics
    /// If reading the body fails (the connection is cut, the framing is broken).
    pub async fn text(self) -> String {
        let url = self.0.url().to_string();
        match self.0.text().await {
            Ok(text) => text,
            Err(e) => panic!("reading the body of {url} failed: {e}"),
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Response").field(&self.0).finish()
    }
}

/// A parsed HTML document: a thin wrapper around `scraper::Html`, as in the book's trpl.
pub struct Html {
    inner: scraper::Html,
}

impl Html {
    /// Parses a whole HTML document (never fails: HTML parsing recovers from any input).
    pub fn parse(source: &str) -> Html {
        Html {
            inner: scraper::Html::parse_document(source),
        }
    }

    /// The first element matching the CSS `selector`, if any.
    ///
    /// ```
    /// let page = trpl::Html::parse("<html><head><title>Hi</title></head></html>");
    /// let title = page.select_first("title").map(|t| t.inner_html());
    /// assert_eq!(title.as_deref(), Some("Hi"));
    /// ```
    ///
    /// # Panics
    /// If `selector` is not valid CSS (a programming error in the listing, as in trpl).
    pub fn select_first<'a>(&'a self, selector: &'a str) -> Option<scraper::ElementRef<'a>> {
        let parsed = scraper::Selector::parse(selector)
            .unwrap_or_else(|e| panic!("{selector:?} is not a valid CSS selector: {e}"));
        self.inner.select(&parsed).next()
    }
}
