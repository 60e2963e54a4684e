//! The taxpayer's key and certificate: reading them (PEM, PKCS#1 or PKCS#8 keys),
//! signing WSAA's ticket request as CMS SignedData (what `openssl smime -sign -nodetach
//! -outform DER` makes: SHA-256 with RSA, the content attached, the certificate inside),
//! and making the private key and certificate signing request AFIP's web asks for.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use cms::{
    builder::{SignedDataBuilder, SignerInfoBuilder, create_signing_time_attribute},
    cert::{CertificateChoices, IssuerAndSerialNumber},
    signed_data::{EncapsulatedContentInfo, SignerIdentifier},
};
use der::{Any, Decode, DecodePem, Encode, EncodePem, Tag, pem::LineEnding};
use rsa::{
    PrivateKey,
    pkcs1::DecodeRsaPrivateKey,
    pkcs1v15::{Signature, SigningKey},
    pkcs8::{DecodePrivateKey, EncodePrivateKey},
};
use sha2_11::Sha256;
use spki::AlgorithmIdentifierOwned;
use x509_cert::{
    Certificate,
    builder::{Builder, RequestBuilder},
    name::Name,
};

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the AFIP certificate cannot be read as a PEM X.509 certificate: {0}")]
    Certificate(String),
    #[error("the AFIP private key cannot be read as a PEM RSA key (PKCS#1 or PKCS#8): {0}")]
    Key(String),
    #[error("the AFIP private key does not belong to the certificate")]
    Mismatch,
    #[error("the ticket request could not be signed: {0}")]
    Signing(String),
}

/// A taxpayer's key and certificate, loaded and checked to belong together.
#[derive(Clone)]
pub struct Credentials {
    key: PrivateKey,
    certificate: Certificate,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("subject", &self.subject())
            .field("expires", &self.expires_at())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// From the PEM texts of the certificate and its private key.
    pub fn from_pem(certificate: &str, key: &str) -> Result<Self, CredentialsError> {
        let certificate = Certificate::from_pem(certificate.trim().as_bytes())
            .map_err(|e| CredentialsError::Certificate(e.to_string()))?;
        let key = PrivateKey::from_pkcs8_pem(key.trim())
            .or_else(|_| PrivateKey::from_pkcs1_pem(key.trim()))
            .map_err(|e| CredentialsError::Key(e.to_string()))?;
        let spki = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| CredentialsError::Certificate(e.to_string()))?;
        let ours = spki::EncodePublicKey::to_public_key_der(&key.to_public_key())
            .map_err(|e| CredentialsError::Key(e.to_string()))?;
        if ours.as_bytes() != spki.as_slice() {
            return Err(CredentialsError::Mismatch);
        }
        Ok(Self { key, certificate })
    }

    /// The certificate's subject, as RFC 4514 text.
    pub fn subject(&self) -> String {
        self.certificate.tbs_certificate().subject().to_string()
    }

    /// When the certificate stops being valid.
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(
            self.certificate
                .tbs_certificate()
                .validity()
                .not_after
                .to_system_time(),
        )
    }

    /// When the certificate starts being valid.
    pub fn valid_from(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(
            self.certificate
                .tbs_certificate()
                .validity()
                .not_before
                .to_system_time(),
        )
    }

    /// Whether the certificate is valid at `at`.
    pub fn valid_at(&self, at: SystemTime) -> bool {
        let at = DateTime::<Utc>::from(at);
        self.valid_from() <= at && at <= self.expires_at()
    }

    /// `content` signed as CMS SignedData, DER: the content attached, SHA-256 with RSA
    /// (PKCS#1 v1.5), signed attributes (content type, message digest, signing time),
    /// the signer named by issuer and serial number and its certificate included.
    pub fn sign_cms(&self, content: &[u8]) -> Result<Vec<u8>, CredentialsError> {
        let fail = |e: &dyn std::fmt::Display| CredentialsError::Signing(e.to_string());
        let content = EncapsulatedContentInfo {
            econtent_type: const_oid::db::rfc5911::ID_DATA,
            econtent: Some(Any::new(Tag::OctetString, content).map_err(|e| fail(&e))?),
        };
        let tbs = self.certificate.tbs_certificate();
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        });
        let sha256 = AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ID_SHA_256,
            parameters: None,
        };
        let signer = SigningKey::<Sha256>::new(self.key.clone());
        let mut signer_info =
            SignerInfoBuilder::new(sid, sha256.clone(), &content, None).map_err(|e| fail(&e))?;
        signer_info
            .add_signed_attribute(create_signing_time_attribute().map_err(|e| fail(&e))?)
            .map_err(|e| fail(&e))?;
        let signed = SignedDataBuilder::new(&content)
            .add_digest_algorithm(sha256)
            .map_err(|e| fail(&e))?
            .add_certificate(CertificateChoices::Certificate(self.certificate.clone()))
            .map_err(|e| fail(&e))?
            .add_signer_info::<_, Signature>(signer_info, &signer)
            .map_err(|e| fail(&e))?
            .build()
            .map_err(|e| fail(&e))?;
        signed.to_der().map_err(|e| fail(&e))
    }
}

/// A new private key and the certificate signing request AFIP's "Administración de
/// Certificados Digitales" takes, both PEM.
#[derive(Debug)]
pub struct SigningRequest {
    /// The private key, PKCS#8 PEM: keep it secret, it never leaves the taxpayer.
    pub key_pem: String,
    /// The CSR, PEM: what is uploaded to AFIP.
    pub csr_pem: String,
    /// The subject the CSR asks for.
    pub subject: String,
}

/// RFC 4514 escaping of an attribute value.
fn escape(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.trim().chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') || (i == 0 && c == '#') {
            out.push('\\');
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// A 2048-bit RSA key and a CSR for `cuit` (11 digits, checked by the caller) with the
/// subject AFIP wants: `C=AR`, `O=<organization>`, `CN=<alias>`,
/// `serialNumber=CUIT <cuit>`.
pub fn signing_request(
    cuit: &str,
    organization: &str,
    alias: &str,
) -> Result<SigningRequest, CredentialsError> {
    let fail = |e: &dyn std::fmt::Display| CredentialsError::Signing(e.to_string());
    let key = PrivateKey::new(&mut getrandom::SysRng, 2048).map_err(|e| fail(&e))?;
    signing_request_with(&key, cuit, organization, alias)
}

/// [`signing_request`] for a key the caller already has.
pub fn signing_request_with(
    key: &PrivateKey,
    cuit: &str,
    organization: &str,
    alias: &str,
) -> Result<SigningRequest, CredentialsError> {
    let fail = |e: &dyn std::fmt::Display| CredentialsError::Signing(e.to_string());
    let subject = format!(
        "serialNumber=CUIT {cuit},CN={},O={},C=AR",
        escape(alias),
        escape(organization)
    );
    let name: Name = subject.parse().map_err(|e| fail(&e))?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let csr = RequestBuilder::new(name)
        .map_err(|e| fail(&e))?
        .build::<_, Signature>(&signer)
        .map_err(|e| fail(&e))?;
    let csr_pem = csr.to_pem(LineEnding::LF).map_err(|e| fail(&e))?;
    let key_pem = key
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| fail(&e))?
        .to_string();
    Ok(SigningRequest {
        key_pem,
        csr_pem,
        subject,
    })
}

/// Reads a PEM certificate's expiry without a key (the daily check of a certificate
/// file, and the emulator's tests).
pub fn certificate_expiry(pem: &str) -> Result<DateTime<Utc>, CredentialsError> {
    let certificate = Certificate::from_pem(pem.trim().as_bytes())
        .map_err(|e| CredentialsError::Certificate(e.to_string()))?;
    Ok(DateTime::<Utc>::from(
        certificate
            .tbs_certificate()
            .validity()
            .not_after
            .to_system_time(),
    ))
}

/// Whether `der` parses as CMS ContentInfo (a self-check used by the tests).
pub fn is_content_info(der: &[u8]) -> bool {
    cms::content_info::ContentInfo::from_der(der).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signing_request_names_the_cuit_as_afip_asks() {
        let key = PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
        let request =
            signing_request_with(&key, "20123456786", "Veterinaria, AMAR", "amar").unwrap();
        assert!(
            request
                .csr_pem
                .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
        );
        assert!(request.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let csr = x509_cert::request::CertReq::from_pem(request.csr_pem.as_bytes()).unwrap();
        let subject = csr.info.subject.to_string();
        assert!(
            subject
                .to_lowercase()
                .contains("serialnumber=cuit 20123456786"),
            "{subject}"
        );
        assert!(subject.contains("O=Veterinaria\\, AMAR"), "{subject}");
        assert!(subject.ends_with("C=AR"), "{subject}");
    }
}
