#!/usr/bin/env python3
"""`make walkthrough`: with `make run` up, one visit from booking to its report, as its
people would do it, through the API and the emulators only.

Ana books a consult for Luna a few minutes ahead; Martín accepts from the WhatsApp link
and sets the time; Ana pays at the MercadoPago emulator; once the visit has started
Ana gets the AFIP invoice of her payment; Martín files the report; Ana reads it and
downloads its PDF. Each step says what it did and where to look (the inbox, the
calendar and sheet, the AFIP emulator's receipts, the Temporal UI).
"""

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

API = "http://" + os.environ.get("API_BIND", "127.0.0.1:8080") + "/api/v1"
MERCATELY = "http://" + os.environ.get("SANDBOX_MERCATELY_BIND", "127.0.0.1:8091")
MERCADOPAGO = "http://" + os.environ.get("SANDBOX_MERCADOPAGO_BIND", "127.0.0.1:8092")
INBOX = "http://" + os.environ.get("SANDBOX_INBOX_BIND", "127.0.0.1:8093")
GOOGLE = "http://" + os.environ.get("SANDBOX_GOOGLE_BIND", "127.0.0.1:8094")
AFIP = "http://" + os.environ.get("SANDBOX_AFIP_BIND", "127.0.0.1:8095")
TEMPORAL_UI = "http://127.0.0.1:" + os.environ.get("TEMPORAL_UI_PORT", "8233")

CONSULT = "00000000-0000-4000-8000-000000000401"
LUNA = "00000000-0000-4000-8000-000000000721"
HOME = "00000000-0000-4000-8000-000000000711"
MARTIN = "00000000-0000-4000-8000-000000000801"
MARTIN_PHONE = "+5491155550101"
LEAD_MINUTES = int(os.environ.get("WALKTHROUGH_LEAD_MINUTES", "3"))


def step(text):
    print(f"\n\033[1m▶ {text}\033[0m", flush=True)


def call(method, url, token=None, body=None, headers=None, raw=False):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            return response.status, payload if raw else json.loads(payload or b"null")
    except urllib.error.HTTPError as e:
        payload = e.read()
        try:
            return e.code, json.loads(payload)
        except ValueError:
            return e.code, payload.decode(errors="replace")


def ok(status, body, want=(200, 201, 202)):
    if status not in want:
        sys.exit(f"  ✗ unexpected answer {status}: {body}")
    return body


def login(email, password):
    body = ok(*call("POST", f"{API}/auth/login", body={"email": email, "password": password}))
    return body["access_token"]


def wait(what, check, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    sys.exit(f"  ✗ {what}: nothing after {seconds} s")


def main():
    try:
        call("GET", API.replace("/api/v1", "/readyz"))
    except OSError:
        sys.exit("The API does not answer: start it with `make run` (in another terminal) first.")
    ana = login("ana@demo.amarmascotas.ar", "demo-owner-2026")
    martin = login("vet.martin@demo.amarmascotas.ar", "demo-vet-2026")

    iso = lambda t: t.isoformat().replace("+00:00", "Z")
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    start = now + dt.timedelta(minutes=LEAD_MINUTES + 1)
    # A walk-through run before may still hold Martín's time: start after it.
    _, agenda = call("GET", f"{API}/vets/{MARTIN}/visits?limit=200", martin)
    for booked in (agenda or {}).get("items", []):
        ends = dt.datetime.fromisoformat(booked["end"].replace("Z", "+00:00"))
        if booked["status"] != "cancelled" and ends > start - dt.timedelta(minutes=1):
            start = max(start, ends.replace(second=0, microsecond=0) + dt.timedelta(minutes=1))
    if start > now + dt.timedelta(minutes=LEAD_MINUTES + 1):
        print(f"Martín is busy until {iso(start - dt.timedelta(minutes=1))} (an earlier walk-through's visit): "
              "this one starts after it.")
    end = start + dt.timedelta(hours=2)
    minutes = round((start - dt.datetime.now(dt.timezone.utc)).total_seconds() / 60)
    step(f"Ana books a consult for Luna at home, from {iso(start)} (in about {minutes} minutes)")
    ok(*call("POST", f"{API}/cart/items", ana, {
        "service_id": CONSULT, "pet_id": LUNA, "address_id": HOME,
        "wanted_start": iso(start), "wanted_end": iso(end), "vet_id": MARTIN,
    }))
    done = ok(*call("POST", f"{API}/cart/checkout", ana, headers={"Idempotency-Key": str(uuid.uuid4())}))
    request = done["requests"][0]["id"]
    path = f"{API}/service-requests/{request}"
    _, booked = call("GET", path, ana)
    print(f"  request {request}: {booked.get('state')}")

    step("Martín gets the offer on WhatsApp and accepts it from its link")
    phone = urllib.parse.quote(MARTIN_PHONE)

    def offer_link():
        _, messages = call("GET", f"{MERCATELY}/_emulator/messages?phone_number={phone}")
        for message in messages or []:
            params = message.get("template_params") or []
            if len(params) > 4 and offer_is_for(params[4], request):
                return params[4]
        return None

    link = wait("the offer on WhatsApp", offer_link)
    print(f"  {MERCATELY}/_emulator/messages shows it; the accept link: {link[:60]}…")
    ok(*call("POST", link))
    wait("vet_accepted", lambda: call("GET", path, ana)[1].get("state") == "vet_accepted")

    step(f"Martín sets the visit's time: {iso(start)}")
    ok(*call("POST", f"{path}/coordinate", martin, {"start": iso(start)}))
    payment_link = wait("the payment link", lambda: call("GET", path, ana)[1].get("payment_link"))
    print(f"  Ana's payment link (also on WhatsApp and by email): {payment_link}")

    step("Ana pays at MercadoPago (the emulator's checkout)")
    preference = payment_link.split("pref_id=")[1]
    ok(*call("POST", f"{MERCADOPAGO}/_emulator/pay", body={"preference_id": preference, "status": "approved"}))
    wait("confirmed", lambda: call("GET", path, ana)[1].get("state") == "confirmed")
    print(f"  confirmed. Look at the confirmation email (with visita.ics) at {INBOX}/")
    print(f"  and the visit's event and sheet row at {GOOGLE}/")

    step("AFIP authorizes the invoice of Ana's payment")

    def authorized():
        _, receipts = call("GET", f"{path}/invoices", ana)
        done = [r for r in receipts or [] if r.get("state") == "authorized"]
        return done[0] if done else None

    invoice = wait("the invoice authorized", authorized, seconds=60)
    print(f"  Factura {invoice['letter']} {invoice['number_label']}, CAE {invoice['cae']} (due {invoice['cae_due']}), total {invoice['total']}")
    status, pdf = call("GET", f"{API}/invoices/{invoice['id']}.pdf", ana, raw=True)
    ok(status, pdf)
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"factura-{invoice['number_label']}.pdf")
    with open(out, "wb") as f:
        f.write(pdf)
    print(f"  saved {out} ({len(pdf)} bytes); Ana got it by email too, at {INBOX}/")
    print(f"  AFIP's side (the emulator): {AFIP}/afip/")

    _, agenda = call("GET", f"{API}/vets/{MARTIN}/visits", martin)
    visit = next(v for v in agenda["items"] if v["request_id"] == request)
    print(f"  Martín's agenda: {visit['place']['street']}, {visit['owner']['name']} {visit['owner']['phone']}")

    step("The visit starts; Martín goes")
    while dt.datetime.now(dt.timezone.utc) < start + dt.timedelta(seconds=5):
        left = int((start - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 5
        print(f"  starts in {max(left, 0)} s   ", end="\r", flush=True)
        time.sleep(1)
    print()

    step("Martín files the report")
    report = {
        "findings": "Mucosas rosadas, hidratación adecuada. Dolor al palpar el oído derecho.",
        "diagnosis": "Otitis externa derecha.",
        "treatment": "Limpieza ótica y gotas con antibiótico cada 12 h durante 7 días.",
        "recommendations": "Evitar baños durante diez días. Volver a consultar si no mejora.",
        "weight_kg": "12.4",
        "next_checkup_on": (start + dt.timedelta(days=14)).date().isoformat(),
    }
    url = f"{API}/visits/{visit['visit_id']}/report"

    def filed():
        status, body = call("PUT", url, martin, report)
        return body if status == 201 else None

    wait("the report filed", filed, seconds=30)
    wait("completed", lambda: call("GET", path, ana)[1].get("state") == "completed")
    print(f"  the request is completed; Ana got the report by email (PDF attached) at {INBOX}/")

    step("Ana reads the report, and downloads its PDF")
    body = ok(*call("GET", url, ana))
    print(f"  diagnosis: {body['diagnosis']}  (revision {body['revision']})")
    status, pdf = call("GET", f"{url}.pdf", ana, raw=True)
    ok(status, pdf)
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"informe-{visit['visit_id']}.pdf")
    with open(out, "wb") as f:
        f.write(pdf)
    print(f"  saved {out} ({len(pdf)} bytes)")
    try:
        text = subprocess.run(["pdftotext", "-layout", out, "-"], capture_output=True, text=True, check=True).stdout
        print("  " + "\n  ".join(line for line in text.splitlines()[:16] if line.strip()))
    except (OSError, subprocess.CalledProcessError):
        pass

    step("Done")
    print(f"  The workflow service-request:{request} is Completed in the Temporal UI: {TEMPORAL_UI}")


def offer_is_for(link, request):
    """Whether an offer link is for `request` (its payload names it)."""
    import base64
    try:
        token = link.split("/offers/")[1].split("/")[0]
        payload = token.split(".")[0]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload)).get("r") == request
    except (IndexError, ValueError):
        return False


if __name__ == "__main__":
    main()
