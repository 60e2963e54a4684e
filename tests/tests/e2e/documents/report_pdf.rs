//! The report's PDF, read back as a person's PDF reader would: `pdftotext` (poppler,
//! which `make test` installs) must find every part of the report, in Spanish, on as
//! many pages as it takes, and `pdfimages` the logo.

use std::process::Command;

use chrono::{NaiveDate, TimeZone, Utc};
use db::reports::{ReportFileRow, ReportRow, ReportSheet, VisitRow};
use uuid::Uuid;

fn sheet(findings: String, revision: i32) -> ReportSheet {
    let start = Utc
        .with_ymd_and_hms(2026, 12, 1, 13, 0, 0)
        .single()
        .expect("time");
    let report_id = Uuid::from_u128(2);
    ReportSheet {
        visit: VisitRow {
            visit_id: Uuid::from_u128(1),
            request_id: Uuid::from_u128(3),
            request_state: "confirmed".into(),
            status: "scheduled".into(),
            start,
            end: start + chrono::Duration::minutes(45),
            vet_id: Uuid::from_u128(4),
            vet_name: "Dra. Ana Pérez".into(),
            owner_id: Some(Uuid::from_u128(5)),
            pet_id: Some(Uuid::from_u128(6)),
            pet: Some("Ñandú".into()),
            service: Some("Consulta clínica a domicilio".into()),
        },
        report: ReportRow {
            id: report_id,
            visit_id: Uuid::from_u128(1),
            author_user_id: Uuid::from_u128(7),
            author_name: "Ana Pérez".into(),
            findings,
            diagnosis: "Otitis externa bilateral.".into(),
            treatment: Some("Limpieza ótica y gotas con antibiótico cada 12 h.".into()),
            recommendations: Some("Evitar baños durante diez días.".into()),
            weight_kg: Some("12.50".into()),
            next_checkup_on: NaiveDate::from_ymd_opt(2026, 12, 15),
            revision,
            filed_at: start + chrono::Duration::hours(1),
            updated_at: start + chrono::Duration::hours(2),
            locked_at: None,
        },
        files: vec![ReportFileRow {
            id: Uuid::from_u128(8),
            report_id,
            storage_key: "k".into(),
            file_name: "radiografía tórax.png".into(),
            content_type: "image/png".into(),
            size_bytes: 10,
        }],
        owner_name: Some("María José Güemes".into()),
        species: Some("Perro".into()),
        breed: Some("Caniche".into()),
        vet_license: "MP 1234".into(),
    }
}

fn tool(name: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("report-pdf-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("informe.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = Command::new(name)
        .args(args)
        .arg(&path)
        .args(if name == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|e| panic!("{name} (poppler-utils; `make test` installs it): {e}"));
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn the_report_reads_back_in_spanish_with_every_part() {
    let sheet = sheet(
        "Mucosas rosadas, hidratación adecuada; dolor al palpar el oído.".into(),
        1,
    );
    let pdf = documents::report::render(&sheet).expect("pdf");
    let text = tool("pdftotext", &["-layout"], &pdf);
    for expected in [
        "AMAR Mascotas",
        "Informe de visita veterinaria",
        "Ñandú (Perro, Caniche)",
        "María José Güemes",
        "Dra. Ana Pérez · Matrícula MP 1234",
        "Consulta clínica a domicilio",
        "martes 01/12/2026 a las 10:00",
        "12,5 kg",
        "Hallazgos",
        "dolor al palpar el oído",
        "Diagnóstico",
        "Otitis externa bilateral.",
        "Tratamiento",
        "gotas con antibiótico cada 12 h",
        "Recomendaciones",
        "Próximo control",
        "15/12/2026",
        "radiografía tórax.png",
        "Informe presentado por Ana Pérez",
        "Página 1 de 1",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains("Corregido"), "{text}");
    let info = tool("pdfinfo", &[], &pdf);
    assert!(info.contains("Pages:           1"), "{info}");
    assert!(
        info.contains("Title:           Informe de la visita de Ñandú"),
        "{info}"
    );
    let images = tool("pdfimages", &["-list"], &pdf);
    // The logo: one image (and its transparency mask).
    let logos = images
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("image"))
        .count();
    assert_eq!(logos, 1, "{images}");
    assert_eq!(
        documents::report::file_name(&sheet),
        "informe-ñandú-2026-12-01.pdf"
    );
}

#[test]
fn a_long_corrected_report_runs_over_pages_and_says_so() {
    let long =
        "El paciente presenta prurito generalizado con eritema en zona ventral. ".repeat(120);
    let pdf = documents::report::render(&sheet(long, 3)).expect("pdf");
    let text = tool("pdftotext", &[], &pdf);
    let info = tool("pdfinfo", &[], &pdf);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("page count");
    assert!(pages >= 2, "{info}");
    assert!(
        text.contains(&format!("Página {pages} de {pages}")),
        "{text}"
    );
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(words.matches("prurito generalizado").count(), 120);
    assert!(text.contains("(revisión 3)"), "{text}");
}
