//! Typed identifiers: a `RequestId` can never be passed where a `VetId` is expected.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random (time-ordered) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            pub const fn into_uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

typed_id!(
    /// A service request (solicitud); also the business key of its workflow.
    RequestId
);
typed_id!(
    /// A login (one person; may be an owner, a vet, staff, or several).
    UserId
);
typed_id!(
    /// A pet owner (cliente).
    OwnerId
);
typed_id!(
    /// A veterinarian.
    VetId
);
typed_id!(
    /// An AFIP receipt: an invoice (factura) or a credit note (nota de crédito).
    InvoiceId
);

impl RequestId {
    /// The id of the one workflow that owns this request. Temporal rejects a second
    /// workflow with the same id, so a retried create never starts a second run.
    pub fn workflow_id(&self) -> String {
        format!("service-request:{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_id_is_the_prefix_plus_the_request_id() {
        let id: RequestId = "0192f0c8-6d2e-7c3a-9b1e-2a4f5c6d7e8f".parse().unwrap();
        assert_eq!(
            id.workflow_id(),
            "service-request:0192f0c8-6d2e-7c3a-9b1e-2a4f5c6d7e8f"
        );
    }

    #[test]
    fn ids_serialize_as_bare_uuids() {
        let id = VetId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let back: VetId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }
}
