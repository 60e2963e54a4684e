//! The validators' checks: whether an update may be accepted, read off the workflow's
//! state. A refusal leaves no trace in the history; the validator sends it with the
//! state-history sequence number the workflow is at, so that the API can tell a refusal
//! from a workflow still catching up with rows its local steps already wrote
//! ([`Refused`]).

use domain::{Actor, RequestState, VetAnswer};

use super::{
    Cancel, Coordinate, DispatchMode, NoShow, Reassign, Refusal, Refused, ServiceRequestWorkflow,
    VetResponse,
};

impl ServiceRequestWorkflow {
    /// A validator's refusal, with the sequence number this workflow is at.
    pub(super) fn refused(&self, refusal: Refusal) -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(Refused {
            refusal,
            seq: self.seq,
        })
    }

    pub(super) fn check_vet_response(&self, response: &VetResponse) -> Result<(), Refusal> {
        match self.input.mode {
            DispatchMode::Staff => {
                if response.by_vet {
                    let why = "this request is dispatched by staff";
                    return Err(Refusal::NotAllowed(why.into()));
                }
                if self.state != RequestState::VetAsked {
                    let why = format!("the request is {}, no offer is open", self.state);
                    return Err(Refusal::State(why));
                }
                if self.response.is_some() {
                    let why = "the offer has already been answered";
                    return Err(Refusal::State(why.into()));
                }
            }
            DispatchMode::Candidates => {
                if response.vet.is_none() {
                    let why = "which vet is answering is required";
                    return Err(Refusal::invalid("vet_id", why));
                }
                // An accepted cancellation closes the offers as soon as the workflow
                // gets to it; an answer in between would be told it counted.
                if self.closing || self.cancel.is_some() {
                    let why = format!("the request is {}, closed to answers", self.state);
                    return Err(Refusal::State(why));
                }
                if let Err(outcome) = self.judge_answer(response) {
                    return Err(Refusal::of_answer(outcome));
                }
            }
        }
        Ok(())
    }

    pub(super) fn check_coordinate(&self, input: &Coordinate) -> Result<(), Refusal> {
        match input.actor {
            Actor::Staff(_) => {}
            Actor::Vet(vet) if Some(vet) == self.vet => {}
            _ => {
                let why = "only the accepted vet or staff set the time";
                return Err(Refusal::NotAllowed(why.into()));
            }
        }
        if self.state != RequestState::VetAccepted
            || self.input.mode == DispatchMode::Staff
            || self.closing
        {
            let why = format!("the request is {}, not waiting for a time", self.state);
            return Err(Refusal::State(why));
        }
        if self.coordinating || self.reassign.is_some() || self.cancel.is_some() {
            return Err(Refusal::busy());
        }
        let Some(window) = self.window else {
            return Err(Refusal::State("the request has no window".into()));
        };
        let end = input.start + chrono::Duration::minutes(window.duration_minutes.into());
        if input.start < window.start || end > window.end {
            let why = format!(
                "the visit ({} min) must fit inside the wanted window {} – {}",
                window.duration_minutes, window.start, window.end
            );
            return Err(Refusal::invalid("start", why));
        }
        Ok(())
    }

    pub(super) fn check_reassign(&self, input: &Reassign) -> Result<(), Refusal> {
        if !matches!(
            self.state,
            RequestState::VetAccepted | RequestState::Coordinated
        ) || self.input.mode == DispatchMode::Staff
            || self.closing
        {
            let why = format!("the request is {}, it has no vet to replace", self.state);
            return Err(Refusal::State(why));
        }
        if self.payment.is_some() {
            let why = "the request is paid: cancel it, with a refund, instead";
            return Err(Refusal::State(why.into()));
        }
        if self.coordinating
            || self.checking_payment
            || self.reassign.is_some()
            || self.cancel.is_some()
        {
            return Err(Refusal::busy());
        }
        if input.reason.trim().is_empty() {
            return Err(Refusal::invalid("reason", "must not be blank"));
        }
        Ok(())
    }

    pub(super) fn check_no_show(&self, input: &NoShow) -> Result<(), Refusal> {
        match input.actor {
            Actor::Staff(_) => {}
            Actor::Vet(vet) if Some(vet) == self.vet => {}
            _ => {
                let why = "only the visit's vet or staff mark the owner absent";
                return Err(Refusal::NotAllowed(why.into()));
            }
        }
        if self.input.mode == DispatchMode::Staff
            || self.state != RequestState::Confirmed
            || self.closing
        {
            let why = format!("the request is {}, not a visit under way", self.state);
            return Err(Refusal::State(why));
        }
        if !self.visit_started {
            let why = "the visit has not started yet";
            return Err(Refusal::State(why.into()));
        }
        if !self.awaiting_outcome {
            let why = "this request completes by the visit's time: it takes no no-show";
            return Err(Refusal::State(why.into()));
        }
        if self.no_show.is_some() || self.report_news || self.deciding || self.cancel.is_some() {
            return Err(Refusal::busy());
        }
        if input.reason.trim().is_empty() {
            return Err(Refusal::invalid("reason", "must not be blank"));
        }
        Ok(())
    }

    pub(super) fn check_cancel(&self, input: &Cancel) -> Result<(), Refusal> {
        if self.input.mode == DispatchMode::Staff {
            // A staff request is cancelled by staff, once a vet accepted it (the answer
            // may be recorded a moment before the state moves).
            let accepted = self.state == RequestState::VetAccepted
                || (self.state == RequestState::VetAsked
                    && self.response.is_some_and(|r| r.answer == VetAnswer::Accept));
            if !accepted || self.closing {
                let why = format!("the request is {}, it cannot be cancelled here", self.state);
                return Err(Refusal::State(why));
            }
            if !matches!(input.actor, Actor::Staff(_)) {
                let why = "staff cancel the requests they created";
                return Err(Refusal::NotAllowed(why.into()));
            }
            if self.cancel.is_some() {
                return Err(Refusal::busy());
            }
            return Ok(());
        }
        if self.state.is_terminal() || self.closing {
            let why = format!("the request is {}, it cannot be cancelled here", self.state);
            return Err(Refusal::State(why));
        }
        if self.visit_started {
            let why = "the visit has started: it can no longer be cancelled";
            return Err(Refusal::State(why.into()));
        }
        if self.coordinating || self.cancel.is_some() || self.reassign.is_some() {
            return Err(Refusal::busy());
        }
        match input.actor {
            Actor::Staff(_) => {}
            Actor::Owner(_)
                if matches!(self.state, RequestState::Payed | RequestState::Confirmed) =>
            {
                let why = "the request is paid: staff cancel it, with a refund";
                return Err(Refusal::State(why.into()));
            }
            Actor::Owner(_) => {}
            _ => {
                let why = "only the owner or staff cancel a request";
                return Err(Refusal::NotAllowed(why.into()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use domain::{DispatchPolicy, RequestId, VetId};

    use super::super::{DispatchMode, Offer, OfferStatus, ServiceRequestInput};
    use super::*;

    fn dispatched(state: RequestState) -> ServiceRequestWorkflow {
        let input = ServiceRequestInput::new(
            RequestId::new(),
            "vacuna".into(),
            DispatchPolicy::default(),
            DispatchMode::Candidates,
        );
        let mut workflow = ServiceRequestWorkflow::fresh(input);
        workflow.state = state;
        workflow
    }

    fn reassign() -> Reassign {
        Reassign {
            actor: Actor::Staff(domain::UserId::new().into_uuid()),
            reason: "el veterinario se enfermó".into(),
        }
    }

    #[test]
    fn a_reassignment_waits_while_a_payment_is_checked_and_is_refused_once_paid() {
        let mut workflow = dispatched(RequestState::Coordinated);
        workflow.vet = Some(VetId::new());
        assert_eq!(workflow.check_reassign(&reassign()), Ok(()));
        workflow.checking_payment = true;
        assert_eq!(
            workflow.check_reassign(&reassign()),
            Err(Refusal::busy()),
            "the payment being checked may be the visit's"
        );
        workflow.checking_payment = false;
        workflow.payment = Some(42);
        let refused = workflow.check_reassign(&reassign());
        assert!(
            matches!(&refused, Err(Refusal::State(why)) if why.contains("paid")),
            "{refused:?}"
        );
    }

    #[test]
    fn an_answer_after_an_accepted_cancellation_is_refused() {
        let mut workflow = dispatched(RequestState::VetAsked);
        let vet = VetId::new();
        workflow.offers.push(Offer {
            offer_no: 1,
            vet,
            status: OfferStatus::Open,
        });
        let answer = VetResponse {
            answer: VetAnswer::Accept,
            vet: Some(vet),
            offer_no: Some(1),
            by_vet: true,
        };
        assert_eq!(workflow.check_vet_response(&answer), Ok(()));
        workflow.cancel = Some(Cancel {
            actor: Actor::System,
            reason: None,
        });
        let refused = workflow.check_vet_response(&answer);
        assert!(
            matches!(&refused, Err(Refusal::State(why)) if why.contains("closed to answers")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_no_show_after_an_accepted_cancellation_is_refused_as_busy() {
        let mut workflow = dispatched(RequestState::Confirmed);
        let vet = VetId::new();
        workflow.vet = Some(vet);
        workflow.visit_started = true;
        workflow.awaiting_outcome = true;
        let no_show = NoShow {
            actor: Actor::Vet(vet),
            reason: "nadie en casa".into(),
        };
        assert_eq!(workflow.check_no_show(&no_show), Ok(()));
        workflow.cancel = Some(Cancel {
            actor: Actor::System,
            reason: None,
        });
        assert_eq!(workflow.check_no_show(&no_show), Err(Refusal::busy()));
    }
}
