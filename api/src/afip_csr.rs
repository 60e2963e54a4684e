//! `api afip-csr --cuit 20-12345678-6 --name "Razón social" [--alias amar] [--out dir]`:
//! makes the taxpayer's private key and the certificate signing request AFIP's web asks
//! for (see `docs/AFIP.md`), as `afip-<cuit>.key` (only its owner may read it) and
//! `afip-<cuit>.csr`. An existing key is never overwritten.

use std::path::{Path, PathBuf};

/// What the command was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrArgs {
    pub cuit: String,
    pub name: String,
    pub alias: String,
    pub out: PathBuf,
}

const USAGE: &str =
    "usage: api afip-csr --cuit <CUIT> --name <razón social> [--alias <alias>] [--out <folder>]";

/// Reads `--cuit`, `--name`, `--alias` (default `amar`) and `--out` (default `.`).
pub fn parse(args: &[String]) -> Result<CsrArgs, String> {
    let mut cuit = None;
    let mut name = None;
    let mut alias = "amar".to_owned();
    let mut out = PathBuf::from(".");
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--cuit" => cuit = Some(value.clone()),
            "--name" => name = Some(value.clone()),
            "--alias" => alias = value.clone(),
            "--out" => out = PathBuf::from(value),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let cuit = cuit.ok_or_else(|| format!("--cuit is required\n{USAGE}"))?;
    let cuit = domain::Cuit::parse(&cuit)
        .map_err(|e| format!("--cuit {cuit:?}: {e}"))?
        .as_str()
        .to_owned();
    let name = name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("--name is required\n{USAGE}"))?;
    if name.chars().count() > 64 || alias.trim().is_empty() || alias.chars().count() > 64 {
        return Err("--name and --alias must be 1 to 64 characters".into());
    }
    Ok(CsrArgs {
        cuit,
        name,
        alias: alias.trim().to_owned(),
        out,
    })
}

/// The key and CSR written: their paths.
pub fn run(args: &CsrArgs) -> Result<(PathBuf, PathBuf), String> {
    let key_path = args.out.join(format!("afip-{}.key", args.cuit));
    let csr_path = args.out.join(format!("afip-{}.csr", args.cuit));
    if key_path.exists() {
        return Err(format!(
            "{} exists: a key is never overwritten (move it away to make a new one)",
            key_path.display()
        ));
    }
    let request =
        integrations::afip::credentials::signing_request(&args.cuit, &args.name, &args.alias)
            .map_err(|e| e.to_string())?;
    write_private(&key_path, &request.key_pem)?;
    std::fs::write(&csr_path, &request.csr_pem)
        .map_err(|e| format!("{}: {e}", csr_path.display()))?;
    Ok((key_path, csr_path))
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// What to do next, printed after the files are written.
pub fn next_steps(key: &Path, csr: &Path) -> String {
    format!(
        "Written:\n  {key}  (the private key: keep it secret, never upload it)\n  {csr}  (the request to upload)\n\n\
         Next (docs/AFIP.md has the details):\n\
         1. In AFIP's web, with the CUIT's clave fiscal, open \"Administración de Certificados Digitales\"\n\
            (WSASS \"Autogestión Certificados Homologación\" for homologation), add an alias and upload {csr}.\n\
         2. Download the certificate (.crt) AFIP issues for it.\n\
         3. In \"Administrador de Relaciones de Clave Fiscal\", link the alias (the computer) to the service\n\
            \"Facturación Electrónica\" (wsfe).\n\
         4. Set AFIP_CERT_FILE to the .crt and AFIP_KEY_FILE to {key}, and restart the worker.",
        key = key.display(),
        csr = csr.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_cuit_is_checked_and_the_name_required() {
        let ok = parse(&args(&[
            "--cuit",
            "20-12345678-6",
            "--name",
            "AMAR Mascotas SRL",
        ]))
        .unwrap();
        assert_eq!(ok.cuit, "20123456786");
        assert_eq!(ok.alias, "amar");
        assert!(
            parse(&args(&["--cuit", "20-12345678-5", "--name", "x"]))
                .unwrap_err()
                .contains("check digit")
        );
        assert!(
            parse(&args(&["--cuit", "20123456786"]))
                .unwrap_err()
                .contains("--name is required")
        );
        assert!(
            parse(&args(&["--name", "x"]))
                .unwrap_err()
                .contains("--cuit is required")
        );
        assert!(
            parse(&args(&["--cuit"]))
                .unwrap_err()
                .contains("needs a value")
        );
    }

    #[test]
    fn the_key_is_private_and_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("afip-csr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let args = CsrArgs {
            cuit: "20123456786".into(),
            name: "AMAR Mascotas".into(),
            alias: "amar".into(),
            out: dir.clone(),
        };
        let (key, csr) = run(&args).unwrap();
        let csr_text = std::fs::read_to_string(&csr).unwrap();
        assert!(csr_text.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        let again = run(&args).unwrap_err();
        assert!(again.contains("never overwritten"), "{again}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
