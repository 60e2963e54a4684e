//! WSFEv1: the methods AMAR calls, with AFIP's checks and coded messages.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{Afip, Inner, Receipt, xml};

const NS: &str = "http://ar.gov.afip.dif.FEV1/";

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

/// The buyer conditions and the receipt classes each may get (AFIP's
/// `FEParamGetCondicionIvaReceptor` table).
const BUYER_CONDITIONS: &[(i16, &str, &str)] = &[
    (1, "IVA Responsable Inscripto", "A/M/C"),
    (4, "IVA Sujeto Exento", "B/C"),
    (5, "Consumidor Final", "B/C"),
    (6, "Responsable Monotributo", "A/M/C"),
    (7, "Sujeto No Categorizado", "B/C"),
    (8, "Proveedor del Exterior", "B/C"),
    (9, "Cliente del Exterior", "B/C"),
    (10, "IVA Liberado - Ley N° 19.640", "B/C"),
    (13, "Monotributista Social", "A/M/C"),
    (15, "IVA No Alcanzado", "B/C"),
    (
        16,
        "Monotributo Trabajador Independiente Promovido",
        "A/M/C",
    ),
];

fn class(receipt_type: i16) -> char {
    match receipt_type {
        1..=5 => 'A',
        6..=10 => 'B',
        51..=55 => 'M',
        _ => 'C',
    }
}

fn answer(method: &str, write: impl FnOnce(&mut xml::Out)) -> Response {
    let mut out = xml::Out::envelope();
    out.open_ns(&format!("{method}Response"), NS)
        .open(&format!("{method}Result"));
    write(&mut out);
    out.close(&format!("{method}Result"))
        .close(&format!("{method}Response"));
    (
        StatusCode::OK,
        [("content-type", "text/xml; charset=utf-8")],
        out.into_envelope(),
    )
        .into_response()
}

fn errors(out: &mut xml::Out, errors: &[(i64, String)]) {
    if errors.is_empty() {
        return;
    }
    out.open("Errors");
    for (code, message) in errors {
        out.open("Err")
            .leaf("Code", code)
            .leaf("Msg", message)
            .close("Err");
    }
    out.close("Errors");
}

fn error_answer(method: &str, code: i64, message: &str) -> Response {
    answer(method, |out| errors(out, &[(code, message.to_owned())]))
}

pub(super) async fn service(State(afip): State<Afip>, body: String) -> Response {
    let failure = afip.lock().failures.take();
    if let Some((status, delay)) = failure {
        tokio::time::sleep(delay).await;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (status, "<html><body>Service Unavailable</body></html>").into_response();
    }
    let operation = match xml::operation(&body) {
        Ok(operation) => operation,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [("content-type", "text/xml; charset=utf-8")],
                xml::fault(
                    "soap:Client",
                    &format!("Server was unable to read request. {e}"),
                ),
            )
                .into_response();
        }
    };
    let method = operation.name.clone();
    *afip.lock().requests.entry(method.clone()).or_default() += 1;
    if method == "FEDummy" {
        return answer(&method, |out| {
            out.leaf("AppServer", "OK")
                .leaf("DbServer", "OK")
                .leaf("AuthServer", "OK");
        });
    }
    let auth = operation.get("Auth");
    let (token, sign, cuit) = (
        auth.and_then(|a| a.value("Token")).unwrap_or_default(),
        auth.and_then(|a| a.value("Sign")).unwrap_or_default(),
        auth.and_then(|a| a.value("Cuit"))
            .and_then(|c| c.parse::<u64>().ok())
            .unwrap_or(0),
    );
    match afip.ticket_cuit(&token, &sign, Utc::now()) {
        None => {
            return error_answer(
                &method,
                600,
                "ValidacionDeToken: No validaron las firmas digitales o el token expiró",
            );
        }
        Some(owner) if owner != cuit => {
            return error_answer(&method, 601, "CUIT representada no incluida en Token");
        }
        Some(_) => {}
    }
    match method.as_str() {
        "FECompUltimoAutorizado" => {
            let pv = operation
                .value("PtoVta")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let kind = operation
                .value("CbteTipo")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let last = afip.lock().last(cuit, pv, kind).map_or(0, |r| r.number);
            answer(&method, |out| {
                out.leaf("PtoVta", pv)
                    .leaf("CbteTipo", kind)
                    .leaf("CbteNro", last);
            })
        }
        "FECompConsultar" => consult(&afip, &operation, cuit),
        "FEParamGetPtosVenta" => {
            let points = afip.lock().points_of_sale.clone();
            answer(&method, |out| {
                out.open("ResultGet");
                for pv in points {
                    out.open("PtoVenta")
                        .leaf("Nro", pv)
                        .leaf("EmisionTipo", "CAE")
                        .leaf("Bloqueado", "N")
                        .leaf("FchBaja", "NULL")
                        .close("PtoVenta");
                }
                out.close("ResultGet");
            })
        }
        "FEParamGetCondicionIvaReceptor" => {
            let wanted = operation.value("ClaseCmp");
            answer(&method, |out| {
                out.open("ResultGet");
                for (id, description, classes) in BUYER_CONDITIONS {
                    if wanted.as_deref().is_some_and(|w| !classes.contains(w)) {
                        continue;
                    }
                    out.open("CondicionIvaReceptor")
                        .leaf("Id", id)
                        .leaf("Desc", description)
                        .leaf("Cmp_Clase", classes)
                        .close("CondicionIvaReceptor");
                }
                out.close("ResultGet");
            })
        }
        "FECAESolicitar" => {
            {
                let mut inner = afip.lock();
                if inner.lose_next > 0 {
                    inner.lose_next -= 1;
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "<html><body>Service Unavailable</body></html>",
                    )
                        .into_response();
                }
            }
            afip.lock().last_request = Some(body.clone());
            authorize(&afip, &operation, cuit).await
        }
        other => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/xml; charset=utf-8")],
            xml::fault("soap:Client", &format!("Unknown method {other}")),
        )
            .into_response(),
    }
}

impl Inner {
    fn last(&self, cuit: u64, pv: u32, kind: i16) -> Option<&Receipt> {
        self.receipts
            .iter()
            .filter(|r| r.cuit == cuit && r.point_of_sale == pv && r.receipt_type == kind)
            .max_by_key(|r| r.number)
    }
}

fn consult(afip: &Afip, operation: &xml::Node, cuit: u64) -> Response {
    let method = "FECompConsultar";
    let request = operation.get("FeCompConsReq");
    let read = |name: &str| {
        request
            .and_then(|r| r.value(name))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let (kind, number, pv) = (read("CbteTipo"), read("CbteNro"), read("PtoVta"));
    let found = afip
        .lock()
        .receipts
        .iter()
        .find(|r| {
            r.cuit == cuit
                && Some(r.receipt_type as u64) == kind
                && Some(r.number) == number
                && Some(r.point_of_sale as u64) == pv
        })
        .cloned();
    let Some(r) = found else {
        return error_answer(method, 602, "Sin Resultados: - en FECompConsultar");
    };
    let day = |d: NaiveDate| d.format("%Y%m%d").to_string();
    answer(method, |out| {
        out.open("ResultGet")
            .leaf("Concepto", r.concept)
            .leaf("DocTipo", r.doc_type)
            .leaf("DocNro", r.doc_number)
            .leaf("CbteDesde", r.number)
            .leaf("CbteHasta", r.number)
            .leaf("CbteFch", day(r.date))
            .leaf("ImpTotal", format!("{:.2}", r.total))
            .leaf("ImpTotConc", "0")
            .leaf("ImpNeto", format!("{:.2}", r.net))
            .leaf("ImpOpEx", "0")
            .leaf("ImpTrib", "0")
            .leaf("ImpIVA", format!("{:.2}", r.vat))
            .leaf("FchServDesde", r.service_from.map(day).unwrap_or_default())
            .leaf("FchServHasta", r.service_to.map(day).unwrap_or_default())
            .leaf("FchVtoPago", r.payment_due.map(day).unwrap_or_default())
            .leaf("MonId", "PES")
            .leaf("MonCotiz", "1")
            .leaf("CondicionIVAReceptorId", r.vat_condition)
            .leaf("Resultado", "A")
            .leaf("CodAutorizacion", &r.cae)
            .leaf("EmisionTipo", "CAE")
            .leaf("FchVto", day(r.cae_due))
            .leaf("FchProceso", r.authorized_at.format("%Y%m%d%H%M%S"))
            .leaf("PtoVta", r.point_of_sale)
            .leaf("CbteTipo", r.receipt_type)
            .close("ResultGet");
    })
}

/// A rejection's coded observations.
type Observations = Vec<(i64, String)>;

fn parse_day(raw: Option<String>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw?.trim(), "%Y%m%d").ok()
}

fn money(raw: Option<String>) -> Option<Decimal> {
    raw?.trim().parse().ok()
}

/// Checks one receipt against what AFIP has; the receipt to authorize, or why not.
fn check(
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
fn domain_today() -> NaiveDate {
    (Utc::now() - chrono::Duration::hours(3)).date_naive()
}

/// A receipt "another system" issues for the pair: the next number, dated today.
fn issue_elsewhere(inner: &mut Inner, cuit: u64, pv: u32, kind: i16) {
    let number = inner.last(cuit, pv, kind).map_or(1, |r| r.number + 1);
    let date = inner
        .last(cuit, pv, kind)
        .map_or(domain_today(), |r| r.date.max(domain_today()));
    let serial = inner.receipts.len() as u64 + 1;
    inner.receipts.push(Receipt {
        cuit,
        point_of_sale: pv,
        receipt_type: kind,
        number,
        date,
        concept: 2,
        doc_type: 99,
        doc_number: 0,
        total: Decimal::new(100, 0),
        net: Decimal::new(100, 0),
        vat: Decimal::ZERO,
        vat_condition: 5,
        service_from: Some(date),
        service_to: Some(date),
        payment_due: Some(date),
        associated: None,
        cae: format!("7{:013}", 4_692_000_000_000u64 + serial * 7919),
        cae_due: date + chrono::Duration::days(10),
        authorized_at: Utc::now(),
        elsewhere: true,
    });
}

async fn authorize(afip: &Afip, operation: &xml::Node, cuit: u64) -> Response {
    let method = "FECAESolicitar";
    let request = operation.get("FeCAEReq");
    let head = request.and_then(|r| r.get("FeCabReq"));
    let read = |name: &str| {
        head.and_then(|h| h.value(name))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let (count, pv, kind) = (read("CantReg"), read("PtoVta"), read("CbteTipo"));
    let details: Vec<xml::Node> = request
        .and_then(|r| r.get("FeDetReq"))
        .map(|d| d.children.clone())
        .unwrap_or_default();
    let (Some(1), Some(pv), Some(kind)) = (count, pv, kind) else {
        return error_answer(
            method,
            10000,
            "FeCabReq: CantReg, PtoVta y CbteTipo son obligatorios (CantReg 1)",
        );
    };
    if details.len() != 1 {
        return error_answer(
            method,
            10000,
            "CantReg no coincide con la cantidad de FECAEDetRequest",
        );
    }
    let (pv, kind) = (pv as u32, kind as i16);
    let (outcome, drop_answer, delay) = {
        let mut inner = afip.lock();
        if !inner.points_of_sale.contains(&pv) {
            return error_answer(
                method,
                10004,
                "El punto de venta no se encuentra habilitado para web services",
            );
        }
        if inner.elsewhere_next > 0 {
            inner.elsewhere_next -= 1;
            issue_elsewhere(&mut inner, cuit, pv, kind);
        }
        let mut outcome = check(&inner, cuit, pv, kind, &details[0]);
        if outcome.is_ok()
            && let Some(rejection) = inner.reject_next.take()
        {
            outcome = Err(vec![rejection]);
        }
        if let Ok(receipt) = &outcome {
            inner.receipts.push(receipt.clone());
        }
        let drop_answer = outcome.is_ok() && inner.drop_next > 0;
        if drop_answer {
            inner.drop_next -= 1;
        }
        let delay = if outcome.is_ok() {
            inner.slow_next.take()
        } else {
            None
        };
        (outcome, drop_answer, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if drop_answer {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><body>Service Unavailable</body></html>",
        )
            .into_response();
    }
    let detail = &details[0];
    let result = if outcome.is_ok() { "A" } else { "R" };
    answer(method, |out| {
        out.open("FeCabResp")
            .leaf("Cuit", cuit)
            .leaf("PtoVta", pv)
            .leaf("CbteTipo", kind)
            .leaf("FchProceso", Utc::now().format("%Y%m%d%H%M%S"))
            .leaf("CantReg", 1)
            .leaf("Resultado", result)
            .leaf("Reproceso", "N")
            .close("FeCabResp")
            .open("FeDetResp")
            .open("FECAEDetResponse")
            .leaf("Concepto", detail.value("Concepto").unwrap_or_default())
            .leaf("DocTipo", detail.value("DocTipo").unwrap_or_default())
            .leaf("DocNro", detail.value("DocNro").unwrap_or_default())
            .leaf("CbteDesde", detail.value("CbteDesde").unwrap_or_default())
            .leaf("CbteHasta", detail.value("CbteHasta").unwrap_or_default())
            .leaf("CbteFch", detail.value("CbteFch").unwrap_or_default())
            .leaf("Resultado", result);
        match &outcome {
            Ok(receipt) => {
                out.leaf("CAE", &receipt.cae)
                    .leaf("CAEFchVto", receipt.cae_due.format("%Y%m%d"));
            }
            Err(observations) => {
                out.open("Observaciones");
                for (code, message) in observations {
                    out.open("Obs")
                        .leaf("Code", code)
                        .leaf("Msg", message)
                        .close("Obs");
                }
                out.close("Observaciones")
                    .leaf("CAE", "")
                    .leaf("CAEFchVto", "");
            }
        }
        out.close("FECAEDetResponse").close("FeDetResp");
    })
}
