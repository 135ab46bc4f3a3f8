//! Moving an order ahead by hand (SPEC 11): `PUT /api/orders/{id}/priority` gives it a class of
//! the merchant's that wins over its customer's tags, through its later states, until taken
//! back; its lines move at once. Another shop's order is not found.

use backorder::devshop::Policy;
use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

async fn queue(s: &Setup) -> Vec<u64> {
    let shown: Value =
        get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    shown["queue"].as_array().unwrap().iter().map(|l| l["order_id"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_moved_ahead_by_hand_fills_first_through_its_updates_until_it_is_put_back() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let mut s = Setup::start(backend, 0, "50", &[]).await;
        s.enrol(json!({"enabled": true, "lead_time_days": 5})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        let orders = [s.order(1).await, s.order(1).await, s.order(1).await];
        s.settled().await;
        assert_eq!(queue(&s).await, orders);

        let path = format!("/api/orders/{}/priority", orders[2]);
        let resp = put(&s.app, &path, &token(SHOP), json!({"priority": 100})).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<Value>().await.unwrap()["priority"], 100);
        assert_eq!(queue(&s).await, [orders[2], orders[0], orders[1]], "moved to the front");
        // Its next webhook (a note changed, say) keeps the merchant's class.
        s.world(|w| w.orders.get_mut(&orders[2]).unwrap().updated_at_ms += 1000);
        s.deliver_order(orders[2], "orders/updated").await;
        s.app.drained().await;
        assert_eq!(queue(&s).await[0], orders[2], "still first after its update");

        for (body, field) in
            [(json!({"priority": "high"}), "priority"), (json!({}), "priority"), (json!({"priority": 1, "x": 1}), "x")]
        {
            let resp = put(&s.app, &path, &token(SHOP), body.clone()).await;
            assert_eq!(resp.status(), 422, "{body}");
            assert_eq!(resp.json::<Value>().await.unwrap()["field"], field, "{body}");
        }
        let other = crate::api::token_with(
            "other-shop.myshopify.com",
            "test-api-key",
            crate::support::SECRET.as_bytes(),
            crate::support::oauth::now() + 60,
            crate::support::oauth::now() - 1,
        );
        assert_eq!(put(&s.app, &path, &other, json!({"priority": 5})).await.status(), 404, "not another shop's");
        assert_eq!(queue(&s).await[0], orders[2], "nothing changed by the refused calls");

        let resp = put(&s.app, &path, &token(SHOP), json!({"priority": null})).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(queue(&s).await, orders, "back in its place by age");
        s.stop().await;
    }
}
