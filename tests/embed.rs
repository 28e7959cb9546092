//! replyguard's own embed script on a static page of another origin, in headless Chromium: the
//! two lines a static site adds, under a strict Content-Security-Policy. A reader posts (shown at
//! once), replies (nested), posts spam (kept visible to its author as awaiting moderation, also
//! after a reload, never shown to anyone else), sees counts on an index page; payloads stay text;
//! a page on an origin no site lists gets an error and stores nothing. With JavaScript off, the
//! `<noscript>` link leads to replyguard's own page for the thread, whose form works.

use crate::common;

use common::browser::{Driver, browser, click, type_into, wait_for, wait_text};
use common::static_site::{Page, StaticSite};
use common::{Server, agent, model, stored_comments};
use fantoccini::Locator;
use serde_json::Value;
use std::time::Duration;

const HAM: &str = "Thanks for the write-up, the part about the build cache saved me an afternoon.";
const REPLY: &str = "Glad it helped, the cache settings changed in the last release too.";
const SPAM: &str = "CHECK OUT MY CHANNEL!!! subscribe for free gift cards http://bit.ly/xyz";

/// The article page: the two lines of README's "Embed on a static site", and the `<noscript>`
/// link its Hugo partial writes.
fn article(server: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Build caches</title></head>\
         <body><h1>Build caches</h1><p>An article.</p>\
         <div id=\"replyguard-thread\"></div>\
         <script src=\"{server}embed/v1/embed.js\" data-replyguard=\"{server}\" defer></script>\
         <noscript><a id=\"noscript\" href=\"{server}sites/default/thread?uri=%2Fposts%2Fbuild-caches%2F\">\
         Read and post comments</a></noscript></body></html>"
    )
}

fn index(server: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Blog</title></head><body>\
         <a href=\"/posts/build-caches/\">Build caches</a> \
         <span id=\"post\" data-replyguard-count=\"/posts/build-caches/\">comments</span> \
         <a id=\"empty\" data-replyguard-count href=\"/posts/empty/\">comments</a>\
         <script src=\"{server}embed/v1/embed.js\" data-replyguard=\"{server}\" defer></script>\
         </body></html>"
    )
}

async fn static_site() -> StaticSite {
    StaticSite::start(vec![
        ("/posts/build-caches/", Page::Html(article)),
        ("/", Page::Html(index)),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_static_page_embeds_a_thread_with_two_lines() {
    let dir = tempfile::tempdir().unwrap();
    let site = static_site().await;
    let server = Server::start(
        &dir.path().join("db.sqlite"),
        &model(),
        &["--min-form-seconds", "0", "--site-origin", &site.base],
    );
    site.serve_for(&server.base);
    let driver = Driver::start();
    let client = browser(&driver, true, &dir.path().join("profile")).await;
    let page = format!("{}/posts/build-caches/", site.base);
    client.goto(&page).await.unwrap();
    wait_for(&client, "//section[@class='replyguard']//form").await;
    wait_text(&client, "0 Comments", true).await;
    // Required marks and the e-mail promise are on the form.
    let form = client
        .find(Locator::Css(".rg-form"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("Comment *") && form.contains("never published"),
        "{form}"
    );

    // Post: published and shown at once.
    type_into(&client, ".rg-form textarea", HAM).await;
    type_into(&client, ".rg-form input[name=author]", "Ana").await;
    type_into(&client, ".rg-form input[name=email]", "ana@example.org").await;
    click(&client, ".rg-form .rg-submit").await;
    wait_for(
        &client,
        &format!(
            "//li[contains(@class,'rg-comment')]//div[@class='rg-text'][contains(., '{HAM}')]"
        ),
    )
    .await;

    // Preview, then reply: nested under the comment.
    click(&client, ".rg-comment .rg-reply").await;
    type_into(&client, ".rg-comment .rg-form textarea", REPLY).await;
    click(&client, ".rg-comment .rg-form .rg-preview-button").await;
    wait_for(
        &client,
        &format!("//div[@class='rg-preview'][contains(., '{REPLY}')]"),
    )
    .await;
    click(&client, ".rg-comment .rg-form .rg-submit").await;
    wait_for(
        &client,
        &format!("//ol[@class='rg-replies']//div[@class='rg-text'][contains(., '{REPLY}')]"),
    )
    .await;

    // Spam: the author sees "awaiting moderation", also after a reload; nobody else sees it.
    type_into(&client, ".replyguard > .rg-form textarea", SPAM).await;
    type_into(
        &client,
        ".replyguard > .rg-form input[name=author]",
        "Promo",
    )
    .await;
    click(&client, ".replyguard > .rg-form .rg-submit").await;
    wait_text(&client, "Your comment is awaiting moderation.", true).await;
    client.goto(&page).await.unwrap();
    wait_for(
        &client,
        &format!("//ol[@class='rg-replies']//div[@class='rg-text'][contains(., '{REPLY}')]"),
    )
    .await;
    wait_for(
        &client,
        "//li[contains(@class,'rg-pending')]//p[@class='rg-note']",
    )
    .await;
    let thread: Value = agent()
        .get(&server.url("/isso/?uri=/posts/build-caches/"))
        .header("Origin", &site.base)
        .call()
        .unwrap()
        .into_body()
        .read_json()
        .unwrap();
    assert!(
        !thread.to_string().contains("CHECK OUT MY CHANNEL"),
        "{thread}"
    );
    assert!(
        stored_comments(&server)
            .iter()
            .any(|c| c["content"] == SPAM && c["status"] != "published")
    );

    // Payloads stay text.
    let payload = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    type_into(
        &client,
        ".replyguard > .rg-form textarea",
        &format!("Nice read {payload}"),
    )
    .await;
    type_into(
        &client,
        ".replyguard > .rg-form input[name=author]",
        &format!("Eve {payload}"),
    )
    .await;
    click(&client, ".replyguard > .rg-form .rg-submit").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    client.goto(&page).await.unwrap();
    wait_text(&client, HAM, true).await;
    assert!(client.get_alert_text().await.is_err(), "a dialog opened");
    let injected = client
        .find_all(Locator::Css(
            ".replyguard img, .replyguard script, .replyguard [onerror]",
        ))
        .await
        .unwrap();
    assert!(injected.is_empty(), "markup from a reader reached the page");

    // Counts on the index page.
    client.goto(&format!("{}/", site.base)).await.unwrap();
    let published = stored_comments(&server)
        .iter()
        .filter(|c| c["status"] == "published" && c["article"] == "/posts/build-caches/")
        .count();
    let expected = if published == 1 {
        "1 comment".to_string()
    } else {
        format!("{published} comments")
    };
    wait_text(&client, &expected, true).await;
    wait_text(&client, "0 comments", true).await;

    // The owner closes the page from the CLI while the server runs: its comments stay shown, the
    // embed has no form and no Reply buttons; opened again, the form is back.
    let db = dir.path().join("db.sqlite");
    let sites = |verb: &str| {
        let out = common::run(
            &[
                "sites",
                verb,
                "default",
                "/posts/build-caches/",
                "--db",
                db.to_str().unwrap(),
            ],
            None,
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sites("close");
    client.goto(&page).await.unwrap();
    wait_text(&client, "Comments are closed on this page.", true).await;
    wait_text(&client, HAM, true).await;
    let offered = client
        .find_all(Locator::Css(".replyguard form, .replyguard .rg-reply"))
        .await
        .unwrap();
    assert!(offered.is_empty(), "a closed page offers a form or Reply");
    sites("open");
    client.goto(&page).await.unwrap();
    wait_for(&client, "//section[@class='replyguard']/form").await;
    wait_for(&client, "//button[@class='rg-reply']").await;

    // A moderator removes Ana's comment: its reply stays, under a line that says what is gone.
    let ana = stored_comments(&server)
        .into_iter()
        .find(|c| c["content"] == HAM)
        .and_then(|c| c["id"].as_i64())
        .expect("Ana's comment");
    let resp = agent()
        .post(&server.url(&format!("/api/v1/admin/comments/{ana}/trash")))
        .header("Authorization", &format!("Bearer {}", common::TOKEN))
        .send_empty()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    client.goto(&page).await.unwrap();
    wait_for(
        &client,
        &format!("//ol[@class='rg-replies']//div[@class='rg-text'][contains(., '{REPLY}')]"),
    )
    .await;
    wait_text(&client, "This comment was deleted.", true).await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unlisted_origin_is_refused_and_javascript_off_uses_the_thread_page() {
    let dir = tempfile::tempdir().unwrap();
    let site = static_site().await;
    // No --site-origin: the static site's origin is no site's.
    let server = Server::start(
        &dir.path().join("db.sqlite"),
        &model(),
        &["--min-form-seconds", "0"],
    );
    site.serve_for(&server.base);
    let driver = Driver::start();
    let client = browser(&driver, true, &dir.path().join("profile")).await;
    client
        .goto(&format!("{}/posts/build-caches/", site.base))
        .await
        .unwrap();
    wait_text(&client, "Comments are unavailable", true).await;
    // The browser hides the 403 (no CORS headers for a stranger); the script says what to do.
    wait_text(&client, &format!("--origin {}", site.base), true).await;
    client.close().await.unwrap();
    assert!(stored_comments(&server).is_empty());

    // JavaScript off: the <noscript> link, then replyguard's own page and its plain form.
    let client = browser(&driver, false, &dir.path().join("profile-nojs")).await;
    client
        .goto(&format!("{}/posts/build-caches/", site.base))
        .await
        .unwrap();
    click(&client, "#noscript").await;
    wait_for(&client, "//form//textarea[@id='comment']").await;
    type_into(&client, "#comment", HAM).await;
    type_into(&client, "#author", "Ana").await;
    type_into(&client, "#email", "ana@example.org").await;
    click(&client, "#respond button[type=submit]").await;
    wait_for(
        &client,
        &format!("//li[contains(@class,'comment')][p[contains(., '{HAM}')]]"),
    )
    .await;
    client.close().await.unwrap();
}
