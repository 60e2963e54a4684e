//! Pure types and rules of AMAR Mascotas. Nothing here performs I/O.

pub mod dispatch;
pub mod geo;
pub mod ids;
pub mod invoices;
pub mod links;
pub mod names;
pub mod paths;
pub mod payments;
pub mod pets;
pub mod policy;
pub mod pricing;
pub mod requests;
pub mod time;
pub mod users;

pub use ids::{InvoiceId, OwnerId, RequestId, UserId, VetId};
pub use pets::{LatLon, PetSex, StudyFileKind};
pub use policy::DispatchPolicy;
pub use requests::{
    Actor, Description, RequestState, StateChange, TransitionError, VetAnswer, check_transition,
};
pub use users::{Cuit, Email, Password, Role};
