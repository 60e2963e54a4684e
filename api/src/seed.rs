//! `api seed-demo`: loads the demo data of `make run` (reference data of Buenos Aires,
//! one owner with pets, two vets with coverage and availability, one staff member).
//! Idempotent: fixed ids and `ON CONFLICT DO NOTHING`.

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::auth::hash_password;

/// The demo accounts: (role, email, password).
pub const ACCOUNTS: [(&str, &str, &str); 4] = [
    ("staff", "staff@demo.amarmascotas.ar", "demo-staff-2026"),
    ("owner", "ana@demo.amarmascotas.ar", "demo-owner-2026"),
    ("vet", "vet.martin@demo.amarmascotas.ar", "demo-vet-2026"),
    ("vet", "vet.lucia@demo.amarmascotas.ar", "demo-vet-2026"),
];

pub async fn demo(database_url: &str) -> anyhow::Result<()> {
    let staff = hash_password(ACCOUNTS[0].2)?;
    let owner = hash_password(ACCOUNTS[1].2)?;
    let vet = hash_password(ACCOUNTS[2].2)?;
    // argon2 PHC strings hold only [A-Za-z0-9$=,+/.-]: safe inside a SQL literal.
    let sql = include_str!("../seed/demo.sql")
        .replace("{STAFF_HASH}", &staff)
        .replace("{OWNER_HASH}", &owner)
        .replace("{VET_HASH}", &vet);
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
        conn.batch_execute(&sql).await
    })
    .await?;
    Ok(())
}
