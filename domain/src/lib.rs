//! Pure types and rules of AMAR Mascotas. Nothing here performs I/O.

pub mod ids;
pub mod requests;

pub use ids::{OwnerId, RequestId, VetId};
pub use requests::{
    Actor, Description, DispatchPolicy, RequestState, StateChange, TransitionError, VetAnswer,
    check_transition,
};
