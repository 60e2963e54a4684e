//! WSAA's ticket, shared by every worker through PostgreSQL and renewed by one caller
//! at a time.

use super::*;

impl InvoiceActivities {
    /// A ticket for WSFE: the shared one while it has more than [`RENEW_AHEAD`] left,
    /// else a new one, asked for by one caller at a time.
    pub(super) async fn ticket(&self, afip: &Afip) -> Result<Ticket, ActivityError> {
        let settings = &afip.settings;
        let env = settings.environment.as_str();
        let fresh = |t: &db::afip::TicketRow| t.expires_at - RENEW_AHEAD > Utc::now();
        let as_ticket = |t: db::afip::TicketRow| Ticket {
            token: t.token,
            sign: t.sign,
            generated_at: t.generated_at,
            expires_at: t.expires_at,
        };
        let mut conn = db::conn(&self.pool).await?;
        if let Some(cached) = db::afip::ticket(&mut conn, settings.cuit, SERVICE, env).await?
            && fresh(&cached)
        {
            return Ok(as_ticket(cached));
        }
        let credentials = afip
            .credentials
            .as_ref()
            .map_err(|e| refused(format!("the AFIP certificate cannot be used: {e}")))?;
        if !credentials.valid_at(std::time::SystemTime::now()) {
            return Err(refused(format!(
                "the AFIP certificate expired on {}: make a new one with `api afip-csr` and upload it to AFIP",
                credentials.expires_at().format("%Y-%m-%d")
            )));
        }
        use db::AsyncConnection;
        let cuit = settings.cuit;
        let wsaa = afip.wsaa.clone();
        let credentials = credentials.clone();
        let outcome = conn
            .transaction::<_, anyhow::Error, _>(async move |conn| {
                db::afip::lock_ticket(conn, cuit, SERVICE, env).await?;
                // Someone may have renewed it while this caller waited for the lock.
                if let Some(cached) = db::afip::ticket(conn, cuit, SERVICE, env).await?
                    && cached.expires_at - RENEW_AHEAD > Utc::now()
                {
                    return Ok(Ok(cached));
                }
                match wsaa.login(&credentials, SERVICE).await {
                    Ok(ticket) => {
                        let row = db::afip::TicketRow {
                            token: ticket.token,
                            sign: ticket.sign,
                            generated_at: ticket.generated_at,
                            expires_at: ticket.expires_at,
                        };
                        db::afip::store_ticket(conn, cuit, SERVICE, env, &row).await?;
                        Ok(Ok(row))
                    }
                    Err(e) => Ok(Err(e)),
                }
            })
            .await?;
        match outcome {
            Ok(row) => Ok(as_ticket(row)),
            Err(WsaaError::Fault(integrations::afip::WsaaFault::AlreadyAuthenticated)) => {
                // Another holder of the certificate has a fresh ticket we do not:
                // use ours if it is still valid at all, else wait for the window.
                let mut conn = db::conn(&self.pool).await?;
                match db::afip::ticket(&mut conn, cuit, SERVICE, env).await? {
                    Some(cached) if cached.expires_at > Utc::now() => Ok(as_ticket(cached)),
                    _ => Err(again(
                        integrations::afip::WsaaFault::AlreadyAuthenticated.to_string(),
                    )),
                }
            }
            Err(e) if e.is_retryable() => Err(again(e.to_string())),
            Err(e) => Err(refused(e.to_string())),
        }
    }

    pub(super) async fn forget_ticket(&self, afip: &Afip) -> Result<(), ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        let env = afip.settings.environment.as_str();
        db::afip::drop_ticket(&mut conn, afip.settings.cuit, SERVICE, env).await?;
        Ok(())
    }
}
