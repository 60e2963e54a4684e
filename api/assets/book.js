// The booking page a vaccine reminder links to: `?pet=…&service=…&address=…` prefill it.
// The owner signs in (the token stays in this page's memory), picks the day and the
// window, sees the price (POST /quotes) and books (cart, then checkout); the payment
// link comes on WhatsApp once a vet accepts.
(function () {
  var params = new URLSearchParams(location.search);
  var pet = params.get("pet"), service = params.get("service"), wanted = params.get("address");
  var login = document.getElementById("login"), book = document.getElementById("book");
  var result = document.getElementById("result"), summary = document.getElementById("summary");
  var token = null;

  function say(text) { result.textContent = text; }
  function problem(body) {
    var fields = (body && body.errors || []).map(function (e) { return e.field + ": " + e.message; });
    return (body && (body.detail || body.title) || "Algo salió mal.") + (fields.length ? " (" + fields.join("; ") + ")" : "");
  }
  function api(method, path, body, headers) {
    var init = { method: method, headers: Object.assign({}, headers || {}) };
    if (token) { init.headers.authorization = "Bearer " + token; }
    if (body !== undefined) { init.headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch("/api/v1" + path, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        if (!response.ok) { throw json; }
        return json;
      });
    });
  }
  // A local (UTC−3 all year) day and hour as an instant.
  function instant(day, time, plusHours) {
    var at = new Date(day + "T" + time + ":00-03:00");
    return new Date(at.getTime() + (plusHours || 0) * 3600 * 1000).toISOString();
  }
  function choice() {
    return {
      service_id: service, pet_id: pet, address_id: book.address.value,
      start: instant(book.day.value, book.from.value),
      end: instant(book.day.value, book.from.value, Number(book.hours.value)),
    };
  }

  if (!pet || !service) {
    say("Este enlace está incompleto: abrí el que te llegó en el recordatorio.");
    return;
  }
  var tomorrow = new Date(Date.now() + 24 * 3600 * 1000 - 3 * 3600 * 1000);
  book.day.value = tomorrow.toISOString().slice(0, 10);
  login.hidden = false;

  login.addEventListener("submit", function (event) {
    event.preventDefault();
    api("POST", "/auth/login", { email: login.email.value, password: login.password.value })
      .then(function (body) {
        token = body.access_token;
        return api("GET", "/me");
      })
      .then(function (me) {
        if (!me.owner_id) { throw { detail: "Esta cuenta no es de un dueño de mascota." }; }
        return Promise.all([
          api("GET", "/pets/" + pet), api("GET", "/services/" + service),
          api("GET", "/owners/" + me.owner_id + "/addresses"),
        ]);
      })
      .then(function (loaded) {
        summary.textContent = loaded[1].name + " para " + loaded[0].name;
        loaded[2].forEach(function (address) {
          var option = document.createElement("option");
          option.value = address.id;
          option.textContent = address.street + (address.label ? " (" + address.label + ")" : "");
          option.selected = address.id === wanted;
          book.address.appendChild(option);
        });
        login.hidden = true;
        book.hidden = false;
        say("");
      })
      .catch(function (body) { say(problem(body)); });
  });

  document.getElementById("price").addEventListener("click", function () {
    var c = choice();
    api("POST", "/quotes", { service_id: c.service_id, pet_id: c.pet_id, address_id: c.address_id, start: c.start })
      .then(function (quote) { say("Precio: $ " + quote.breakdown.total + " " + quote.breakdown.currency); })
      .catch(function (body) { say(problem(body)); });
  });

  book.addEventListener("submit", function (event) {
    event.preventDefault();
    var c = choice();
    api("POST", "/cart/items", { service_id: c.service_id, pet_id: c.pet_id, address_id: c.address_id, wanted_start: c.start, wanted_end: c.end })
      .then(function () {
        var key = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
        return api("POST", "/cart/checkout", undefined, { "Idempotency-Key": key });
      })
      .then(function () {
        book.hidden = true;
        say("¡Listo! Estamos buscando un veterinario; te avisamos por WhatsApp cuando acepte, con el enlace para pagar.");
      })
      .catch(function (body) { say(problem(body)); });
  });
})();
