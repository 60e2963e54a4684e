//! The printed receipt (factura or nota de crédito) with what the law asks it to show:
//! the issuer (name, address, CUIT, VAT condition, gross income number, start of
//! activities), the class letter and AFIP code in a box, the number `PPPP-NNNNNNNN`
//! and date, the buyer, the line, the totals (IVA itemized for A and B), the CAE and its
//! expiry, and the RG 4892 QR.

use chrono::NaiveDate;
use db::invoices::InvoiceRow;
use domain::invoices::{Authorized, Letterhead, QrData, ReceiptType, number_label};
use qrcode::{Color, EcLevel, QrCode};

use crate::{DocumentError, layout::Layout};

/// The issuing taxpayer as the receipt names them.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub name: String,
    pub cuit: u64,
    pub address: String,
    pub condition: String,
    pub gross_income: String,
    pub activity_start: NaiveDate,
}

/// An authorized receipt, ready to print.
#[derive(Debug, Clone)]
pub struct InvoiceSheet {
    pub issuer: Issuer,
    pub receipt_type: ReceiptType,
    pub point_of_sale: u32,
    pub number: u64,
    pub date: NaiveDate,
    pub service_date: NaiveDate,
    pub buyer_name: String,
    pub doc_type: i16,
    pub doc_number: u64,
    pub buyer_condition: String,
    pub description: String,
    pub net: rust_decimal::Decimal,
    pub vat: rust_decimal::Decimal,
    pub total: rust_decimal::Decimal,
    pub cae: String,
    pub cae_due: NaiveDate,
    /// The URL the QR encodes.
    pub qr_url: String,
    /// A credit note's receipt: "Factura C 0001-00000001".
    pub cancels: Option<String>,
}

fn cuit(n: u64) -> String {
    let s = format!("{n:011}");
    format!("{}-{}-{}", &s[..2], &s[2..10], &s[10..])
}

fn day(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// `1234.5` as `$ 1.234,50`.
pub fn pesos(amount: rust_decimal::Decimal) -> String {
    domain::pricing::pesos(&format!("{:.2}", amount.round_dp(2)))
}

fn document(doc_type: i16, number: u64) -> String {
    match doc_type {
        80 => format!("CUIT {}", cuit(number)),
        86 => format!("CUIL {}", cuit(number)),
        96 => format!("DNI {number}"),
        _ => "Consumidor final (sin identificar)".to_owned(),
    }
}

/// The receipt's full name with its number: "factura-c-0001-00000001.pdf".
pub fn file_name(sheet: &InvoiceSheet) -> String {
    let kind = if sheet.receipt_type.is_credit_note() {
        "nota-de-credito"
    } else {
        "factura"
    };
    format!(
        "{kind}-{}-{}.pdf",
        sheet.receipt_type.letter().to_ascii_lowercase(),
        number_label(sheet.point_of_sale, sheet.number)
    )
}

/// The receipt's PDF.
pub fn render(sheet: &InvoiceSheet) -> Result<Vec<u8>, DocumentError> {
    let qr = QrCode::with_error_correction_level(sheet.qr_url.as_bytes(), EcLevel::M)
        .map_err(|e| DocumentError(format!("QR: {e}")))?;
    let number = number_label(sheet.point_of_sale, sheet.number);
    let kind = sheet.receipt_type;
    let mut doc = Layout::new()?;
    doc.header(kind.name(), "ORIGINAL");
    doc.letter_box(kind.letter(), &format!("COD. {:03}", kind.0));
    doc.field(
        "Comprobante",
        &format!("{} {} Nº {number}", kind.name(), kind.letter()),
    );
    doc.field("Fecha de emisión", &day(sheet.date));
    doc.gap();
    doc.field("Razón social", &sheet.issuer.name);
    doc.field("Domicilio comercial", &sheet.issuer.address);
    doc.field("CUIT", &cuit(sheet.issuer.cuit));
    doc.field("Condición IVA", &sheet.issuer.condition);
    doc.field("Ingresos Brutos", &sheet.issuer.gross_income);
    doc.field("Inicio de actividades", &day(sheet.issuer.activity_start));
    doc.rule();
    doc.field(
        "Período facturado",
        &format!(
            "Desde {} hasta {} · Vto. para el pago {}",
            day(sheet.service_date),
            day(sheet.service_date),
            day(sheet.date.max(sheet.service_date))
        ),
    );
    doc.field("Apellido y nombre", &sheet.buyer_name);
    doc.field("Documento", &document(sheet.doc_type, sheet.doc_number));
    doc.field("Condición IVA", &sheet.buyer_condition);
    doc.field("Condición de venta", "Contado (MercadoPago)");
    if let Some(cancels) = &sheet.cancels {
        doc.field("Comprobante asociado", cancels);
    }
    doc.heading("Detalle");
    doc.paragraph(&format!("1 × {}", sheet.description));
    doc.gap();
    if kind.itemizes_vat() {
        doc.amount("Importe neto gravado", &pesos(sheet.net), false);
        doc.amount("IVA 21 %", &pesos(sheet.vat), false);
    } else {
        doc.amount("Subtotal", &pesos(sheet.net), false);
    }
    doc.amount("Importe total", &pesos(sheet.total), true);
    doc.gap();
    doc.rule();
    let width = qr.width();
    let dark: Vec<bool> = qr
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    let cae = format!("CAE Nº {}", sheet.cae);
    let due = format!("Vencimiento del CAE: {}", day(sheet.cae_due));
    doc.matrix(
        &dark,
        width,
        96.0,
        &[
            "Comprobante autorizado por ARCA",
            &cae,
            &due,
            "Esta Administración Federal no se responsabiliza por los datos ingresados en el detalle de la operación.",
        ],
    );
    doc.finish(
        &format!("{} {} {number}", kind.name(), kind.letter()),
        &format!(
            "{} {} {number} · CAE {}",
            kind.name(),
            kind.letter(),
            sheet.cae
        ),
    )
}

/// The printable receipt of an authorized row.
pub fn sheet(
    letterhead: &Letterhead,
    row: &InvoiceRow,
    original: Option<&InvoiceRow>,
) -> Option<InvoiceSheet> {
    let number = row.number? as u64;
    let date = row.receipt_date?;
    let cae = row.cae.clone()?;
    let cae_due = row.cae_due?;
    let receipt_type = ReceiptType(row.receipt_type);
    let qr = QrData::of(&Authorized {
        issuer_cuit: row.issuer_cuit as u64,
        point_of_sale: row.point_of_sale as u32,
        receipt_type,
        number,
        date,
        total: row.total,
        doc_type: row.doc_type,
        doc_number: row.doc_number as u64,
        cae: cae.clone(),
    });
    let cancels = original.and_then(|o| {
        let kind = ReceiptType(o.receipt_type);
        Some(format!(
            "{} {} {}",
            kind.name(),
            kind.letter(),
            number_label(o.point_of_sale as u32, o.number? as u64)
        ))
    });
    Some(InvoiceSheet {
        issuer: Issuer {
            name: letterhead.business_name.clone(),
            cuit: row.issuer_cuit as u64,
            address: letterhead.address.clone(),
            condition: letterhead.condition.label().to_owned(),
            gross_income: letterhead.gross_income.clone(),
            activity_start: letterhead.activity_start,
        },
        receipt_type,
        point_of_sale: row.point_of_sale as u32,
        number,
        date,
        service_date: row.service_date,
        buyer_name: row.buyer_name.clone(),
        doc_type: row.doc_type,
        doc_number: row.doc_number as u64,
        buyer_condition: vat_condition_name(row.buyer_vat_condition).to_owned(),
        description: row.description.clone(),
        net: row.net,
        vat: row.vat,
        total: row.total,
        cae,
        cae_due,
        qr_url: qr.url(&letterhead.qr_base),
        cancels,
    })
}

/// AFIP's names of the buyer conditions (the `vat_conditions` table's).
pub fn vat_condition_name(id: i16) -> &'static str {
    match id {
        1 => "IVA Responsable Inscripto",
        4 => "IVA Sujeto Exento",
        6 => "Responsable Monotributo",
        7 => "Sujeto No Categorizado",
        13 => "Monotributista Social",
        15 => "IVA No Alcanzado",
        16 => "Monotributo Trabajador Independiente Promovido",
        _ => "Consumidor Final",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_in_argentine_pesos() {
        assert_eq!(pesos("1234.5".parse().unwrap()), "$ 1.234,50");
        assert_eq!(pesos("25000".parse().unwrap()), "$ 25.000,00");
        assert_eq!(pesos("999".parse().unwrap()), "$ 999,00");
        assert_eq!(pesos("1000000.01".parse().unwrap()), "$ 1.000.000,01");
        assert_eq!(cuit(20_123_456_786), "20-12345678-6");
    }

    fn sheet() -> InvoiceSheet {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        InvoiceSheet {
            issuer: Issuer {
                name: "AMAR Mascotas".into(),
                cuit: 20_123_456_786,
                address: "Av. Corrientes 1234, CABA".into(),
                condition: "IVA Responsable Inscripto".into(),
                gross_income: "901-123456-7".into(),
                activity_start: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            },
            receipt_type: ReceiptType::FACTURA_B,
            point_of_sale: 1,
            number: 42,
            date: day,
            service_date: day,
            buyer_name: "María José Güemes".into(),
            doc_type: 96,
            doc_number: 30_123_456,
            buyer_condition: "Consumidor Final".into(),
            description: "Visita veterinaria a domicilio: Consulta clínica (Ñandú)".into(),
            net: "10000.00".parse().unwrap(),
            vat: "2100.00".parse().unwrap(),
            total: "12100.00".parse().unwrap(),
            cae: "74123456789012".into(),
            cae_due: NaiveDate::from_ymd_opt(2026, 12, 11).unwrap(),
            qr_url: "https://www.afip.gob.ar/fe/qr/?p=eyJ2ZXIiOjF9".into(),
            cancels: None,
        }
    }

    #[test]
    fn the_pdf_shows_the_letter_number_buyer_totals_and_cae_when_read_back() {
        let pdf = render(&sheet()).unwrap();
        let path = std::env::temp_dir().join(format!("invoice-{}.pdf", std::process::id()));
        std::fs::write(&path, &pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-layout"])
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils; make test installs it)");
        if std::env::var_os("KEEP_PDF").is_some() {
            let _ = std::fs::copy(&path, "/tmp/invoice.pdf");
        }
        let _ = std::fs::remove_file(&path);
        let text = String::from_utf8_lossy(&out.stdout);
        for expected in [
            "FACTURA B Nº 0001-00000042",
            "COD. 006",
            "20-12345678-6",
            "María José Güemes",
            "DNI 30123456",
            "$ 10.000,00",
            "$ 2.100,00",
            "$ 12.100,00",
            "CAE Nº 74123456789012",
            "Vencimiento del CAE: 11/12/2026",
            "Ñandú",
        ] {
            assert!(text.contains(expected), "{expected:?} not in:\n{text}");
        }
        assert_eq!(file_name(&sheet()), "factura-b-0001-00000042.pdf");
    }
}
