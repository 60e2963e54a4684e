//! The lifecycle benchmark: N complete lifecycles — checkout → the vet accepts from the
//! WhatsApp link → coordinate → paid on the MercadoPago emulator → confirmed — through
//! the HTTP API and the emulators, C at a time; the latency from the vet's accept request
//! to `vet_accepted` being visible in `GET`. Each lane of a run has an owner and a vet
//! of its own (requested by name, so the offers go to it), as concurrent bookings come
//! from different people, and books hourly slots from two days ahead so runs never
//! collide.

use std::{
    sync::atomic::{AtomicI64, Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chrono::{Duration as Days, Utc};
use serde_json::{Value, json};

/// A base URL of the stack under test: `http://` + the address in an environment
/// variable (as `scripts/bench.sh` and `make run` set them) + a path.
pub struct Base(&'static str, &'static str, &'static str);

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bind = std::env::var(self.0).unwrap_or_else(|_| self.1.to_owned());
        write!(f, "http://{bind}{}", self.2)
    }
}

pub static API: Base = Base("API_BIND", "127.0.0.1:8080", "/api/v1");
pub static MERCATELY: Base = Base("SANDBOX_MERCATELY_BIND", "127.0.0.1:8091", "");
pub static MERCADOPAGO: Base = Base("SANDBOX_MERCADOPAGO_BIND", "127.0.0.1:8092", "");
/// Demo data: the home consultation (clinical specialty).
pub const SERVICE: &str = "00000000-0000-4000-8000-000000000401";
const CLINICAL: &str = "00000000-0000-4000-8000-000000000201";

pub struct Stack {
    http: reqwest::Client,
    owner: String,
    pub vet: String,
    vet_token: String,
    vet_phone: String,
    pub pet: String,
    pub address: String,
}

pub async fn call(
    http: &reqwest::Client,
    token: Option<&str>,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    // As a frontend does: a 503/504, or a 202 `pending` from a command whose outcome was
    // not known in time, is sent again a little later (every command carries an update
    // id, so the same call again is safe and gets the first outcome).
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        let mut request = http.request(method.clone(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let again = matches!(status.as_u16(), 503 | 504)
            || (status.as_u16() == 202 && value["status"] == "pending");
        if again && attempt < 10 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
            continue;
        }
        if !status.is_success() {
            bail!("{method} {url}: {status} {text}");
        }
        return Ok(value);
    }
}

async fn login(http: &reqwest::Client, email: &str, password: &str) -> anyhow::Result<String> {
    let tokens = call(
        http,
        None,
        reqwest::Method::POST,
        &format!("{API}/auth/login"),
        Some(json!({ "email": email, "password": password })),
    )
    .await?;
    Ok(tokens["access_token"]
        .as_str()
        .context("a token")?
        .to_owned())
}

/// A valid CUIT `20-<number>-<check>` (AFIP's mod-11), for a fresh vet.
fn cuit(mut number: u32) -> String {
    loop {
        let digits = format!("20{number:08}");
        let weights = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
        let sum: u32 = digits
            .chars()
            .zip(weights)
            .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
            .sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => {
                number += 1;
                continue;
            }
            n => n,
        };
        return format!("20-{number:08}-{check}");
    }
}

/// Stacks made by this process so far: two made in the same second differ.
static STACKS: AtomicI64 = AtomicI64::new(0);

pub async fn setup(http: &reqwest::Client) -> anyhow::Result<Stack> {
    // At most eight digits, unique per stack of a run: the phone numbers, emails and
    // CUIT derive from it.
    let run =
        (Utc::now().timestamp() % 1_000_000) * 100 + STACKS.fetch_add(1, Ordering::SeqCst) % 100;
    let staff = login(http, "staff@demo.amarmascotas.ar", "demo-staff-2026").await?;
    let email = format!("bench-{run}@example.com");
    let registered = call(
        http,
        None,
        reqwest::Method::POST,
        &format!("{API}/auth/register"),
        Some(
            json!({ "email": email, "password": "bench password 123", "full_name": "Bench Owner",
                     "phone": format!("+54911{:08}", run) }),
        ),
    )
    .await?;
    let owner = registered["access_token"]
        .as_str()
        .context("token")?
        .to_owned();
    // The owner proves the WhatsApp number with the code the emulator received.
    call(
        http,
        Some(&owner),
        reqwest::Method::POST,
        &format!("{API}/me/phone/code"),
        None,
    )
    .await?;
    let owner_phone = format!("%2B54911{:08}", run);
    let code = poll("the verification code", || async {
        let messages = call(
            http,
            None,
            reqwest::Method::GET,
            &format!("{MERCATELY}/_emulator/messages?phone_number={owner_phone}"),
            None,
        )
        .await?;
        Ok(messages.as_array().and_then(|all| {
            all.iter()
                .filter(|m| m["internal_id"] == "phone_code")
                .filter_map(|m| m["template_params"][0].as_str())
                .next_back()
                .map(str::to_owned)
        }))
    })
    .await?;
    call(
        http,
        Some(&owner),
        reqwest::Method::POST,
        &format!("{API}/me/phone/verify"),
        Some(json!({ "code": code })),
    )
    .await?;
    let me = call(
        http,
        Some(&owner),
        reqwest::Method::GET,
        &format!("{API}/me"),
        None,
    )
    .await?;
    let owner_id = me["owner_id"].as_str().context("owner id")?;
    let address = call(
        http,
        Some(&owner),
        reqwest::Method::POST,
        &format!("{API}/owners/{owner_id}/addresses"),
        Some(json!({ "street": "Gurruchaga 1234", "lat": -34.585, "lon": -58.418 })),
    )
    .await?["id"]
        .as_str()
        .context("address")?
        .to_owned();
    let species = call(
        http,
        None,
        reqwest::Method::GET,
        &format!("{API}/species"),
        None,
    )
    .await?;
    let species = species["items"][0]["id"]
        .as_str()
        .or_else(|| species[0]["id"].as_str())
        .context("a species")?
        .to_owned();
    let pet = call(
        http,
        Some(&owner),
        reqwest::Method::POST,
        &format!("{API}/pets"),
        Some(json!({ "name": "Bench", "species_id": species })),
    )
    .await?["id"]
        .as_str()
        .context("pet")?
        .to_owned();
    let vet_email = format!("bench-vet-{run}@example.com");
    let vet_phone = format!("+54922{:08}", run);
    let vet = call(
        http,
        Some(&staff),
        reqwest::Method::POST,
        &format!("{API}/vets"),
        Some(json!({ "email": vet_email, "password": "bench password 123", "full_name": "Bench Vet",
                     "license_number": format!("MP B{run}"), "cuit": cuit(u32::try_from(run).unwrap_or(1)),
                     "phone": vet_phone })),
    )
    .await?["id"]
        .as_str()
        .context("vet")?
        .to_owned();
    let vet_token = login(http, &vet_email, "bench password 123").await?;
    call(
        http,
        Some(&vet_token),
        reqwest::Method::PUT,
        &format!("{API}/vets/{vet}/specialties"),
        Some(json!({ "specialty_ids": [CLINICAL] })),
    )
    .await?;
    call(
        http,
        Some(&vet_token),
        reqwest::Method::POST,
        &format!("{API}/vets/{vet}/coverage-areas"),
        Some(json!({ "name": "Palermo", "area": { "type": "Polygon", "coordinates":
            [[[-58.45, -34.61], [-58.39, -34.61], [-58.39, -34.55], [-58.45, -34.55], [-58.45, -34.61]]] } })),
    )
    .await?;
    for weekday in 1..=7 {
        call(
            http,
            Some(&vet_token),
            reqwest::Method::POST,
            &format!("{API}/vets/{vet}/availability"),
            Some(json!({ "weekday": weekday, "starts_at": "06:00", "ends_at": "22:00" })),
        )
        .await?;
    }
    Ok(Stack {
        http: http.clone(),
        owner,
        vet,
        vet_token,
        vet_phone,
        pet,
        address,
    })
}

/// Checks again and again until `check` finds something, first every 5 ms, then less
/// often up to every 50 ms: the driver's own requests stay a small part of the load.
pub async fn poll<T, F, Fut>(what: &str, check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    poll_every(
        what,
        Duration::from_millis(5),
        Duration::from_millis(50),
        check,
    )
    .await
}

/// [`poll`] from `first` to `most` between checks, for at most a minute.
async fn poll_every<T, F, Fut>(
    what: &str,
    first: Duration,
    most: Duration,
    mut check: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let start = Instant::now();
    let mut pause = first;
    loop {
        if let Some(found) = check().await? {
            return Ok(found);
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(most);
    }
}

/// What one lifecycle measured.
pub struct Lifecycle {
    /// From the vet's accept request to `vet_accepted` in `GET`.
    pub latency: Duration,
    pub id: String,
    /// How long each step of the driver took, in order (where a slow one waited).
    pub phases: Vec<(&'static str, Duration)>,
}

/// One lifecycle in slot `slot`.
pub async fn lifecycle(stack: &Stack, slot: usize) -> anyhow::Result<Lifecycle> {
    let http = &stack.http;
    let mut phases = Vec::new();
    let mut mark = Instant::now();
    let mut phase = |name: &'static str| {
        phases.push((name, mark.elapsed()));
        mark = Instant::now();
    };
    let day = Utc::now().date_naive() + Days::days(2 + i64::try_from(slot / 15)?);
    let hour = 6 + u32::try_from(slot % 15)?; // local 06:00 … 20:00
    let start = day.and_hms_opt(hour + 3, 0, 0).context("time")?.and_utc();
    // The lane's owner adds the visit to the cart and checks out.
    call(
        http,
        Some(&stack.owner),
        reqwest::Method::POST,
        &format!("{API}/cart/items"),
        Some(json!({ "service_id": SERVICE, "pet_id": stack.pet, "address_id": stack.address,
                     "wanted_start": start, "wanted_end": start + Days::hours(2), "vet_id": stack.vet })),
    )
    .await?;
    let done = http
        .post(format!("{API}/cart/checkout"))
        .bearer_auth(&stack.owner)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .send()
        .await?
        .json::<Value>()
        .await?;
    let id = done["requests"][0]["id"]
        .as_str()
        .context("a request")?
        .to_owned();
    phase("checkout");
    let phone = stack.vet_phone.replace('+', "%2B");
    let link = poll("the WhatsApp offer", || async {
        let messages = call(
            http,
            None,
            reqwest::Method::GET,
            &format!("{MERCATELY}/_emulator/messages?phone_number={phone}"),
            None,
        )
        .await?;
        Ok(messages.as_array().and_then(|all| {
            all.iter()
                .filter_map(|m| m["template_params"][4].as_str())
                .find(|link| e2e::fixtures::offer_request(link).as_deref() == Some(id.as_str()))
                .map(str::to_owned)
        }))
    })
    .await?;
    phase("offer sent");
    let path = format!("{API}/service-requests/{id}");
    let accepted_at = Instant::now();
    call(http, None, reqwest::Method::POST, &link, None).await?;
    phase("accept answered");
    // The measured wait: checked every 10 ms throughout.
    let every = Duration::from_millis(10);
    poll_every("vet_accepted in GET", every, every, || async {
        let request = call(http, Some(&stack.owner), reqwest::Method::GET, &path, None).await?;
        Ok((request["state"] == "vet_accepted").then_some(()))
    })
    .await?;
    let latency = accepted_at.elapsed();
    phase("accept visible");
    call(
        http,
        Some(&stack.vet_token),
        reqwest::Method::POST,
        &format!("{path}/coordinate"),
        Some(json!({ "start": start })),
    )
    .await?;
    phase("coordinate answered");
    let link = poll("the payment link", || async {
        let request = call(http, Some(&stack.owner), reqwest::Method::GET, &path, None).await?;
        Ok(request["payment_link"].as_str().map(str::to_owned))
    })
    .await?;
    phase("payment link");
    let preference = link.split("pref_id=").nth(1).context("pref_id")?;
    call(
        http,
        None,
        reqwest::Method::POST,
        &format!("{MERCADOPAGO}/_emulator/pay"),
        Some(json!({ "preference_id": preference, "status": "approved" })),
    )
    .await?;
    phase("paid");
    poll("confirmed", || async {
        let request = call(http, Some(&stack.owner), reqwest::Method::GET, &path, None).await?;
        Ok((request["state"] == "confirmed").then_some(()))
    })
    .await?;
    phase("confirmed");
    Ok(Lifecycle {
        latency,
        id,
        phases,
    })
}
