//! The theme block on a product page (SPEC 10.2): the block rendered by the `liquid` crate into
//! a product form, served by the dev shop's storefront, opened in Chromium. The badge follows the
//! selected variant; a variant on backorder whose date is not on the page yet is asked of the
//! app through the dev shop's app proxy (signed as Shopify signs it), and shows the app's date.

use serde_json::json;

use super::Browser;
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};
use crate::theme_block::{Shown, render_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_badge_follows_the_selected_variant_and_asks_the_app_only_for_a_date_not_on_the_page() {
    let Some(browser) = Browser::start("theme_block").await else { return };
    let s = Setup::start(Backend::Embedded, 0, "50", &[]).await;
    s.enrol(json!({"enabled": true, "lead_time_days": 10})).await;
    eventually("the variant to sell on backorder", || async {
        (s.policy() == backorder::devshop::Policy::Continue).then_some(())
    })
    .await;
    let today = time::OffsetDateTime::now_utc().date();
    let lead = (today + time::Duration::days(10)).to_string();

    // Small in stock, Medium dated by the metafield, Large sold out; X-Large is the app's
    // variant, rendered before its metafield was set.
    let variants = [
        Shown { id: 901, title: "Small", quantity: 3, policy: "deny", eta: None },
        Shown { id: 902, title: "Medium", quantity: -2, policy: "continue", eta: Some("2027-01-15") },
        Shown { id: 903, title: "Large", quantity: 0, policy: "deny", eta: None },
        Shown { id: s.variant, title: "X-Large", quantity: 0, policy: "continue", eta: None },
    ];
    let options: String = variants.iter().map(|v| format!("<option value=\"{}\">{}</option>", v.id, v.title)).collect();
    // The dev shop serves every shop's storefront under `/store/{handle}`: the block's proxy path
    // (a setting of the block, `/apps/backorder/availability` on a real storefront) says so.
    let handle = SHOP.trim_end_matches(".myshopify.com");
    let proxy = format!("/store/{handle}/apps/backorder/availability");
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>Tee</title></head><body>\
         <form action=\"/cart/add\" method=\"post\"><label>Size <select name=\"id\">{options}</select></label>{}\
         <button type=\"submit\">Add to cart</button></form></body></html>",
        render_with(&variants, &[("proxy_path", &proxy)])
    );
    s.world(|w| w.storefront_pages.insert("tee".into(), page));
    browser.client.goto(&format!("{}/store/{handle}/products/tee", s.devshop.url)).await.expect("the product page");

    let badge = |status: &str, eta: &str| {
        format!(
            "const b = document.querySelector('[data-backorder-badge]'); \
             return b.dataset.status === {status:?} && b.dataset.eta === {eta:?} && \
             b.querySelector('[data-backorder-text]').textContent"
        )
    };
    let choose = |id: u64| {
        format!(
            "const s = document.querySelector('select[name=id]'); s.value = '{id}'; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); return true;"
        )
    };
    let text = browser.until("Small in stock", &badge("in_stock", "")).await;
    assert_eq!(text, "In stock");
    browser.client.execute(&choose(902), vec![]).await.unwrap();
    let text = browser.until("Medium on backorder with its date", &badge("backorder", "2027-01-15")).await;
    assert!(
        text.as_str().unwrap().starts_with("Available on backorder, ships by")
            && text.as_str().unwrap().contains("2027"),
        "{text}"
    );
    browser.client.execute(&choose(903), vec![]).await.unwrap();
    assert_eq!(browser.until("Large sold out", &badge("sold_out", "")).await, "Sold out");
    browser.client.execute(&choose(s.variant), vec![]).await.unwrap();
    let text = browser.until("X-Large dated by the app through the proxy", &badge("backorder", &lead)).await;
    assert!(text.as_str().unwrap().starts_with("Available on backorder, ships by"), "{text}");
    browser.screenshot("product").await;
    assert_eq!(browser.errors().await, Vec::<String>::new());
    // Back to Medium: its date is on the page; no more asking.
    browser.client.execute(&choose(902), vec![]).await.unwrap();
    browser.until("Medium again", &badge("backorder", "2027-01-15")).await;
    browser.stop().await;
    s.stop().await;
}
