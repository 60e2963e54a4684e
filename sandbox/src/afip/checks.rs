//! What WSFEv1 checks in a receipt before it authorizes it, with AFIP's codes: the
//! elements and their order, last + 1 and the dates (10016), Concepto 2's service dates,
//! the totals and IVA lines, the anonymous buyer's limit, the buyer's VAT condition for
//! the class, and a credit note's associated receipt.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{
    Inner, Receipt,
    wsfe::{BUYER_CONDITIONS, class},
    xml,
};

/// `FECAEDetRequest`'s elements, in the XSD's order.
const DETAIL_ORDER: &[&str] = &[
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
    "CanMisMonExt",
    "CondicionIVAReceptorId",
    "CbtesAsoc",
    "Tributos",
    "Iva",
    "Opcionales",
    "Compradores",
    "PeriodoAsoc",
    "Actividades",
];

/// A rejection's coded observations.
type Observations = Vec<(i64, String)>;

fn parse_day(raw: Option<String>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw?.trim(), "%Y%m%d").ok()
}

fn money(raw: Option<String>) -> Option<Decimal> {
    raw?.trim().parse().ok()
}

/// Checks one receipt against what AFIP has; the receipt to authorize, or why not.
pub(super) fn check(
    inner: &Inner,
    cuit: u64,
    pv: u32,
    kind: i16,
    d: &xml::Node,
) -> Result<Receipt, Observations> {
    let mut obs: Observations = Vec::new();
    // Order: each present element after the previous one, all known.
    let positions: Vec<Option<usize>> = d
        .names()
        .iter()
        .map(|n| DETAIL_ORDER.iter().position(|o| o == n))
        .collect();
    if positions.iter().any(Option::is_none) || positions.windows(2).any(|w| w[0] >= w[1]) {
        return Err(vec![(
            10000,
            format!(
                "Los elementos de FECAEDetRequest no siguen el orden del esquema: {:?}",
                d.names()
            ),
        )]);
    }
    let required = [
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
        "MonId",
        "MonCotiz",
    ];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|n| d.value(n).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(vec![(
            10000,
            format!("Campos obligatorios ausentes: {missing:?}"),
        )]);
    }
    let number = |name: &str| {
        d.value(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (from, to) = (number("CbteDesde"), number("CbteHasta"));
    let today = domain_today();
    let date = parse_day(d.value("CbteFch")).unwrap_or(NaiveDate::MIN);
    let last = inner.last(cuit, pv, kind);
    let next = last.map_or(1, |r| r.number + 1);
    if from != to || from != next {
        obs.push((10016, format!("El numero o fecha del comprobante no se corresponde con el proximo a autorizar. Consultar metodo FECompUltimoAutorizado. (proximo: {next})")));
    }
    if last.is_some_and(|r| date < r.date) || (date - today).num_days().abs() > 10 {
        obs.push((10016, "La fecha del comprobante es anterior a la del ultimo emitido o esta fuera del rango de 10 dias".into()));
    }
    let concept = number("Concepto") as u8;
    let (service_from, service_to, due) = (
        parse_day(d.value("FchServDesde")),
        parse_day(d.value("FchServHasta")),
        parse_day(d.value("FchVtoPago")),
    );
    if concept >= 2 {
        match (service_from, service_to, due) {
            (Some(f), Some(t), Some(v)) => {
                if f > t {
                    obs.push((
                        10032,
                        "FchServDesde no puede ser mayor a FchServHasta".into(),
                    ));
                }
                if v < date {
                    obs.push((10036, "FchVtoPago no puede ser anterior a CbteFch".into()));
                }
            }
            _ => obs.push((
                10049,
                "Para Concepto 2 o 3 son obligatorias FchServDesde, FchServHasta y FchVtoPago"
                    .into(),
            )),
        }
    }
    let amount = |name: &str| money(d.value(name)).unwrap_or(Decimal::MIN);
    let (total, net, vat) = (amount("ImpTotal"), amount("ImpNeto"), amount("ImpIVA"));
    let sum = amount("ImpTotConc") + net + amount("ImpOpEx") + amount("ImpTrib") + vat;
    let cent = Decimal::new(1, 2);
    if (total - sum).abs() > cent.max(total.abs() * Decimal::new(1, 4)) {
        obs.push((10048, "El campo ImpTotal no coincide con la suma de ImpTotConc + ImpNeto + ImpOpEx + ImpTrib + ImpIVA".into()));
    }
    let lines: Vec<(i16, Decimal, Decimal)> = d
        .get("Iva")
        .map(|iva| {
            iva.children
                .iter()
                .map(|a| {
                    (
                        a.value("Id").and_then(|v| v.parse().ok()).unwrap_or(0),
                        money(a.value("BaseImp")).unwrap_or(Decimal::MIN),
                        money(a.value("Importe")).unwrap_or(Decimal::MIN),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if class(kind) == 'C' {
        if !lines.is_empty() || vat != Decimal::ZERO {
            obs.push((
                10071,
                "Para comprobantes tipo C no debe informarse IVA".into(),
            ));
        }
    } else {
        let rate = |id: i16| match id {
            3 => Some(Decimal::ZERO),
            4 => Some(Decimal::new(105, 3)),
            5 => Some(Decimal::new(21, 2)),
            6 => Some(Decimal::new(27, 2)),
            _ => None,
        };
        let bases: Decimal = lines.iter().map(|l| l.1).sum();
        let amounts: Decimal = lines.iter().map(|l| l.2).sum();
        let lines_ok = lines.iter().all(|(id, base, amount)| {
            rate(*id).is_some_and(|r| (*base * r - *amount).abs() <= cent)
        });
        if lines.is_empty()
            || !lines_ok
            || (bases - net).abs() > cent
            || (amounts - vat).abs() > cent
        {
            obs.push((
                10051,
                "Los importes de Iva no se corresponden con ImpNeto e ImpIVA".into(),
            ));
        }
    }
    let doc_type = number("DocTipo") as i16;
    let doc_number = number("DocNro");
    if doc_type == 99 && total >= inner.anonymous_limit {
        obs.push((
            10015,
            "Para un importe igual o mayor al limite se debe identificar al receptor".into(),
        ));
    }
    match d.value("CondicionIVAReceptorId").map(|v| v.parse::<i16>()) {
        None => obs.push((
            10246,
            "El campo CondicionIVAReceptorId es obligatorio".into(),
        )),
        Some(Ok(id)) => match BUYER_CONDITIONS.iter().find(|c| c.0 == id) {
            None => obs.push((10242, format!("CondicionIVAReceptorId {id} no es valido"))),
            Some((_, _, classes)) if !classes.contains(class(kind)) => obs.push((
                10243,
                format!(
                    "CondicionIVAReceptorId {id} no es valido para comprobantes clase {}",
                    class(kind)
                ),
            )),
            Some(_) => {}
        },
        Some(Err(_)) => obs.push((10242, "CondicionIVAReceptorId no es valido".into())),
    }
    let associated = d
        .get("CbtesAsoc")
        .and_then(|a| a.children.first())
        .map(|a| {
            let n = |name: &str| {
                a.value(name)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            (n("Tipo") as i16, n("PtoVta") as u32, n("Nro"))
        });
    if matches!(kind, 3 | 8 | 13) {
        let exists = associated.is_some_and(|(t, p, n)| {
            class(t) == class(kind)
                && inner.receipts.iter().any(|r| {
                    r.cuit == cuit && r.receipt_type == t && r.point_of_sale == p && r.number == n
                })
        });
        if !exists {
            obs.push((10197, "Una nota de credito debe informar en CbtesAsoc un comprobante existente de su misma clase".into()));
        }
    }
    let id_condition = d
        .value("CondicionIVAReceptorId")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if !obs.is_empty() {
        return Err(obs);
    }
    let serial = inner.receipts.len() as u64 + 1;
    Ok(Receipt {
        cuit,
        point_of_sale: pv,
        receipt_type: kind,
        number: from,
        date,
        concept,
        doc_type,
        doc_number,
        total,
        net,
        vat,
        vat_condition: id_condition,
        service_from,
        service_to,
        payment_due: due,
        associated,
        cae: format!("7{:013}", 4_692_000_000_000u64 + serial * 7919),
        cae_due: date + chrono::Duration::days(10),
        authorized_at: Utc::now(),
        elsewhere: false,
    })
}

/// Today in Argentina (UTC−3).
pub(super) fn domain_today() -> NaiveDate {
    (Utc::now() - chrono::Duration::hours(3)).date_naive()
}
