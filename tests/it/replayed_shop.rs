//! The shop of a privacy or lifecycle webhook is the one its signed body names: a signed body
//! of one shop replayed with another shop in the (unsigned) header gets 401 and changes nothing;
//! and `app/uninstalled` drops the tokens only once the platform refuses them.

use backorder::store::{Record, SharedStore};
use serde_json::json;

use crate::effects::Setup;
use crate::oauth::stored;
use crate::support::webhooks::{Delivery, new_id};
use crate::support::{Backend, SHOP, eventually};
use crate::uninstall::uninstall_body;

const OTHER: &str = "other-shop.myshopify.com";

/// What the service reads of a shop: compared before and after the replays.
async fn visible(store: &SharedStore, shop: &str, variant: u64) -> String {
    let records = store.ledger_get(shop, &[Record::Install, Record::Variant(variant), Record::Variants]).await.unwrap();
    let counts = store.processed_counts(shop).await.unwrap();
    let listed = store.shops().await.unwrap().contains(&shop.to_string());
    format!("{records:?} {counts:?} listed={listed}")
}

/// The same bytes and signature under another topic, another shop and a fresh delivery id.
fn replayed(original: &Delivery, topic: &str, shop: &str) -> Delivery {
    Delivery {
        topic: topic.into(),
        shop: shop.into(),
        webhook_id: new_id(),
        event_id: Some(new_id()),
        ..original.clone()
    }
}

fn of_other_shop(topic: &str, body: String) -> Delivery {
    Delivery { shop: OTHER.into(), ..Delivery::new(topic, body) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_body_of_one_shop_replayed_as_shop_redact_or_app_uninstalled_for_another_gets_401_and_changes_nothing()
{
    for backend in [Backend::Embedded, Backend::Redis] {
        let mut s = Setup::start(backend, 1, "100", &[]).await;
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async {
            (s.policy() == backorder::devshop::Policy::Continue).then_some(())
        })
        .await;
        s.order(3).await;
        s.settled().await;
        // A real delivery of the other shop, accepted as it should be: the bytes an attacker
        // could have captured.
        let captured = Delivery { shop: OTHER.into(), ..Delivery::order(77) };
        assert_eq!(s.app.deliver(&captured).await.status(), 200);
        s.app.drained().await;
        let before = visible(&s.app.store, SHOP, s.variant).await;
        let queued_before = s.app.store.queue_stats().await.unwrap();
        // Shopify revoked nothing of this shop; even so, refused before any platform call.
        s.devshop.uninstall(SHOP);

        let other_bodies = [
            captured.clone(),
            of_other_shop("shop/redact", json!({"shop_id": 1, "shop_domain": OTHER}).to_string()),
            of_other_shop("customers/redact", json!({"shop_domain": OTHER, "customer": {"id": 1}}).to_string()),
            of_other_shop("app/uninstalled", uninstall_body(OTHER)),
        ];
        for original in &other_bodies {
            for topic in ["shop/redact", "app/uninstalled", "customers/redact", "customers/data_request"] {
                let resp = s.app.deliver(&replayed(original, topic, SHOP)).await;
                assert_eq!(resp.status(), 401, "{} body replayed as {topic}", original.topic);
            }
        }

        s.app.drained().await;
        assert_eq!(s.app.store.queue_stats().await.unwrap(), queued_before, "nothing queued or dead-lettered");
        assert_eq!(visible(&s.app.store, SHOP, s.variant).await, before, "the shop reads as before");
        assert!(stored(&s.app, SHOP).await.is_some(), "the shop keeps its tokens");
        assert!(s.devshop.calls(SHOP).iter().all(|c| c.operation != "ShopId"), "no platform call was needed");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_uninstalled_whose_token_the_platform_still_accepts_keeps_the_tokens_until_it_refuses_them() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let s = Setup::start(backend, 1, "100", &[]).await;
        let forged = Delivery::new("app/uninstalled", uninstall_body(SHOP));
        assert_eq!(s.app.deliver(&forged).await.status(), 200);
        eventually("the uninstall to be processed", || async {
            (s.app.processed("app/uninstalled").await == 1).then_some(())
        })
        .await;
        assert!(stored(&s.app, SHOP).await.is_some(), "the platform still takes the token: kept");
        assert_eq!(s.calls("ShopId"), 1, "asked the platform once");

        // Now the merchant really uninstalls: Shopify revokes the token, then sends the webhook.
        s.devshop.uninstall(SHOP);
        let real = Delivery::new("app/uninstalled", uninstall_body(SHOP));
        assert_eq!(s.app.deliver(&real).await.status(), 200);
        eventually("the real uninstall to be processed", || async {
            (s.app.processed("app/uninstalled").await == 2).then_some(())
        })
        .await;
        assert!(stored(&s.app, SHOP).await.is_none(), "the refused tokens are dropped");
        s.stop().await;
    }
}
