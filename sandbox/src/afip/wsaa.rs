//! WSAA's `loginCms`: the CMS checked as AFIP checks it, then a ticket.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use base64::Engine;
use chrono::{DateTime, Offset, Utc};
use cms::{content_info::ContentInfo, signed_data::SignedData};
use der::{Decode, DecodePem, Encode, EncodePem, pem::LineEnding};
use rsa::{
    PrivateKey, PublicKey,
    pkcs1::DecodeRsaPrivateKey,
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::{DecodePrivateKey, DecodePublicKey},
};
use sha2_11::{Digest, Sha256};
use signature::Verifier;
use x509_cert::{
    Certificate,
    builder::{Builder, CertificateBuilder, profile::BuilderProfile},
    name::Name,
    request::CertReq,
    serial_number::SerialNumber,
    time::{Time, Validity},
};

use super::{Afip, TicketIssued, xml};

/// The emulator's certificate authority (AFIP's, for the sandbox).
#[derive(Debug)]
pub struct Authority {
    certificate: Certificate,
    key: PrivateKey,
    issued: u64,
}

struct Issued {
    issuer: Name,
    subject: Name,
}

impl BuilderProfile for Issued {
    fn get_issuer(&self, _: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _: spki::SubjectPublicKeyInfoRef<'_>,
        _: spki::SubjectPublicKeyInfoRef<'_>,
        _: &x509_cert::certificate::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<x509_cert::ext::Extension>> {
        Ok(Vec::new())
    }
}

fn public_key(certificate: &Certificate) -> Result<PublicKey, String> {
    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| e.to_string())?;
    PublicKey::from_public_key_der(&spki).map_err(|e| e.to_string())
}

fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(message, &signature)
        .is_ok()
}

fn time(at: DateTime<Utc>) -> Result<Time, String> {
    let at: std::time::SystemTime = at.into();
    Time::try_from(at).map_err(|e| e.to_string())
}

impl Authority {
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        let certificate =
            Certificate::from_pem(cert_pem.trim().as_bytes()).map_err(|e| e.to_string())?;
        let key = PrivateKey::from_pkcs8_pem(key_pem.trim())
            .or_else(|_| PrivateKey::from_pkcs1_pem(key_pem.trim()))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            certificate,
            key,
            issued: 0,
        })
    }

    /// A certificate for the CSR's subject and key, signed by the authority.
    pub fn issue(
        &mut self,
        csr_pem: &str,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<String, String> {
        let csr = CertReq::from_pem(csr_pem.trim().as_bytes())
            .map_err(|e| format!("not a PEM certificate request: {e}"))?;
        let requester = PublicKey::from_public_key_der(
            &csr.info.public_key.to_der().map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("not an RSA key: {e}"))?;
        let info = csr.info.to_der().map_err(|e| e.to_string())?;
        if !verify(&requester, &info, csr.signature.raw_bytes()) {
            return Err("the request's signature does not verify".into());
        }
        if cuit_of(&csr.info.subject).is_none() {
            return Err("the subject has no serialNumber=CUIT <11 digits>".into());
        }
        self.issued += 1;
        let serial = SerialNumber::from(0x5a00_0000_u64 + self.issued);
        let profile = Issued {
            issuer: self.certificate.tbs_certificate().subject().clone(),
            subject: csr.info.subject.clone(),
        };
        let validity = Validity::new(time(not_before)?, time(not_after)?);
        let builder = CertificateBuilder::new(profile, serial, validity, csr.info.public_key)
            .map_err(|e| e.to_string())?;
        let signer = SigningKey::<Sha256>::new(self.key.clone());
        let certificate = builder
            .build::<_, Signature>(&signer)
            .map_err(|e| e.to_string())?;
        certificate
            .to_pem(LineEnding::LF)
            .map_err(|e| e.to_string())
    }

    /// Checks the CMS and returns its content (the ticket request) and the signer's
    /// CUIT, or the fault AFIP answers.
    fn check(
        &self,
        der: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(String, u64), (&'static str, String)> {
        let bad = |why: &str| ("cms.bad", format!("CMS invalido: {why}"));
        let info = ContentInfo::from_der(der).map_err(|e| bad(&e.to_string()))?;
        if info.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
            return Err(bad("no es SignedData"));
        }
        let signed: SignedData = info
            .content
            .decode_as()
            .map_err(|e: der::Error| bad(&e.to_string()))?;
        let content = signed
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or_else(|| bad("el contenido no esta adjunto"))?
            .value()
            .to_vec();
        let certificate = signed
            .certificates
            .as_ref()
            .and_then(|set| {
                set.0.iter().find_map(|c| match c {
                    cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
            })
            .ok_or_else(|| bad("no incluye el certificado del firmante"))?;
        let signer = signed
            .signer_infos
            .0
            .iter()
            .next()
            .ok_or_else(|| bad("sin firmantes"))?;
        let signer_key = public_key(&certificate).map_err(|e| bad(&e))?;
        let attributes = signer
            .signed_attrs
            .as_ref()
            .ok_or_else(|| bad("sin atributos firmados"))?;
        let digest = attributes
            .iter()
            .find(|a| a.oid == const_oid::db::rfc5911::ID_MESSAGE_DIGEST)
            .and_then(|a| a.values.iter().next())
            .and_then(|v| v.decode_as::<der::asn1::OctetString>().ok())
            .ok_or_else(|| bad("sin messageDigest"))?;
        if digest.as_bytes() != Sha256::digest(&content).as_slice() {
            return Err(bad("el digest no coincide con el contenido"));
        }
        let signed_attributes = attributes.to_der().map_err(|e| bad(&e.to_string()))?;
        if !verify(&signer_key, &signed_attributes, signer.signature.as_bytes()) {
            return Err(bad("la firma no verifica"));
        }
        let authority = public_key(&self.certificate).map_err(|e| bad(&e))?;
        let tbs = certificate
            .tbs_certificate()
            .to_der()
            .map_err(|e| bad(&e.to_string()))?;
        let issued_here = certificate.tbs_certificate().issuer()
            == self.certificate.tbs_certificate().subject()
            && verify(&authority, &tbs, certificate.signature().raw_bytes());
        if !issued_here {
            return Err((
                "cms.cert.untrusted",
                "Certificado no emitido por AC de confianza".into(),
            ));
        }
        let validity = certificate.tbs_certificate().validity();
        let from = DateTime::<Utc>::from(validity.not_before.to_system_time());
        let to = DateTime::<Utc>::from(validity.not_after.to_system_time());
        if now < from || now > to {
            return Err(("cms.cert.expired", "Certificado expirado".into()));
        }
        let cuit = cuit_of(certificate.tbs_certificate().subject())
            .ok_or_else(|| bad("el certificado no tiene serialNumber=CUIT"))?;
        let content = String::from_utf8(content).map_err(|e| bad(&e.to_string()))?;
        Ok((content, cuit))
    }
}

/// The CUIT in a subject's `serialNumber=CUIT nnnnnnnnnnn`.
fn cuit_of(subject: &Name) -> Option<u64> {
    let text = subject.to_string();
    text.split(',').find_map(|part| {
        let (kind, value) = part.split_once('=')?;
        (kind.trim().eq_ignore_ascii_case("serialNumber"))
            .then(|| value.trim().strip_prefix("CUIT ")?.trim().parse().ok())?
    })
}

fn soap(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml; charset=utf-8")], body).into_response()
}

fn fault(code: &str, message: &str) -> Response {
    soap(StatusCode::INTERNAL_SERVER_ERROR, xml::fault(code, message))
}

/// Checks the ticket request's times: generated in the last 24 h and not in the future
/// (a minute of tolerance), expiring after now and within 24 h of its generation.
fn check_times(tra: &xml::Node, now: DateTime<Utc>) -> Result<String, (&'static str, String)> {
    let header = tra
        .get("header")
        .ok_or(("xml.bad", "sin header".to_owned()))?;
    let read = |name: &str| {
        header
            .value(name)
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let generated = read("generationTime").ok_or((
        "xml.generationTime.invalid",
        "generationTime ausente o invalido".to_owned(),
    ))?;
    let expires = read("expirationTime").ok_or((
        "xml.expirationTime.invalid",
        "expirationTime ausente o invalido".to_owned(),
    ))?;
    let skew = chrono::Duration::minutes(1);
    if generated > now + skew || generated < now - chrono::Duration::hours(24) {
        return Err((
            "xml.generationTime.invalid",
            "El campo generationTime posee una fecha invalida".into(),
        ));
    }
    if expires <= now || expires > generated + chrono::Duration::hours(24) {
        return Err((
            "xml.expirationTime.invalid",
            "El campo expirationTime posee una fecha invalida".into(),
        ));
    }
    tra.value("service")
        .ok_or(("xml.bad", "sin service".to_owned()))
}

pub(super) async fn login_cms(State(afip): State<Afip>, body: String) -> Response {
    let now = Utc::now();
    let Ok(operation) = xml::operation(&body) else {
        return fault("xml.bad", "No se pudo interpretar el XML");
    };
    let Some(in0) = operation.value("in0") else {
        return fault("cms.bad", "in0 vacio");
    };
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(in0.replace(['\n', '\r'], ""))
    else {
        return fault("cms.bad.base64", "El CMS no esta en base64");
    };
    let mut inner = afip.lock();
    if let Some(code) = inner.login_fault.take() {
        return fault(&code, "Falla pedida al emulador");
    }
    let (tra, cuit) = match inner.authority.check(&der, now) {
        Ok(checked) => checked,
        Err((code, message)) => return fault(code, &message),
    };
    let tra = match xml::root(&tra) {
        Ok(tra) if tra.name == "loginTicketRequest" => tra,
        _ => return fault("xml.bad", "No es un loginTicketRequest"),
    };
    let service = match check_times(&tra, now) {
        Ok(service) => service,
        Err((code, message)) => return fault(code, &message),
    };
    if service != "wsfe" {
        return fault(
            "coe.notAuthorized",
            "Computador no autorizado a acceder al servicio",
        );
    }
    let window = chrono::Duration::from_std(inner.already_window).unwrap_or_default();
    let fresh = inner.tickets.iter().any(|t| {
        t.cuit == cuit && t.service == service && t.expires_at > now && t.issued_at + window > now
    });
    if fresh {
        return fault(
            "coe.alreadyAuthenticated",
            "El CEE ya posee un TA valido para el acceso al WSN solicitado",
        );
    }
    let lifetime = chrono::Duration::from_std(inner.ticket_lifetime).unwrap_or_default();
    inner.logins += 1;
    let serial = inner.logins;
    let token = base64::engine::general_purpose::STANDARD.encode(format!(
        "token:{cuit}:{service}:{serial}:{}",
        uuid::Uuid::new_v4()
    ));
    let sign = base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
    let ticket = TicketIssued {
        cuit,
        service: service.clone(),
        token,
        sign,
        issued_at: now,
        expires_at: now + lifetime,
    };
    inner.tickets.push(ticket.clone());
    drop(inner);

    let offset = chrono::FixedOffset::west_opt(3 * 3600).unwrap_or_else(|| Utc.fix());
    let format = |t: DateTime<Utc>| {
        t.with_timezone(&offset)
            .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    };
    let mut ta = xml::Out::document();
    ta.open_with("loginTicketResponse", &[("version", "1.0")])
        .open("header")
        .leaf(
            "source",
            "CN=wsaahomo, O=AFIP, C=AR, SERIALNUMBER=CUIT 33693450239",
        )
        .leaf("destination", format!("SERIALNUMBER=CUIT {cuit}"))
        .leaf("uniqueId", serial)
        .leaf("generationTime", format(ticket.issued_at))
        .leaf("expirationTime", format(ticket.expires_at))
        .close("header")
        .open("credentials")
        .leaf("token", &ticket.token)
        .leaf("sign", &ticket.sign)
        .close("credentials")
        .close("loginTicketResponse");
    let mut out = xml::Out::envelope();
    out.open_ns(
        "loginCmsResponse",
        "http://wsaa.view.sua.dvadac.desein.afip.gov",
    )
    .leaf("loginCmsReturn", ta.into_document())
    .close("loginCmsResponse");
    soap(StatusCode::OK, out.into_envelope())
}

impl Afip {
    /// The CUIT whose ticket `token`/`sign` is, while it is valid.
    pub(super) fn ticket_cuit(&self, token: &str, sign: &str, now: DateTime<Utc>) -> Option<u64> {
        self.lock()
            .tickets
            .iter()
            .find(|t| t.token == token && t.sign == sign && t.expires_at > now)
            .map(|t| t.cuit)
    }
}
