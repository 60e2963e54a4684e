// The set-password page: the one-time token is in the link's fragment (#token=…), which
// never reaches a server; it is posted with the chosen password.
(function () {
  var form = document.getElementById("form");
  var result = document.getElementById("result");
  var token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!token) {
    result.textContent = "Este enlace está incompleto: abrí el que te llegó por email.";
    form.hidden = true;
    return;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var password = form.password.value;
    if (password !== form.again.value) {
      result.textContent = "Las dos contraseñas no coinciden.";
      return;
    }
    fetch("/api/v1/auth/set-password", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: token, password: password }),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.ok) {
          form.hidden = true;
          history.replaceState(null, "", location.pathname);
          result.textContent = "¡Listo! Ya podés ingresar con tu email y tu nueva contraseña.";
        } else {
          result.textContent = body.detail || body.title || "No pudimos guardar la contraseña.";
        }
      });
    }).catch(function () {
      result.textContent = "No pudimos conectarnos. Probá de nuevo en un momento.";
    });
  });
})();
