//! A supply date that has passed tells no customer anything true: a new batch dated before the
//! shop's today is refused, naming the line; a plan read back unchanged (an overdue batch in it)
//! is accepted as it was read (SPEC 3.3: what `GET` answers, `PUT` accepts back).

use backorder::books::{Edit, key};
use backorder::ledger::records::SupplyBatch;
use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::support::{Backend, SHOP, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_batch_dated_in_the_past_is_refused_and_an_overdue_one_read_back_is_accepted() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        let path = "/api/variants/777";
        assert_eq!(put(&app, path, &token(SHOP), json!({"enabled": true})).await.status(), 200);
        let today = backorder::ledger::eta::today(None);
        let day = |offset: i64| backorder::ledger::eta::format(today + time::Duration::days(offset));

        let resp =
            put(&app, path, &token(SHOP), json!({"supply": [{"qty": 5, "eta": day(3)}, {"qty": 4, "eta": day(-1)}]}))
                .await;
        assert_eq!(resp.status(), 422);
        let error: Value = resp.json().await.unwrap();
        assert_eq!(error["field"], "supply[1].eta", "{error}");
        assert!(error["error"].as_str().unwrap().contains("has passed"), "{error}");
        let shown: Value = get(&app, path, Some(&token(SHOP))).await.json().await.unwrap();
        assert_eq!(shown["supply"], json!([]), "nothing saved");

        // A batch that was due yesterday and has not come: overdue, and still the plan.
        let overdue = SupplyBatch::merchant(4, &day(-1));
        app.app
            .state
            .books
            .update(SHOP, key::Variant(777), |r| {
                let mut r = r.expect("enrolled");
                r.settings.supply = vec![overdue.clone()];
                Edit::put(r, ())
            })
            .await
            .unwrap();
        let mut read: Value = get(&app, path, Some(&token(SHOP))).await.json().await.unwrap();
        assert_eq!(read["supply"], json!([{"qty": 4, "eta": day(-1), "source": "merchant"}]));
        read["cap"] = json!(30);
        let resp = put(&app, path, &token(SHOP), read).await;
        assert_eq!(resp.status(), 200, "the plan as read, with another field changed");
        // Changing the overdue batch makes it a new one, which needs a date to come.
        let resp = put(&app, path, &token(SHOP), json!({"supply": [{"qty": 6, "eta": day(-1)}]})).await;
        assert_eq!(resp.status(), 422);
        let resp = put(&app, path, &token(SHOP), json!({"supply": [{"qty": 6, "eta": day(0)}]})).await;
        assert_eq!(resp.status(), 200, "today is not past");
        app.app.stop().await;
    }
}
