// The portal's own behaviour. htmx is served from its installed package.
document.addEventListener("htmx:responseError", function (event) {
  var status = event.detail.xhr.status;
  if (status === 401) { window.location.reload(); return; }
  var flashes = document.getElementById("flashes");
  if (!flashes) { return; }
  var text = status === 403 ? "Vos droits ne permettent pas cette action."
           : "Une erreur est survenue (code " + status + ") ; réessayez.";
  var div = document.createElement("div");
  div.className = "alert alert-danger";
  div.setAttribute("role", "alert");
  div.textContent = text;
  flashes.replaceChildren(div);
});
