//! A vet's agenda (`GET /vets/{id}/visits`): a visit appears once the vet accepted and
//! set the time, with the street to go to; the owner's name and phone appear once it is
//! paid; nobody but the vet and staff sees it.

use e2e::{
    InProcessWorker, TestApp,
    fixtures::{ANA_PHONE, accept_and_coordinate, check_out, dispatch, preference_of},
};
use serde_json::json;

#[tokio::test]
async fn the_vet_learns_where_to_go_after_accepting_and_whom_to_ask_for_after_payment() {
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = dispatch(&app, 2).await;
    let (martin, other) = (&w.vets[0], &w.vets[1]);
    let agenda = format!("/api/v1/vets/{}/visits", martin.id);

    let id = check_out(&app, &w, w.start).await;
    let (status, before) = martin.caller().get(&app, &agenda).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["items"], json!([]), "nothing before he accepts");

    let link = accept_and_coordinate(&app, &w, &id).await;
    let (_, coordinated) = martin.caller().get(&app, &agenda).await;
    let items = coordinated["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{coordinated}");
    let visit = &items[0];
    assert_eq!(visit["request_id"], id.as_str());
    assert_eq!(visit["status"], "scheduled");
    assert_eq!(visit["pet"], "Luna");
    assert_eq!(visit["place"]["street"], "Gurruchaga 1234");
    assert_eq!(visit["owner"], json!(null), "not before it is paid");
    assert!(!coordinated.to_string().contains(ANA_PHONE));

    app.mercadopago
        .pay(&preference_of(&link), "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    let (_, confirmed) = martin.caller().get(&app, &agenda).await;
    let visit = &confirmed["items"][0];
    assert_eq!(visit["request_state"], "confirmed");
    assert_eq!(visit["owner"]["phone"], ANA_PHONE);
    assert_eq!(visit["owner"]["name"], "Dueña");

    // Past visits: none yet. Staff see his agenda too.
    let (status, past) = martin
        .caller()
        .get(&app, &format!("{agenda}?when=past"))
        .await;
    assert_eq!((status, &past["items"]), (200, &json!([])));
    let (status, seen) = app.staff_get(&agenda).await;
    assert_eq!(
        (status, seen["items"].as_array().map(Vec::len)),
        (200, Some(1))
    );

    // Another vet, the owner: no such vet for them. The other vet's own agenda is empty.
    let (status, _) = other.caller().get(&app, &agenda).await;
    assert_eq!(status, 404);
    let (status, _) = w.booking.ana.get(&app, &agenda).await;
    assert_eq!(status, 404);
    let (_, theirs) = other
        .caller()
        .get(&app, &format!("/api/v1/vets/{}/visits", other.id))
        .await;
    assert_eq!(theirs["items"], json!([]));

    // A bad query names the field and changes nothing.
    let (status, problem) = martin
        .caller()
        .get(&app, &format!("{agenda}?when=tomorrow"))
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = martin
        .caller()
        .get(&app, &format!("{agenda}?limit=0"))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "limit");
}
