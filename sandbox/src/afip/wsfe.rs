//! WSFEv1: the methods AMAR calls, with AFIP's checks and coded messages.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{
    Afip, Inner, Receipt,
    checks::{check, domain_today},
    xml,
};

const NS: &str = "http://ar.gov.afip.dif.FEV1/";

/// The buyer conditions and the receipt classes each may get (AFIP's
/// `FEParamGetCondicionIvaReceptor` table).
pub(super) const BUYER_CONDITIONS: &[(i16, &str, &str)] = &[
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

pub(super) fn class(receipt_type: i16) -> char {
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
    pub(super) fn last(&self, cuit: u64, pv: u32, kind: i16) -> Option<&Receipt> {
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
