#!/usr/bin/env python3
"""Books through the booking page in headless Chromium, as an owner would: opens
`<base>/api/v1/book?...`, signs in, checks the summary and the preselected address,
asks the price, books. Prints what the page showed, as JSON, for the test to judge.

Usage: book_page.py <page url> <email> <password> <day YYYY-MM-DD>
Chromium is driven over the DevTools protocol (the `websockets` package of .venv).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from websockets.sync.client import connect


def main():
    url, email, password, day = sys.argv[1:5]
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        sys.exit("chromium is not installed (`make test` installs it)")
    profile = tempfile.mkdtemp(prefix="book-page-")
    chrome = subprocess.Popen(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = None
        for _ in range(100):
            try:
                with open(os.path.join(profile, "DevToolsActivePort")) as f:
                    port = f.readline().strip()
                break
            except OSError:
                time.sleep(0.1)
        if not port:
            sys.exit("chromium did not open its DevTools port")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        page = next(t for t in targets if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
            counter = iter(range(1, 10**6))

            def send(method, **params):
                mine = next(counter)
                ws.send(json.dumps({"id": mine, "method": method, "params": params}))
                while True:
                    message = json.loads(ws.recv())
                    if message.get("id") == mine:
                        return message.get("result", {})

            def js(expression):
                result = send("Runtime.evaluate", expression=expression, returnByValue=True)
                return result.get("result", {}).get("value")

            def until(expression, what, seconds=15):
                deadline = time.time() + seconds
                while time.time() < deadline:
                    value = js(expression)
                    if value:
                        return value
                    time.sleep(0.1)
                sys.exit(f"the page never showed {what}; it says: {js('document.body.innerText')!r}")

            send("Page.enable")
            send("Page.navigate", url=url)
            until("document.readyState === 'complete' && !document.getElementById('login').hidden", "the sign-in form")
            js(f"document.getElementById('email').value = {json.dumps(email)};"
               f"document.getElementById('password').value = {json.dumps(password)};"
               "document.querySelector('#login button').click(); true")
            summary = until("document.getElementById('book').hidden ? '' : document.getElementById('summary').textContent", "the booking form")
            address = js("document.getElementById('address').selectedOptions[0].textContent")
            js(f"document.getElementById('day').value = {json.dumps(day)}; document.getElementById('price').click(); true")
            price = until("(t => t.startsWith('Precio') ? t : '')(document.getElementById('result').textContent)", "the price")
            js("document.querySelector('#book button[type=submit]').click(); true")
            booked = until("(t => t.startsWith('¡Listo') ? t : '')(document.getElementById('result').textContent)", "the booking")
            print(json.dumps({"summary": summary, "address": address, "price": price, "booked": booked}))
    finally:
        chrome.kill()
        chrome.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
