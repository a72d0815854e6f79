//! Prints the body at a URL: `cargo run -p http-client --example fetch -- http://example.com/`.
//! An error goes to stderr, and the exit status is 1.

fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: fetch URL");
        std::process::exit(2);
    };
    executor::block_on(async {
        let data = fetch_data_from(url).await;
        println!("{data}");
    });
}

async fn fetch_data_from(url: String) -> String {
    let response = http_client::get(url)
        .await
        .unwrap_or_else(|error| fail(error));
    response.text().await.unwrap_or_else(|error| fail(error))
}

fn fail(error: http_client::Error) -> ! {
    eprintln!("fetch: {error}");
    std::process::exit(1);
}
