//! Waking an invoice issuer from outside its workflow: signal-with-start of the issuer's
//! workflow (one id per [`IssuerKey`]), so a receipt queued while its issuer is idle or
//! finished starts a new run with it. Untyped, because the workflow lives in the
//! `workflows` crate, above this one; the names are the workflow's (its tests check
//! them).

use temporalio_client::{
    Client, UntypedSignal, UntypedWorkflow, WorkflowIdConflictPolicy, WorkflowStartOptions,
};
use temporalio_common::data_converters::{PayloadConverter, RawValue};

use domain::invoices::{IssuerInput, IssuerKey, Queued};

/// The issuer's workflow type and its signal, as the workflow declares them.
pub const ISSUER_WORKFLOW: &str = "InvoiceIssuerWorkflow";
pub const QUEUED_SIGNAL: &str = "receipt_queued";

/// Signals `queued` to `issuer`'s workflow, starting it on `task_queue` if none runs.
pub async fn wake(
    client: &Client,
    task_queue: &str,
    issuer: IssuerKey,
    queued: Queued,
) -> anyhow::Result<()> {
    let converter = PayloadConverter::default();
    let input = IssuerInput {
        issuer,
        queue: Vec::new(),
        receipts_per_run: None,
    };
    let options = WorkflowStartOptions::new(task_queue.to_owned(), issuer.workflow_id(task_queue))
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .static_summary(format!(
            "AFIP issuer: point of sale {}, receipt type {}",
            issuer.point_of_sale, issuer.receipt_type
        ))
        .build();
    client
        .signal_with_start_workflow(
            UntypedWorkflow::new(ISSUER_WORKFLOW),
            RawValue::from_value(&input, &converter),
            UntypedSignal::<UntypedWorkflow>::new(QUEUED_SIGNAL),
            RawValue::from_value(&queued, &converter),
            options,
        )
        .await?;
    Ok(())
}
