//! One receipt as `FECAESolicitar` takes it and answers it: the request's fields, its
//! `FeCAEReq` written in the XSD's order, and the typed outcome (approved with a CAE, or
//! rejected with AFIP's coded messages).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{soap, wsfe::Message};

/// A receipt's reference in a credit note (`CbtesAsoc/CbteAsoc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Associated {
    pub receipt_type: i16,
    pub point_of_sale: u32,
    pub number: u64,
    pub cuit: u64,
    pub date: NaiveDate,
}

/// An IVA line (`Iva/AlicIva`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatLine {
    pub id: i16,
    pub base: Decimal,
    pub amount: Decimal,
}

/// One receipt to authorize (services, in pesos).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRequest {
    pub point_of_sale: u32,
    pub receipt_type: i16,
    pub number: u64,
    pub date: NaiveDate,
    pub doc_type: i16,
    pub doc_number: u64,
    pub total: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
    pub service_from: NaiveDate,
    pub service_to: NaiveDate,
    pub payment_due: NaiveDate,
    pub vat_condition: i16,
    pub associated: Option<Associated>,
    pub vat_lines: Vec<VatLine>,
}

/// What `FECAESolicitar` answered for the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Authorization {
    Approved {
        cae: String,
        cae_due: NaiveDate,
        observations: Vec<Message>,
    },
    Rejected {
        messages: Vec<Message>,
    },
}

/// Why a receipt was rejected, as far as the issuer acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// 10016: the number is not the next, or the date is before the last receipt's.
    OutOfSequence,
    /// 10048: the totals do not add up.
    Totals,
    /// 10242, 10243, 10246: the buyer's VAT condition is missing or wrong.
    BuyerCondition,
    Other,
}

impl Rejection {
    pub fn of(messages: &[Message]) -> Self {
        let has = |codes: &[i64]| messages.iter().any(|m| codes.contains(&m.code));
        if has(&[10016]) {
            Self::OutOfSequence
        } else if has(&[10048]) {
            Self::Totals
        } else if has(&[10242, 10243, 10246]) {
            Self::BuyerCondition
        } else {
            Self::Other
        }
    }
}

fn money(amount: Decimal) -> String {
    format!("{:.2}", amount.round_dp(2))
}

fn date(day: NaiveDate) -> String {
    day.format("%Y%m%d").to_string()
}

/// `FeCAEReq` for one receipt, in the XSD's order.
pub(super) fn write_receipt(body: &mut soap::Body, r: &ReceiptRequest) {
    body.open("FeCAEReq")
        .open("FeCabReq")
        .leaf("CantReg", 1)
        .leaf("PtoVta", r.point_of_sale)
        .leaf("CbteTipo", r.receipt_type)
        .close("FeCabReq")
        .open("FeDetReq")
        .open("FECAEDetRequest")
        .leaf("Concepto", 2)
        .leaf("DocTipo", r.doc_type)
        .leaf("DocNro", r.doc_number)
        .leaf("CbteDesde", r.number)
        .leaf("CbteHasta", r.number)
        .leaf("CbteFch", date(r.date))
        .leaf("ImpTotal", money(r.total))
        .leaf("ImpTotConc", "0.00")
        .leaf("ImpNeto", money(r.net))
        .leaf("ImpOpEx", "0.00")
        .leaf("ImpTrib", "0.00")
        .leaf("ImpIVA", money(r.vat))
        .leaf("FchServDesde", date(r.service_from))
        .leaf("FchServHasta", date(r.service_to))
        .leaf("FchVtoPago", date(r.payment_due))
        .leaf("MonId", "PES")
        .leaf("MonCotiz", 1)
        .leaf("CondicionIVAReceptorId", r.vat_condition);
    if let Some(a) = &r.associated {
        body.open("CbtesAsoc")
            .open("CbteAsoc")
            .leaf("Tipo", a.receipt_type)
            .leaf("PtoVta", a.point_of_sale)
            .leaf("Nro", a.number)
            .leaf("Cuit", a.cuit)
            .leaf("CbteFch", date(a.date))
            .close("CbteAsoc")
            .close("CbtesAsoc");
    }
    if !r.vat_lines.is_empty() {
        body.open("Iva");
        for line in &r.vat_lines {
            body.open("AlicIva")
                .leaf("Id", line.id)
                .leaf("BaseImp", money(line.base))
                .leaf("Importe", money(line.amount))
                .close("AlicIva");
        }
        body.close("Iva");
    }
    body.close("FECAEDetRequest")
        .close("FeDetReq")
        .close("FeCAEReq");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::afip::wsfe::NAMESPACE;

    fn receipt() -> ReceiptRequest {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        ReceiptRequest {
            point_of_sale: 1,
            receipt_type: 6,
            number: 8,
            date: day,
            doc_type: 99,
            doc_number: 0,
            total: "12100".parse().unwrap(),
            net: "10000".parse().unwrap(),
            vat: "2100".parse().unwrap(),
            service_from: day,
            service_to: day,
            payment_due: day,
            vat_condition: 5,
            associated: None,
            vat_lines: vec![VatLine {
                id: 5,
                base: "10000".parse().unwrap(),
                amount: "2100".parse().unwrap(),
            }],
        }
    }

    #[test]
    fn a_receipt_is_written_in_the_xsd_order_with_the_buyer_condition() {
        let mut body = soap::Body::new("FECAESolicitar", NAMESPACE);
        write_receipt(&mut body, &receipt());
        let xml = body.finish("FECAESolicitar");
        let tree = soap::parse(&xml).unwrap();
        let detail = soap::body(&tree)
            .unwrap()
            .at(&["FeCAEReq", "FeDetReq", "FECAEDetRequest"])
            .unwrap();
        let names: Vec<_> = detail.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Concepto",
                "DocTipo",
                "DocNro",
                "CbteDesde",
                "CbteHasta",
                "CbteFch",
                "ImpTotal",
                "ImpTotConc",
                "ImpNeto",
                "ImpOpEx",
                "ImpTrib",
                "ImpIVA",
                "FchServDesde",
                "FchServHasta",
                "FchVtoPago",
                "MonId",
                "MonCotiz",
                "CondicionIVAReceptorId",
                "Iva"
            ]
        );
        assert_eq!(detail.text_of("CondicionIVAReceptorId"), Some("5"));
        assert_eq!(detail.text_of("ImpTotal"), Some("12100.00"));
        assert_eq!(detail.text_of("CbteFch"), Some("20261201"));
        assert_eq!(
            detail.at(&["Iva", "AlicIva", "Importe"]).unwrap().text,
            "2100.00"
        );
    }

    #[test]
    fn rejections_are_typed_by_their_codes() {
        let m = |code| Message {
            code,
            text: String::new(),
        };
        assert_eq!(Rejection::of(&[m(10016)]), Rejection::OutOfSequence);
        assert_eq!(Rejection::of(&[m(10048)]), Rejection::Totals);
        assert_eq!(Rejection::of(&[m(10246)]), Rejection::BuyerCondition);
        assert_eq!(Rejection::of(&[m(10015)]), Rejection::Other);
    }
}
