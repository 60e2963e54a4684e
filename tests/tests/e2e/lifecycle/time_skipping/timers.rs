//! Timer paths on the time-skipping test server: days of follow-ups in an instant of
//! real time. Assertions are on workflow time, never on wall time.

use std::time::Duration;

use domain::DispatchPolicy;
use e2e::{
    InProcessWorker, TestDb, eventually,
    temporal::{TimeSkippingServer, events, workflow_duration},
    unique_task_queue,
};
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowGetResultOptions, WorkflowHandle,
    WorkflowStartOptions, tonic::IntoRequest,
};
use temporalio_common::HasWorkflowDefinition;
use temporalio_common::protos::temporal::api::testservice::v1::{
    LockTimeSkippingRequest, UnlockTimeSkippingRequest,
};
use workflows::{ServiceRequestInput, ServiceRequestWorkflow, VetResponse};

const DAY: u64 = 24 * 60 * 60;

struct Setup {
    _server: TimeSkippingServer,
    _worker: InProcessWorker,
    db: TestDb,
    client: Client,
    task_queue: String,
}

async fn setup() -> Setup {
    e2e::logs();
    let server = TimeSkippingServer::start().await;
    let db = TestDb::new().await;
    let task_queue = unique_task_queue();
    let settings = server.settings(&task_queue);
    let client = settings
        .connect()
        .await
        .expect("connect to the test server");
    let (_mercately, mercately_base) = e2e::mercately_emulator().await;
    let worker = InProcessWorker::start(e2e::worker_settings(
        &db.url,
        settings,
        &mercately_base,
        "http://127.0.0.1:9",
    ));
    Setup {
        _server: server,
        _worker: worker,
        db,
        client,
        task_queue,
    }
}

async fn start(
    setup: &Setup,
    policy: DispatchPolicy,
) -> (
    String,
    WorkflowHandle<Client, <ServiceRequestWorkflow as HasWorkflowDefinition>::Run>,
) {
    let request = domain::RequestId::new();
    let handle = setup
        .client
        .start_workflow(
            ServiceRequestWorkflow::run,
            ServiceRequestInput::new(
                request,
                "Control de rutina".into(),
                policy,
                workflows::DispatchMode::Staff,
            ),
            WorkflowStartOptions::new(setup.task_queue.clone(), request.workflow_id()).build(),
        )
        .await
        .expect("start the workflow");
    (request.workflow_id(), handle)
}

async fn unlock(client: &Client) {
    client
        .connection()
        .test_service()
        .unlock_time_skipping(UnlockTimeSkippingRequest::default().into_request())
        .await
        .expect("unlock time skipping");
}

async fn lock(client: &Client) {
    client
        .connection()
        .test_service()
        .lock_time_skipping(LockTimeSkippingRequest::default().into_request())
        .await
        .expect("lock time skipping");
}

#[tokio::test]
async fn an_unanswered_offer_is_followed_up_over_days_then_expires() {
    let setup = setup().await;
    let policy = DispatchPolicy {
        vet_followup_delay_secs: 2 * DAY,
        vet_max_followups: 2,
        offer_batch_size: 1,
        ..DispatchPolicy::default()
    };
    let (workflow_id, handle) = start(&setup, policy).await;

    let wall = std::time::Instant::now();
    unlock(&setup.client).await;
    let status = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the workflow finishes");
    lock(&setup.client).await;
    eprintln!(
        "six days of follow-ups took {:?} of real time",
        wall.elapsed()
    );

    assert_eq!(status.state, domain::RequestState::Expired);
    assert_eq!(status.followups_sent, 2);
    let events = events(&setup.client, &workflow_id).await;
    let elapsed = workflow_duration(&events);
    assert!(
        elapsed >= chrono::Duration::days(6) && elapsed < chrono::Duration::days(7),
        "workflow time {elapsed}"
    );
    let request = status.request;
    assert_eq!(
        setup
            .db
            .count(&format!(
                "SELECT followups_sent::bigint AS n FROM vet_offers WHERE request_id = '{request}'"
            ))
            .await,
        2
    );
    assert_eq!(
        setup
            .db
            .count(&format!(
                "SELECT count(*) AS n FROM state_history WHERE request_id = '{request}' AND to_state = 'expired'"
            ))
            .await,
        1
    );
    e2e::temporal::save_history(
        &setup.client,
        &workflow_id,
        "lean-expired-after-followups.json",
    )
    .await;
}

#[tokio::test]
async fn a_vet_who_answers_after_a_follow_up_is_accepted_and_the_pending_timer_is_cancelled() {
    let setup = setup().await;
    let policy = DispatchPolicy {
        vet_followup_delay_secs: 2 * DAY,
        vet_max_followups: 3,
        offer_batch_size: 1,
        ..DispatchPolicy::default()
    };
    let (workflow_id, handle) = start(&setup, policy).await;
    let request = workflow_id
        .trim_start_matches("service-request:")
        .to_owned();

    // Two and a half days pass: one follow-up goes out.
    e2e::flow::skip(&setup.client, Duration::from_secs(2 * DAY + DAY / 2)).await;
    eventually("the follow-up to be recorded", Duration::from_secs(30), || async {
        let sent = setup
            .db
            .count(&format!(
                "SELECT coalesce(max(followups_sent), 0)::bigint AS n FROM vet_offers WHERE request_id = '{request}'"
            ))
            .await;
        (sent == 1).then_some(())
    })
    .await;

    let outcome = handle
        .execute_update(
            ServiceRequestWorkflow::vet_response,
            VetResponse {
                answer: domain::VetAnswer::Accept,
                vet: None,
                offer_no: None,
                by_vet: false,
            },
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .expect("the answer is taken");
    assert_eq!(outcome, workflows::VetResponseOutcome::Accepted);
    // Accepted, the request stays open for staff (the visit is arranged by phone) and
    // closes itself a week later: the follow-up timer did not outlive the answer.
    unlock(&setup.client).await;
    let status = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the workflow finishes");
    lock(&setup.client).await;

    assert_eq!(status.state, domain::RequestState::Expired);
    assert_eq!(status.followups_sent, 1);
    let events = events(&setup.client, &workflow_id).await;
    let elapsed = workflow_duration(&events);
    assert!(
        elapsed >= chrono::Duration::hours(60) + chrono::Duration::days(7)
            && elapsed < chrono::Duration::days(11),
        "the workflow ended a week after the answer, not at a later timer: {elapsed}"
    );
    let states = setup
        .db
        .count(&format!(
            "SELECT count(*) AS n FROM state_history WHERE request_id = '{request}' \
             AND to_state IN ('vet_accepted', 'expired')"
        ))
        .await;
    assert_eq!(states, 2, "accepted, then expired");
    e2e::temporal::save_history(
        &setup.client,
        &workflow_id,
        "lean-staff-accepted-then-closed.json",
    )
    .await;
}

#[tokio::test]
async fn staff_may_cancel_a_staff_request_the_moment_its_answer_is_recorded() {
    let setup = setup().await;
    let (workflow_id, handle) = start(&setup, DispatchPolicy::default()).await;
    let request = workflow_id.trim_start_matches("service-request:");
    let asked = format!(
        "SELECT count(*) AS n FROM state_history WHERE request_id = '{request}' AND to_state = 'vet_asked'"
    );
    eventually("the vet to be asked", Duration::from_secs(30), || async {
        (setup.db.count(&asked).await == 1).then_some(())
    })
    .await;
    let outcome = handle
        .execute_update(
            ServiceRequestWorkflow::vet_response,
            VetResponse {
                answer: domain::VetAnswer::Accept,
                vet: None,
                offer_no: None,
                by_vet: false,
            },
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .expect("the answer is taken");
    assert_eq!(outcome, workflows::VetResponseOutcome::Accepted);
    // At once, before the workflow has moved the state on.
    handle
        .execute_update(
            ServiceRequestWorkflow::cancel,
            workflows::Cancel {
                actor: domain::Actor::Staff(uuid::Uuid::new_v4()),
                reason: Some("la dueña llamó".into()),
            },
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .expect("the cancellation is taken");
    unlock(&setup.client).await;
    let status = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the workflow finishes");
    lock(&setup.client).await;
    assert_eq!(status.state, domain::RequestState::Cancelled);
}
