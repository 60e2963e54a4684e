//! Who may call each operation on a resource that is not theirs: the table both the
//! authorization walk and the OpenAPI check read. A new operation fails both until it
//! is classified here.

use Class::*;
use serde_json::{Value, json};

/// Who may call an operation on a resource that is not theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// No sign-in needed (reference data, health, sign-up and sign-in).
    Public,
    /// Signed in, acting on the caller's own data (their profile, their lists).
    Own,
    /// Staff only: everyone else 403.
    Staff,
    /// An owner's record (Ana's): another owner 404, a vet 403.
    Owner,
    /// A vet's record (Martín's): anyone but him and staff 404.
    Vet,
    /// A visit (Ana's pet's, by Martín): anyone but its owner, its vet and staff 404.
    Visit,
    /// A service request (Ana's, offered to Martín): anyone but its owner, the vets
    /// offered it and staff 404.
    Request,
    /// An AFIP receipt (Ana's): anyone but its owner and staff 404.
    Receipt,
    /// Acts on the caller's own records named in the body (Ana's, here): another owner is
    /// told they are not theirs (422 naming the field), a vet 403.
    OwnRef,
}

/// (method, path with `{placeholders}`, class, a valid body).
pub(super) fn table() -> Vec<(&'static str, &'static str, Class, Option<Value>)> {
    let square = json!({ "type": "Polygon", "coordinates": [[[-58.45, -34.60], [-58.40, -34.60], [-58.40, -34.55], [-58.45, -34.55], [-58.45, -34.60]]] });
    vec![
        ("get", "/healthz", Public, None),
        ("get", "/readyz", Public, None),
        ("post", "/api/v1/auth/register", Public, None),
        ("post", "/api/v1/auth/login", Public, None),
        ("post", "/api/v1/auth/refresh", Public, None),
        ("post", "/api/v1/auth/logout", Public, None),
        ("post", "/api/v1/auth/set-password", Public, None),
        ("get", "/api/v1/auth/set-password", Public, None),
        ("get", "/api/v1/auth/set-password/page.js", Public, None),
        ("get", "/api/v1/book", Public, None),
        ("get", "/api/v1/book/page.js", Public, None),
        ("get", "/api/v1/me", Own, None),
        ("post", "/api/v1/me/phone/code", Own, None),
        (
            "post",
            "/api/v1/me/phone/verify",
            Own,
            Some(json!({ "code": "123456" })),
        ),
        ("get", "/api/v1/owners", Own, None),
        (
            "post",
            "/api/v1/owners",
            Staff,
            Some(json!({ "full_name": "Carla", "phone": "+5491100000009" })),
        ),
        ("get", "/api/v1/owners/{ana}", Owner, None),
        (
            "patch",
            "/api/v1/owners/{ana}",
            Owner,
            Some(json!({ "full_name": "Robada" })),
        ),
        ("post", "/api/v1/owners/{carla}/user", Staff, None),
        ("post", "/api/v1/owners/{carla}/user/welcome", Staff, None),
        ("get", "/api/v1/owners/{ana}/addresses", Owner, None),
        (
            "post",
            "/api/v1/owners/{ana}/addresses",
            Owner,
            Some(json!({ "street": "Falsa 123", "lat": -34.58, "lon": -58.42 })),
        ),
        (
            "delete",
            "/api/v1/owners/{ana}/addresses/{address}",
            Owner,
            None,
        ),
        ("get", "/api/v1/pets", Own, None),
        ("post", "/api/v1/pets", Own, None),
        ("get", "/api/v1/pets/{pet}", Owner, None),
        (
            "patch",
            "/api/v1/pets/{pet}",
            Owner,
            Some(json!({ "name": "Robada" })),
        ),
        ("delete", "/api/v1/pets/{pet}", Owner, None),
        ("get", "/api/v1/pets/{pet}/vaccinations", Owner, None),
        (
            "post",
            "/api/v1/pets/{pet}/vaccinations",
            Owner,
            Some(json!({ "vaccine_id": "{vaccine}", "applied_on": "2026-01-10" })),
        ),
        ("get", "/api/v1/pets/{pet}/studies", Owner, None),
        (
            "post",
            "/api/v1/pets/{pet}/studies",
            Owner,
            Some(json!({ "study_type_id": "{study_type}", "performed_on": "2026-01-10" })),
        ),
        ("get", "/api/v1/studies/{study}", Owner, None),
        ("delete", "/api/v1/studies/{study}", Owner, None),
        ("post", "/api/v1/studies/{study}/files", Owner, None),
        ("get", "/api/v1/studies/{study}/files/{file}", Owner, None),
        (
            "delete",
            "/api/v1/studies/{study}/files/{file}",
            Owner,
            None,
        ),
        ("get", "/api/v1/species/{species}/breeds", Public, None),
        (
            "post",
            "/api/v1/species/{species}/breeds",
            Staff,
            Some(json!({ "name": "Caniche" })),
        ),
        ("get", "/api/v1/vaccines", Public, None),
        (
            "post",
            "/api/v1/vaccines",
            Staff,
            Some(json!({ "name": "Séxtuple" })),
        ),
        (
            "patch",
            "/api/v1/vaccines/{vaccine}",
            Staff,
            Some(json!({ "name": "Otra" })),
        ),
        ("delete", "/api/v1/vaccines/{vaccine}", Staff, None),
        ("get", "/api/v1/document-types", Public, None),
        ("get", "/api/v1/vat-conditions", Public, None),
        ("get", "/api/v1/{list}", Public, None),
        (
            "post",
            "/api/v1/{list}",
            Staff,
            Some(json!({ "name": "Gato" })),
        ),
        (
            "patch",
            "/api/v1/{list}/{id}",
            Staff,
            Some(json!({ "name": "Perro grande" })),
        ),
        ("delete", "/api/v1/{list}/{id}", Staff, None),
        ("get", "/api/v1/services", Public, None),
        (
            "post",
            "/api/v1/services",
            Staff,
            Some(json!({ "code": "NEW", "name": "Nuevo", "duration_minutes": 30 })),
        ),
        ("get", "/api/v1/services/{service}", Public, None),
        (
            "patch",
            "/api/v1/services/{service}",
            Staff,
            Some(json!({ "name": "Otro" })),
        ),
        ("delete", "/api/v1/services/{service}", Staff, None),
        ("get", "/api/v1/neighborhoods", Public, None),
        (
            "post",
            "/api/v1/neighborhoods",
            Staff,
            Some(json!({ "name": "Belgrano", "area": square, "distance_coefficient": "1.2" })),
        ),
        ("get", "/api/v1/neighborhoods/locate", Public, None),
        ("get", "/api/v1/neighborhoods/{hood}", Public, None),
        (
            "patch",
            "/api/v1/neighborhoods/{hood}",
            Staff,
            Some(json!({ "distance_coefficient": "9.9" })),
        ),
        ("delete", "/api/v1/neighborhoods/{hood}", Staff, None),
        (
            "post",
            "/api/v1/vets",
            Staff,
            Some(
                json!({ "email": "nuevo@example.com", "password": "vet password 123", "full_name": "Nuevo", "license_number": "MP 9", "cuit": "20-11111111-2", "phone": "+5491100000001" }),
            ),
        ),
        ("get", "/api/v1/vets/search", Staff, None),
        ("get", "/api/v1/vets", Staff, None),
        ("get", "/api/v1/vets/{vet}", Vet, None),
        (
            "patch",
            "/api/v1/vets/{vet}",
            Vet,
            Some(json!({ "phone": "+5491199999999" })),
        ),
        ("get", "/api/v1/vets/{vet}/coverage-areas", Vet, None),
        ("get", "/api/v1/vets/{vet}/visits", Vet, None),
        ("get", "/api/v1/vets/{vet}/dashboard", Vet, None),
        ("get", "/api/v1/owners/{ana}/dashboard", Owner, None),
        ("get", "/api/v1/dashboards/staff", Staff, None),
        ("get", "/api/v1/visits/{visit}", Visit, None),
        ("get", "/api/v1/visits/{visit}/report", Visit, None),
        (
            "put",
            "/api/v1/visits/{visit}/report",
            Visit,
            Some(json!({ "findings": "robado", "diagnosis": "robado" })),
        ),
        ("post", "/api/v1/visits/{visit}/report/lock", Staff, None),
        ("get", "/api/v1/invoices/{invoice}", Receipt, None),
        ("post", "/api/v1/invoices/{invoice}/reissue", Staff, None),
        (
            "get",
            "/api/v1/service-requests/{invoiced_request}/invoices",
            Receipt,
            None,
        ),
        ("get", "/api/v1/visits/{visit}/report.pdf", Visit, None),
        ("post", "/api/v1/visits/{visit}/report/files", Visit, None),
        (
            "get",
            "/api/v1/visits/{visit}/report/files/{report_file}",
            Visit,
            None,
        ),
        (
            "delete",
            "/api/v1/visits/{visit}/report/files/{report_file}",
            Visit,
            None,
        ),
        (
            "post",
            "/api/v1/visits/{visit}/no-show",
            Visit,
            Some(json!({ "reason": "no estaba" })),
        ),
        (
            "post",
            "/api/v1/vets/{vet}/coverage-areas",
            Vet,
            Some(json!({ "name": "Otra", "area": square })),
        ),
        (
            "delete",
            "/api/v1/vets/{vet}/coverage-areas/{area}",
            Vet,
            None,
        ),
        ("get", "/api/v1/vets/{vet}/specialties", Vet, None),
        (
            "put",
            "/api/v1/vets/{vet}/specialties",
            Vet,
            Some(json!({ "specialty_ids": [] })),
        ),
        ("get", "/api/v1/vets/{vet}/availability", Vet, None),
        (
            "post",
            "/api/v1/vets/{vet}/availability",
            Vet,
            Some(json!({ "weekday": 7, "starts_at": "09:00", "ends_at": "12:00" })),
        ),
        (
            "delete",
            "/api/v1/vets/{vet}/availability/{slot}",
            Vet,
            None,
        ),
        ("get", "/api/v1/vets/{vet}/time-off", Vet, None),
        (
            "post",
            "/api/v1/vets/{vet}/time-off",
            Vet,
            Some(json!({ "starts": "2027-01-01T00:00:00Z", "ends": "2027-01-02T00:00:00Z" })),
        ),
        (
            "delete",
            "/api/v1/vets/{vet}/time-off/{time_off}",
            Vet,
            None,
        ),
        ("get", "/api/v1/services/{service}/prices", Public, None),
        (
            "post",
            "/api/v1/services/{service}/prices",
            Staff,
            Some(json!({ "amount": "1", "valid_from": "2099-01-01" })),
        ),
        ("get", "/api/v1/turn-fee-groups", Public, None),
        (
            "post",
            "/api/v1/turn-fee-groups",
            Staff,
            Some(json!({ "code": "X", "name": "X", "kind": "fixed", "value": "1" })),
        ),
        ("delete", "/api/v1/turn-fee-groups/{turn_fee}", Staff, None),
        ("get", "/api/v1/discounts", Public, None),
        (
            "post",
            "/api/v1/discounts",
            Staff,
            Some(json!({ "name": "X", "kind": "fixed", "value": "1", "valid_from": "2099-01-01" })),
        ),
        ("delete", "/api/v1/discounts/{discount}", Staff, None),
        (
            "post",
            "/api/v1/quotes",
            OwnRef,
            Some(
                json!({ "service_id": "{service}", "pet_id": "{pet}", "address_id": "{address}", "start": "{start}" }),
            ),
        ),
        ("get", "/api/v1/cart", Own, None),
        (
            "post",
            "/api/v1/cart/items",
            OwnRef,
            Some(
                json!({ "service_id": "{service}", "pet_id": "{pet}", "address_id": "{address}", "wanted_start": "{start}", "wanted_end": "{end}" }),
            ),
        ),
        (
            "patch",
            "/api/v1/cart/items/{cart_item}",
            Owner,
            Some(json!({ "turn_fee_group_id": null })),
        ),
        ("delete", "/api/v1/cart/items/{cart_item}", Owner, None),
        ("post", "/api/v1/cart/checkout", Own, None),
        (
            "post",
            "/api/v1/service-requests",
            Staff,
            Some(json!({ "description": "Consulta" })),
        ),
        ("get", "/api/v1/service-requests", Own, None),
        ("get", "/api/v1/service-requests/{request}", Request, None),
        (
            "get",
            "/api/v1/service-requests/{request}/live",
            Staff,
            None,
        ),
        (
            "post",
            "/api/v1/service-requests/{request}/vet-response",
            Staff,
            Some(json!({ "answer": "accept" })),
        ),
        // The signed link is the credential; forged and foreign links are tested in
        // dispatch_flow.rs.
        ("get", "/api/v1/offers/{token}/{answer}", Public, None),
        ("post", "/api/v1/offers/{token}/{answer}", Public, None),
        // Only a vet with an offer may answer: everyone here is refused (403), Lucía
        // because this staff-dispatched request has no offer of hers.
        (
            "post",
            "/api/v1/service-requests/{request}/answer",
            Staff,
            Some(json!({ "answer": "accept" })),
        ),
        // Only the accepted vet or staff: nobody here.
        (
            "post",
            "/api/v1/service-requests/{request}/coordinate",
            Staff,
            Some(json!({ "start": "2030-01-07T13:00:00Z" })),
        ),
        // MercadoPago's signature is the credential: webhook tests forge it.
        ("post", "/api/v1/webhooks/mercadopago", Public, None),
        // Where MercadoPago sends the payer back: a page, nothing read or written.
        ("get", "/api/v1/payments/return/{result}", Public, None),
        (
            "post",
            "/api/v1/service-requests/{request}/cancel",
            Owner,
            Some(json!({ "reason": "ya no hace falta" })),
        ),
        (
            "post",
            "/api/v1/service-requests/{request}/reassign",
            Staff,
            Some(json!({ "reason": "el veterinario enfermó" })),
        ),
    ]
}
