//! WSFEv1, AFIP's electronic invoicing service: `FEDummy`, `FECompUltimoAutorizado`,
//! `FECAESolicitar`, `FECompConsultar`, `FEParamGetPtosVenta` and
//! `FEParamGetCondicionIvaReceptor`. Every call carries the ticket and the CUIT.
//! Business errors come with HTTP 200 in `Errors` and `Observaciones`; they are typed
//! here. `FECAESolicitar` is not idempotent at AFIP: it is sent once, and an answer
//! that did not arrive is [`WsfeError::Unanswered`], for the caller to look up with
//! `FECompConsultar` before anything else.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use super::receipt::{Associated, Authorization, ReceiptRequest, Rejection, VatLine};
use super::{Ticket, receipt::write_receipt, soap};

pub const NAMESPACE: &str = "http://ar.gov.afip.dif.FEV1/";

/// One of AFIP's coded messages (`Err`, `Obs`, `Evt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub code: i64,
    pub text: String,
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.text)
    }
}

fn said(messages: &[Message]) -> String {
    messages
        .iter()
        .map(Message::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WsfeError {
    /// 600/601: the ticket is not valid (expired, or for another CUIT): sign in again.
    #[error("AFIP refused the ticket: {}", said(.0))]
    Ticket(Vec<Message>),
    /// 602: no such receipt, or no data.
    #[error("AFIP has no such record (602)")]
    NotFound,
    /// Any other error AFIP answered with.
    #[error("AFIP refused the call: {}", said(.0))]
    Refused(Vec<Message>),
    /// The request may have reached AFIP, which did not answer (a timeout, a dropped
    /// connection, a 5xx): its effect is unknown.
    #[error("AFIP did not answer: {0}")]
    Unanswered(String),
    /// The request never left (no connection, or every try of a safe call failed).
    #[error("AFIP could not be reached: {0}")]
    Unreachable(String),
    #[error("AFIP's answer could not be read: {0}")]
    Decode(String),
}

impl WsfeError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unanswered(_) | Self::Unreachable(_))
    }
}

/// A receipt as AFIP has it (`FECompConsultar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub receipt_type: i16,
    pub point_of_sale: u32,
    pub number: u64,
    pub date: NaiveDate,
    pub doc_type: i16,
    pub doc_number: u64,
    pub total: Decimal,
    pub net: Decimal,
    /// FchServDesde (services).
    pub service_from: Option<NaiveDate>,
    pub result: String,
    pub cae: String,
    pub cae_due: NaiveDate,
}

/// A point of sale (`FEParamGetPtosVenta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointOfSale {
    pub number: u32,
    pub emission: String,
    pub blocked: bool,
    pub closed_on: Option<NaiveDate>,
}

/// A buyer VAT condition valid for a receipt class (`FEParamGetCondicionIvaReceptor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerCondition {
    pub id: i16,
    pub description: String,
    pub classes: String,
}

fn read_date(raw: &str) -> Result<NaiveDate, WsfeError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y%m%d")
        .map_err(|e| WsfeError::Decode(format!("date {raw:?}: {e}")))
}

fn messages(parent: Option<&soap::Element>, item: &str) -> Vec<Message> {
    parent
        .map(|p| {
            p.all(item)
                .map(|m| Message {
                    code: m.text_of("Code").and_then(|c| c.parse().ok()).unwrap_or(0),
                    text: m.text_of("Msg").unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What AMAR needs of AFIP's electronic invoicing service (WSFEv1): its health, the last
/// number of a pair, authorizing one receipt (sent once), looking one up, and the
/// taxpayer's points of sale and the buyer conditions a class allows.
pub trait Wsfe: Send + Sync {
    /// `FEDummy`: whether AFIP's application, database and authentication servers are up.
    fn dummy(&self) -> impl std::future::Future<Output = Result<bool, WsfeError>> + Send;
    /// `FECompUltimoAutorizado`: the last receipt number authorized for the pair (0
    /// when none yet).
    fn last_authorized(
        &self,
        ticket: &Ticket,
        point_of_sale: u32,
        receipt_type: i16,
    ) -> impl std::future::Future<Output = Result<u64, WsfeError>> + Send;
    /// `FECAESolicitar` for one receipt; sent once.
    fn authorize(
        &self,
        ticket: &Ticket,
        receipt: &ReceiptRequest,
    ) -> impl std::future::Future<Output = Result<Authorization, WsfeError>> + Send;
    /// `FECompConsultar`: the receipt AFIP has with that number; `NotFound` (602) when
    /// none.
    fn lookup(
        &self,
        ticket: &Ticket,
        point_of_sale: u32,
        receipt_type: i16,
        number: u64,
    ) -> impl std::future::Future<Output = Result<Issued, WsfeError>> + Send;
    /// `FEParamGetPtosVenta`: the taxpayer's web-service points of sale (none yet: 602,
    /// an empty list).
    fn points_of_sale(
        &self,
        ticket: &Ticket,
    ) -> impl std::future::Future<Output = Result<Vec<PointOfSale>, WsfeError>> + Send;
    /// `FEParamGetCondicionIvaReceptor` for a receipt class (`A`, `B`, `C`; `None`: all).
    fn buyer_conditions(
        &self,
        ticket: &Ticket,
        class: Option<char>,
    ) -> impl std::future::Future<Output = Result<Vec<BuyerCondition>, WsfeError>> + Send;
}

impl Wsfe for WsfeClient {
    async fn dummy(&self) -> Result<bool, WsfeError> {
        let result = self
            .call("FEDummy", self.request("FEDummy", None), true)
            .await?;
        Ok(["AppServer", "DbServer", "AuthServer"]
            .iter()
            .all(|s| result.text_of(s) == Some("OK")))
    }

    async fn last_authorized(
        &self,
        ticket: &Ticket,
        point_of_sale: u32,
        receipt_type: i16,
    ) -> Result<u64, WsfeError> {
        let method = "FECompUltimoAutorizado";
        let mut body = self.request(method, Some(ticket));
        body.leaf("PtoVta", point_of_sale)
            .leaf("CbteTipo", receipt_type);
        let result = self.call(method, body, true).await?;
        Self::errors(&result)?;
        result
            .text_of("CbteNro")
            .unwrap_or("0")
            .parse()
            .map_err(|e| WsfeError::Decode(format!("CbteNro: {e}")))
    }

    async fn authorize(
        &self,
        ticket: &Ticket,
        receipt: &ReceiptRequest,
    ) -> Result<Authorization, WsfeError> {
        let method = "FECAESolicitar";
        let mut body = self.request(method, Some(ticket));
        write_receipt(&mut body, receipt);
        let result = self.call(method, body, false).await?;
        let errors = messages(result.child("Errors"), "Err");
        if errors.iter().any(|m| matches!(m.code, 600 | 601)) {
            return Err(WsfeError::Ticket(errors));
        }
        let detail = result.at(&["FeDetResp", "FECAEDetResponse"]);
        let observations = messages(detail.and_then(|d| d.child("Observaciones")), "Obs");
        let outcome = detail.and_then(|d| d.text_of("Resultado")).or_else(|| {
            result
                .at(&["FeCabResp"])
                .and_then(|c| c.text_of("Resultado"))
        });
        match (outcome, detail) {
            (Some("A"), Some(detail)) => {
                let cae = detail
                    .text_of("CAE")
                    .ok_or_else(|| WsfeError::Decode("approved without a CAE".into()))?;
                let due = detail
                    .text_of("CAEFchVto")
                    .ok_or_else(|| WsfeError::Decode("approved without CAEFchVto".into()))?;
                Ok(Authorization::Approved {
                    cae: cae.to_owned(),
                    cae_due: read_date(due)?,
                    observations,
                })
            }
            (Some("R"), _) | (None, _) if !errors.is_empty() || !observations.is_empty() => {
                let mut all = errors;
                all.extend(observations);
                Ok(Authorization::Rejected { messages: all })
            }
            (other, _) => Err(WsfeError::Decode(format!(
                "Resultado {other:?} without messages"
            ))),
        }
    }

    async fn lookup(
        &self,
        ticket: &Ticket,
        point_of_sale: u32,
        receipt_type: i16,
        number: u64,
    ) -> Result<Issued, WsfeError> {
        let method = "FECompConsultar";
        let mut body = self.request(method, Some(ticket));
        body.open("FeCompConsReq")
            .leaf("CbteTipo", receipt_type)
            .leaf("CbteNro", number)
            .leaf("PtoVta", point_of_sale)
            .close("FeCompConsReq");
        let result = self.call(method, body, true).await?;
        Self::errors(&result)?;
        let got = result
            .child("ResultGet")
            .ok_or_else(|| WsfeError::Decode("no ResultGet".into()))?;
        let text = |name: &str| {
            got.text_of(name)
                .map(str::to_owned)
                .ok_or_else(|| WsfeError::Decode(format!("no {name}")))
        };
        let number_of = |name: &str| -> Result<u64, WsfeError> {
            text(name)?
                .parse()
                .map_err(|e| WsfeError::Decode(format!("{name}: {e}")))
        };
        Ok(Issued {
            receipt_type: number_of("CbteTipo")? as i16,
            point_of_sale: number_of("PtoVta")? as u32,
            number: number_of("CbteDesde")?,
            date: read_date(&text("CbteFch")?)?,
            doc_type: number_of("DocTipo")? as i16,
            doc_number: number_of("DocNro")?,
            total: text("ImpTotal")?
                .parse()
                .map_err(|e| WsfeError::Decode(format!("ImpTotal: {e}")))?,
            net: text("ImpNeto")?
                .parse()
                .map_err(|e| WsfeError::Decode(format!("ImpNeto: {e}")))?,
            service_from: got.text_of("FchServDesde").and_then(|d| read_date(d).ok()),
            result: text("Resultado")?,
            cae: text("CodAutorizacion")?,
            cae_due: read_date(&text("FchVto")?)?,
        })
    }

    async fn points_of_sale(&self, ticket: &Ticket) -> Result<Vec<PointOfSale>, WsfeError> {
        let method = "FEParamGetPtosVenta";
        let result = self
            .call(method, self.request(method, Some(ticket)), true)
            .await?;
        match Self::errors(&result) {
            Err(WsfeError::NotFound) => return Ok(Vec::new()),
            other => other?,
        }
        Ok(result
            .child("ResultGet")
            .map(|r| {
                r.all("PtoVenta")
                    .filter_map(|p| {
                        Some(PointOfSale {
                            number: p.text_of("Nro")?.parse().ok()?,
                            emission: p.text_of("EmisionTipo").unwrap_or_default().to_owned(),
                            blocked: p.text_of("Bloqueado") == Some("S"),
                            closed_on: p
                                .text_of("FchBaja")
                                .filter(|d| *d != "NULL")
                                .and_then(|d| read_date(d).ok()),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn buyer_conditions(
        &self,
        ticket: &Ticket,
        class: Option<char>,
    ) -> Result<Vec<BuyerCondition>, WsfeError> {
        let method = "FEParamGetCondicionIvaReceptor";
        let mut body = self.request(method, Some(ticket));
        if let Some(class) = class {
            body.leaf("ClaseCmp", class);
        }
        let result = self.call(method, body, true).await?;
        Self::errors(&result)?;
        Ok(result
            .child("ResultGet")
            .map(|r| {
                r.all("CondicionIvaReceptor")
                    .filter_map(|c| {
                        Some(BuyerCondition {
                            id: c.text_of("Id")?.parse().ok()?,
                            description: c.text_of("Desc").unwrap_or_default().to_owned(),
                            classes: c.text_of("Cmp_Clase").unwrap_or_default().to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The WSFEv1 client.
#[derive(Debug, Clone)]
pub struct WsfeClient {
    http: reqwest::Client,
    url: String,
    cuit: u64,
    max_attempts: u32,
}

impl WsfeClient {
    pub fn new(http: reqwest::Client, url: &str, cuit: u64, max_attempts: u32) -> Self {
        Self {
            http,
            url: url.to_owned(),
            cuit,
            max_attempts: max_attempts.max(1),
        }
    }

    fn request(&self, method: &str, ticket: Option<&Ticket>) -> soap::Body {
        let mut body = soap::Body::new(method, NAMESPACE);
        if let Some(ticket) = ticket {
            body.open("Auth")
                .leaf("Token", &ticket.token)
                .leaf("Sign", &ticket.sign)
                .leaf("Cuit", self.cuit)
                .close("Auth");
        }
        body
    }

    /// Posts `body` for `method` and returns `<method>Result`. `safe` calls are tried
    /// up to the configured attempts on network errors and 5xx.
    async fn call(
        &self,
        method: &str,
        body: soap::Body,
        safe: bool,
    ) -> Result<soap::Element, WsfeError> {
        let envelope = body.finish(method);
        let attempts = if safe { self.max_attempts } else { 1 };
        let mut last = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(std::time::Duration::from_millis(300 << attempt)).await;
            }
            let sent = self
                .http
                .post(&self.url)
                .header("Content-Type", "text/xml; charset=utf-8")
                .header("SOAPAction", format!("\"{NAMESPACE}{method}\""))
                .body(envelope.clone())
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) if e.is_connect() => {
                    last = format!("network: {e}");
                    if attempt == attempts {
                        return Err(WsfeError::Unreachable(last));
                    }
                    continue;
                }
                Err(e) if safe => {
                    last = format!("network: {e}");
                    continue;
                }
                Err(e) => return Err(WsfeError::Unanswered(format!("network: {e}"))),
            };
            let status = response.status();
            let text = match response.text().await {
                Ok(text) => text,
                Err(e) if safe => {
                    last = format!("{status}, then network: {e}");
                    continue;
                }
                Err(e) => return Err(WsfeError::Unanswered(format!("{status}, then {e}"))),
            };
            if status.is_server_error() || status.as_u16() == 429 {
                last = format!("HTTP {status}");
                if safe {
                    continue;
                }
                return Err(WsfeError::Unanswered(last));
            }
            let tree = soap::parse(&text).map_err(|e| WsfeError::Decode(e.to_string()))?;
            let answer = match soap::body(&tree) {
                Ok(answer) => answer,
                Err(Some(fault)) => {
                    return Err(WsfeError::Refused(vec![Message {
                        code: 0,
                        text: format!("{}: {}", fault.code, fault.message),
                    }]));
                }
                Err(None) => return Err(WsfeError::Decode(format!("HTTP {status}, no body"))),
            };
            let result = answer
                .child(&format!("{method}Result"))
                .cloned()
                .ok_or_else(|| WsfeError::Decode(format!("no {method}Result")))?;
            return Ok(result);
        }
        Err(WsfeError::Unreachable(last))
    }

    /// The call's `Errors`, typed: 600/601 (the ticket), 602 (nothing found), others.
    fn errors(result: &soap::Element) -> Result<(), WsfeError> {
        let errors = messages(result.child("Errors"), "Err");
        if errors.is_empty() {
            return Ok(());
        }
        if errors.iter().any(|m| matches!(m.code, 600 | 601)) {
            return Err(WsfeError::Ticket(errors));
        }
        if errors.iter().all(|m| m.code == 602) {
            return Err(WsfeError::NotFound);
        }
        Err(WsfeError::Refused(errors))
    }
}
