//! Public paths that one side builds and the other serves: the API's router and the
//! links the worker puts in messages and in MercadoPago preferences use these, so they
//! cannot drift apart.

/// Where every API route lives.
pub const API_PREFIX: &str = "/api/v1";
/// A vet's offer link: `{OFFERS}/{token}/{accept|reject}`.
pub const OFFERS: &str = "/api/v1/offers";
/// MercadoPago's payment notifications (`notification_url`).
pub const MERCADOPAGO_WEBHOOK: &str = "/api/v1/webhooks/mercadopago";
/// Where MercadoPago sends the payer back: `{PAYMENT_RETURN}/{success|pending|failure}`.
pub const PAYMENT_RETURN: &str = "/api/v1/payments/return";

/// A visit: `{VISITS}/{id}`, its report `{VISITS}/{id}/report` and the report's PDF
/// `{VISITS}/{id}/report.pdf` (which a signed `?link=` opens without signing in).
pub const VISITS: &str = "/api/v1/visits";
/// The report's PDF, after `{VISITS}/{id}`; a link to it carries its token as
/// [`REPORT_LINK_QUERY`].
pub const REPORT_PDF: &str = "/report.pdf";
/// The query of a report link: `?link=<token>`.
pub const REPORT_LINK_QUERY: &str = "?link=";

/// The booking page, prefilled by its query (`?pet=…&service=…&address=…`): where a
/// vaccine reminder's link leads.
pub const BOOKING: &str = "/api/v1/book";

/// Where an owner chooses their first password: `GET` is the page the welcome email
/// links to (`#token=…`), `POST` sets it.
pub const SET_PASSWORD: &str = "/api/v1/auth/set-password";

/// The part of `path` after [`API_PREFIX`], for a router nested under it.
pub fn under_api(path: &str) -> &str {
    path.strip_prefix(API_PREFIX).unwrap_or(path)
}
