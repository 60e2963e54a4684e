//! A whole stack on the time-skipping server: the API, an in-process worker, the
//! emulators and the booking world with vets, for tests of the request's paths.

use std::{sync::Arc, time::Duration};

use domain::DispatchPolicy;
use temporalio_client::tonic::IntoRequest;
use temporalio_common::protos::temporal::api::testservice::v1::SleepRequest;

use crate::{
    InProcessWorker, TestApp, TestDb,
    fixtures::{Dispatch, dispatch},
    temporal::TimeSkippingServer,
    unique_task_queue,
};

pub struct Flow {
    pub app: TestApp,
    pub w: Dispatch,
    _worker: InProcessWorker,
    _server: TimeSkippingServer,
}

impl Flow {
    /// `vets` vets working the day of the window, and `policy` for every request.
    pub async fn start(vets: usize, policy: DispatchPolicy) -> Self {
        crate::logs();
        let server = TimeSkippingServer::start().await;
        let db = Arc::new(TestDb::new().await);
        let app = TestApp::spawn(db, server.settings(&unique_task_queue()), policy).await;
        let worker = InProcessWorker::start(app.worker_settings());
        let w = dispatch(&app, vets).await;
        Self {
            app,
            w,
            _worker: worker,
            _server: server,
        }
    }
}

/// Lets `by` of workflow time pass (timers fire), then stops time again.
///
/// The test server answers once every timer and activity inside `by` has run, which on a
/// loaded machine (the whole suite on two cores) can take longer than the client's
/// default deadline of 30 s for a call: the call gets a deadline of its own.
pub async fn advance(app: &TestApp, by: Duration) {
    skip(&app.temporal, by).await;
}

/// [`advance`] for a bare client of the test server. A long skip goes a few hours at a
/// time, so that each call answers (once every timer and activity inside it has run)
/// well inside its deadline; the timers fire in the same order either way. The client
/// must be connected with [`TimeSkippingServer::settings`]: a call held open past 90 s
/// on a connection that pings is cut by the server ("broken pipe").
pub async fn skip(client: &temporalio_client::Client, by: Duration) {
    let mut left = by;
    while !left.is_zero() {
        let step = left.min(SKIP_STEP);
        left -= step;
        let mut sleep = SleepRequest {
            duration: Some(step.try_into().expect("duration")),
        }
        .into_request();
        sleep.set_timeout(SKIP_DEADLINE);
        client
            .connection()
            .test_service()
            .unlock_time_skipping_with_sleep(sleep)
            .await
            .expect("sleep on the test server");
    }
}

/// The longest stretch of workflow time one call to the test server skips.
const SKIP_STEP: Duration = Duration::from_secs(3 * 60 * 60);

/// How long one skip may take in real time.
const SKIP_DEADLINE: Duration = Duration::from_secs(180);
