//! AFIP's electronic receipts, as far as they are rules and not calls: which receipt a
//! sale gets (its class from the issuer's and the buyer's VAT condition), who it names
//! (DocTipo/DocNro), how its total splits into net and IVA, its printed number, and the
//! QR every printed receipt carries (RG 4892).

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::{InvoiceId, RequestId};

/// AFIP's receipt types (CbteTipo) AMAR issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReceiptType(pub i16);

impl ReceiptType {
    pub const FACTURA_A: Self = Self(1);
    pub const NOTA_DE_CREDITO_A: Self = Self(3);
    pub const FACTURA_B: Self = Self(6);
    pub const NOTA_DE_CREDITO_B: Self = Self(8);
    pub const FACTURA_C: Self = Self(11);
    pub const NOTA_DE_CREDITO_C: Self = Self(13);

    /// Every type an issuer of `condition` may issue.
    pub fn issued_by(condition: IssuerCondition) -> &'static [Self] {
        match condition {
            IssuerCondition::Monotributo => &[Self::FACTURA_C, Self::NOTA_DE_CREDITO_C],
            IssuerCondition::ResponsableInscripto => &[
                Self::FACTURA_A,
                Self::NOTA_DE_CREDITO_A,
                Self::FACTURA_B,
                Self::NOTA_DE_CREDITO_B,
            ],
        }
    }

    /// The class letter printed in the box at the top of the receipt.
    pub fn letter(self) -> char {
        match self.0 {
            1..=5 => 'A',
            6..=10 => 'B',
            _ => 'C',
        }
    }

    pub fn is_credit_note(self) -> bool {
        matches!(self.0, 3 | 8 | 13)
    }

    /// The credit note that cancels a receipt of this type.
    pub fn credit_note(self) -> Self {
        match self.letter() {
            'A' => Self::NOTA_DE_CREDITO_A,
            'B' => Self::NOTA_DE_CREDITO_B,
            _ => Self::NOTA_DE_CREDITO_C,
        }
    }

    /// Its name on the printed receipt.
    pub fn name(self) -> &'static str {
        if self.is_credit_note() {
            "NOTA DE CRÉDITO"
        } else {
            "FACTURA"
        }
    }

    /// Whether the receipt itemizes IVA (A and B do; C never does).
    pub fn itemizes_vat(self) -> bool {
        self.letter() != 'C'
    }
}

/// The issuing taxpayer's VAT condition, which decides the receipt classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerCondition {
    Monotributo,
    ResponsableInscripto,
}

impl IssuerCondition {
    pub fn label(self) -> &'static str {
        match self {
            Self::Monotributo => "Responsable Monotributo",
            Self::ResponsableInscripto => "IVA Responsable Inscripto",
        }
    }
}

impl std::str::FromStr for IssuerCondition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "monotributo" | "monotributista" => Ok(Self::Monotributo),
            "responsable_inscripto" => Ok(Self::ResponsableInscripto),
            other => Err(format!(
                "`{other}` is neither `monotributo` nor `responsable_inscripto`"
            )),
        }
    }
}

/// AFIP's document types (DocTipo).
pub mod doc_type {
    pub const CUIT: i16 = 80;
    pub const CUIL: i16 = 86;
    pub const DNI: i16 = 96;
    /// Not identified: an anonymous final consumer, with DocNro 0.
    pub const OTHER: i16 = 99;
}

/// AFIP's buyer VAT conditions (CondicionIVAReceptorId) the rules name.
pub mod vat_condition {
    pub const RESPONSABLE_INSCRIPTO: i16 = 1;
    pub const EXENTO: i16 = 4;
    pub const CONSUMIDOR_FINAL: i16 = 5;
    pub const MONOTRIBUTO: i16 = 6;
    pub const MONOTRIBUTO_SOCIAL: i16 = 13;
    pub const MONOTRIBUTO_PROMOVIDO: i16 = 16;
}

/// IVA at 21 % (AFIP's IVA id 5), what a vet's home visit pays.
pub const VAT_21_ID: i16 = 5;
pub const VAT_21_RATE: Decimal = Decimal::from_parts(21, 0, 0, false, 2);

/// Who buys, as the owner's record says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    pub name: String,
    pub doc_type: Option<i16>,
    pub doc_number: Option<String>,
    pub vat_condition: Option<i16>,
}

/// The total of a receipt, split as AFIP wants it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amounts {
    /// ImpNeto: for C the whole total.
    pub net: Decimal,
    /// ImpIVA: 0 for C.
    pub vat: Decimal,
    /// ImpTotal = net + vat.
    pub total: Decimal,
}

impl Amounts {
    /// `total` (with IVA included, as the owner paid it) split for `receipt`: two
    /// places, and `net + vat == total` exactly.
    pub fn split(receipt: ReceiptType, total: Decimal) -> Self {
        let total = total.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        if !receipt.itemizes_vat() {
            return Self {
                net: total,
                vat: Decimal::ZERO,
                total,
            };
        }
        let net = (total / (Decimal::ONE + VAT_21_RATE))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        Self {
            net,
            vat: total - net,
            total,
        }
    }
}

/// What the receipt for a sale will be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptPlan {
    pub receipt_type: ReceiptType,
    pub doc_type: i16,
    pub doc_number: u64,
    pub vat_condition: i16,
    pub amounts: Amounts,
}

/// Why a sale cannot be invoiced as its buyer's record stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the total {total} is over the limit of {limit} for an anonymous final consumer: the owner's DNI, CUIL or CUIT is needed"
    )]
    IdentificationNeeded { total: Decimal, limit: Decimal },
    #[error("the owner's document number `{0}` is not a number")]
    DocumentNumber(String),
    #[error("a VAT-registered or monotributista buyer needs a CUIT on record for a Factura A")]
    CuitNeeded,
}

/// Whether a responsable inscripto issues class A to a buyer of `condition`: VAT
/// registered, or a monotributista of any kind (RG 5003/2021), who must have a CUIT.
fn gets_class_a(condition: i16) -> bool {
    matches!(
        condition,
        vat_condition::RESPONSABLE_INSCRIPTO
            | vat_condition::MONOTRIBUTO
            | vat_condition::MONOTRIBUTO_SOCIAL
            | vat_condition::MONOTRIBUTO_PROMOVIDO
    )
}

/// The invoice's type for a buyer of VAT condition `condition` (`None`: a final
/// consumer), whatever else their record says.
pub fn receipt_class(issuer: IssuerCondition, condition: Option<i16>) -> ReceiptType {
    let condition = condition.unwrap_or(vat_condition::CONSUMIDOR_FINAL);
    match issuer {
        IssuerCondition::Monotributo => ReceiptType::FACTURA_C,
        IssuerCondition::ResponsableInscripto if gets_class_a(condition) => ReceiptType::FACTURA_A,
        IssuerCondition::ResponsableInscripto => ReceiptType::FACTURA_B,
    }
}

/// The receipt a sale of `total` to `buyer` gets from an issuer of `issuer`:
/// - a monotributista issues C to anyone;
/// - a responsable inscripto issues A to a VAT-registered buyer or a monotributista
///   (with a CUIT) and B to everyone else (final consumers, exempt);
/// - the buyer is named by their CUIT, CUIL or DNI when the record has one, or as an
///   anonymous final consumer (99, 0) when the total is under `anonymous_limit`;
/// - CondicionIVAReceptorId is always sent: the record's, or final consumer.
pub fn plan(
    issuer: IssuerCondition,
    buyer: &Buyer,
    total: Decimal,
    anonymous_limit: Decimal,
) -> Result<ReceiptPlan, PlanError> {
    let condition = buyer
        .vat_condition
        .unwrap_or(vat_condition::CONSUMIDOR_FINAL);
    let document = match (buyer.doc_type, buyer.doc_number.as_deref().map(str::trim)) {
        (Some(kind), Some(number)) if !number.is_empty() && kind != doc_type::OTHER => {
            let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
            let parsed = digits
                .parse::<u64>()
                .ok()
                .filter(|n| {
                    *n > 0
                        && digits.len() == number.chars().filter(|c| *c != '-' && *c != '.').count()
                })
                .ok_or_else(|| PlanError::DocumentNumber(number.to_owned()))?;
            Some((kind, parsed))
        }
        _ => None,
    };
    let receipt_type = receipt_class(issuer, buyer.vat_condition);
    if receipt_type == ReceiptType::FACTURA_A && !matches!(document, Some((doc_type::CUIT, _))) {
        return Err(PlanError::CuitNeeded);
    }
    let (doc_type, doc_number) = match document {
        Some(document) => document,
        None if total < anonymous_limit => (doc_type::OTHER, 0),
        None => {
            return Err(PlanError::IdentificationNeeded {
                total,
                limit: anonymous_limit,
            });
        }
    };
    Ok(ReceiptPlan {
        receipt_type,
        doc_type,
        doc_number,
        vat_condition: condition,
        amounts: Amounts::split(receipt_type, total),
    })
}

/// The printed number: point of sale in 4 digits (5 when it needs them), a dash, the
/// receipt number in 8.
pub fn number_label(point_of_sale: u32, number: u64) -> String {
    format!("{point_of_sale:04}-{number:08}")
}

/// What the QR of a printed receipt encodes (RG 4892, version 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QrData {
    pub ver: u8,
    /// The receipt's date, `YYYY-MM-DD`.
    pub fecha: String,
    pub cuit: u64,
    pub pto_vta: u32,
    pub tipo_cmp: i16,
    pub nro_cmp: u64,
    /// The total, a JSON number.
    pub importe: serde_json::Number,
    pub moneda: String,
    pub ctz: serde_json::Number,
    pub tipo_doc_rec: i16,
    pub nro_doc_rec: u64,
    /// `E` for a CAE.
    pub tipo_cod_aut: String,
    pub cod_aut: u64,
}

/// A receipt's authorized facts, what its QR and its PDF show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorized {
    pub issuer_cuit: u64,
    pub point_of_sale: u32,
    pub receipt_type: ReceiptType,
    pub number: u64,
    pub date: NaiveDate,
    pub total: Decimal,
    pub doc_type: i16,
    pub doc_number: u64,
    pub cae: String,
}

impl QrData {
    pub fn of(receipt: &Authorized) -> Self {
        let importe = receipt
            .total
            .round_dp(2)
            .normalize()
            .to_string()
            .parse::<serde_json::Number>()
            .unwrap_or_else(|_| serde_json::Number::from(0));
        Self {
            ver: 1,
            fecha: receipt.date.format("%Y-%m-%d").to_string(),
            cuit: receipt.issuer_cuit,
            pto_vta: receipt.point_of_sale,
            tipo_cmp: receipt.receipt_type.0,
            nro_cmp: receipt.number,
            importe,
            moneda: "PES".into(),
            ctz: serde_json::Number::from(1),
            tipo_doc_rec: receipt.doc_type,
            nro_doc_rec: receipt.doc_number,
            tipo_cod_aut: "E".into(),
            cod_aut: receipt.cae.trim().parse().unwrap_or(0),
        }
    }

    /// The URL the QR encodes: `base` (AFIP's `https://www.afip.gob.ar/fe/qr/`) with
    /// `?p=` and the standard base64 of the JSON.
    pub fn url(&self, base: &str) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(self).unwrap_or_default();
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        format!("{base}?p={encoded}")
    }
}

/// One issuer: receipts of one type from one point of sale of one taxpayer.
///
/// FROZEN wire type: it reaches workflow histories, so fields are only ever added, with a
/// serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IssuerKey {
    pub cuit: u64,
    pub point_of_sale: u32,
    pub receipt_type: i16,
}

impl IssuerKey {
    /// The id of the issuer's workflow: one per key (and task queue, so deployments
    /// and tests sharing a Temporal namespace never share an issuer), so receipts of a
    /// pair are issued one at a time.
    pub fn workflow_id(&self, task_queue: &str) -> String {
        format!(
            "invoice-issuer:{task_queue}:{}:{}:{}",
            self.cuit, self.point_of_sale, self.receipt_type
        )
    }
}

/// A receipt waiting for its issuer.
///
/// FROZEN wire type (a signal's payload and an activity's result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub invoice: InvoiceId,
    pub request: RequestId,
}

/// What an issuer's run starts with.
///
/// FROZEN wire type: it reaches workflow histories, so fields are only ever added, with a
/// serde default; nothing is renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IssuerInput {
    pub issuer: IssuerKey,
    /// Receipts carried over from the previous run (continue-as-new).
    #[serde(default)]
    pub queue: Vec<Queued>,
    /// Receipts a run issues before it continues as new (`None`: the issuer's default).
    #[serde(default)]
    pub receipts_per_run: Option<u32>,
}

/// What every printed receipt says of its issuer besides the row's CUIT (RG 1415): name,
/// address, VAT condition, gross income number, start of activities; and where its QR
/// points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    pub business_name: String,
    pub address: String,
    pub condition: IssuerCondition,
    pub gross_income: String,
    pub activity_start: NaiveDate,
    pub qr_base: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buyer(doc: Option<(i16, &str)>, condition: Option<i16>) -> Buyer {
        Buyer {
            name: "Ana Gómez".into(),
            doc_type: doc.map(|d| d.0),
            doc_number: doc.map(|d| d.1.to_owned()),
            vat_condition: condition,
        }
    }

    const LIMIT: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

    #[test]
    fn a_monotributista_issues_c_with_the_whole_total_as_net_and_no_vat() {
        let plan = plan(
            IssuerCondition::Monotributo,
            &buyer(Some((96, "30.123.456")), None),
            "25000".parse().unwrap(),
            LIMIT,
        )
        .unwrap();
        assert_eq!(plan.receipt_type, ReceiptType::FACTURA_C);
        assert_eq!((plan.doc_type, plan.doc_number), (96, 30_123_456));
        assert_eq!(plan.vat_condition, vat_condition::CONSUMIDOR_FINAL);
        assert_eq!(plan.amounts.net, "25000.00".parse::<Decimal>().unwrap());
        assert_eq!(plan.amounts.vat, Decimal::ZERO);
    }

    #[test]
    fn a_responsable_inscripto_issues_a_to_a_registered_buyer_and_b_to_a_final_consumer() {
        let ri = IssuerCondition::ResponsableInscripto;
        let total: Decimal = "12100".parse().unwrap();
        let a = plan(
            ri,
            &buyer(Some((80, "20-12345678-6")), Some(1)),
            total,
            LIMIT,
        )
        .unwrap();
        assert_eq!(a.receipt_type, ReceiptType::FACTURA_A);
        assert_eq!((a.doc_type, a.doc_number), (80, 20_123_456_786));
        assert_eq!(a.amounts.net, "10000.00".parse::<Decimal>().unwrap());
        assert_eq!(a.amounts.vat, "2100.00".parse::<Decimal>().unwrap());
        let b = plan(ri, &buyer(None, None), total, LIMIT).unwrap();
        assert_eq!(b.receipt_type, ReceiptType::FACTURA_B);
        assert_eq!((b.doc_type, b.doc_number), (99, 0));
        assert_eq!(
            plan(ri, &buyer(Some((96, "30123456")), Some(1)), total, LIMIT),
            Err(PlanError::CuitNeeded)
        );
        // A monotributista buyer gets A too (RG 5003/2021); an exempt one B.
        let mono = plan(ri, &buyer(Some((80, "20123456786")), Some(6)), total, LIMIT).unwrap();
        assert_eq!(mono.receipt_type, ReceiptType::FACTURA_A);
        let exempt = plan(ri, &buyer(Some((80, "20123456786")), Some(4)), total, LIMIT).unwrap();
        assert_eq!(exempt.receipt_type, ReceiptType::FACTURA_B);
    }

    #[test]
    fn an_anonymous_buyer_over_the_limit_needs_a_document() {
        let over = plan(
            IssuerCondition::Monotributo,
            &buyer(None, None),
            LIMIT,
            LIMIT,
        );
        assert!(matches!(over, Err(PlanError::IdentificationNeeded { .. })));
        let letters = plan(
            IssuerCondition::Monotributo,
            &buyer(Some((96, "30x23")), None),
            "10".parse().unwrap(),
            LIMIT,
        );
        assert!(matches!(letters, Err(PlanError::DocumentNumber(_))));
    }

    #[test]
    fn net_and_vat_always_add_up_to_the_total_and_vat_is_21_percent_of_net_within_a_cent() {
        for cents in (1..200_000).step_by(7) {
            let total = Decimal::new(cents, 2);
            let a = Amounts::split(ReceiptType::FACTURA_B, total);
            assert_eq!(a.net + a.vat, a.total, "{total}");
            assert!(
                (a.net * VAT_21_RATE - a.vat).abs() <= Decimal::new(1, 2),
                "{total}"
            );
        }
    }

    #[test]
    fn credit_notes_match_their_receipts_class() {
        assert_eq!(
            ReceiptType::FACTURA_C.credit_note(),
            ReceiptType::NOTA_DE_CREDITO_C
        );
        assert_eq!(
            ReceiptType::FACTURA_A.credit_note(),
            ReceiptType::NOTA_DE_CREDITO_A
        );
        assert_eq!(
            ReceiptType::FACTURA_B.credit_note(),
            ReceiptType::NOTA_DE_CREDITO_B
        );
        assert!(ReceiptType::NOTA_DE_CREDITO_B.is_credit_note());
        assert_eq!(number_label(2, 31), "0002-00000031");
    }

    #[test]
    fn the_qr_is_afips_url_with_the_base64_json_its_numbers_as_numbers() {
        use base64::Engine;
        let receipt = Authorized {
            issuer_cuit: 20_123_456_786,
            point_of_sale: 3,
            receipt_type: ReceiptType::FACTURA_B,
            number: 42,
            date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            total: "12100.50".parse().unwrap(),
            doc_type: 99,
            doc_number: 0,
            cae: "76123456789012".into(),
        };
        let url = QrData::of(&receipt).url("https://www.afip.gob.ar/fe/qr/");
        let encoded = url
            .strip_prefix("https://www.afip.gob.ar/fe/qr/?p=")
            .expect(&url);
        let json = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["ver"], 1);
        assert_eq!(value["fecha"], "2026-12-01");
        assert_eq!(value["cuit"], 20_123_456_786u64);
        assert_eq!(value["ptoVta"], 3);
        assert_eq!(value["tipoCmp"], 6);
        assert_eq!(value["nroCmp"], 42);
        assert_eq!(value["importe"].as_f64(), Some(12100.5));
        assert_eq!(value["moneda"], "PES");
        assert_eq!(value["ctz"], 1);
        assert_eq!(value["tipoDocRec"], 99);
        assert_eq!(value["nroDocRec"], 0);
        assert_eq!(value["tipoCodAut"], "E");
        assert_eq!(value["codAut"], 76_123_456_789_012u64);
        assert_eq!(value.as_object().unwrap().len(), 13);
    }
}
