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

// Chorus lookups (B4): a button with data-fill-target copies data-fill-value into that form
// input (the user still saves the form); an element with data-fill-auto does it once swapped in.
function portalFill(source) {
  var input = document.getElementById(source.getAttribute("data-fill-target"));
  if (!input || input.disabled || input.readOnly) { return false; }
  input.value = source.getAttribute("data-fill-value");
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new Event("change", { bubbles: true }));
  return true;
}
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-fill-target]");
  if (!button || !portalFill(button)) { return; }
  var group = button.closest("[data-fill-group]");
  if (group) {
    group.querySelectorAll("button[data-fill-target]").forEach(function (other) {
      other.classList.replace("btn-success", "btn-outline-primary");
      other.textContent = "Choisir";
    });
  }
  button.classList.replace("btn-outline-primary", "btn-success");
  button.textContent = "Choisi";
});
document.addEventListener("htmx:afterSettle", function (event) {
  event.detail.elt.querySelectorAll("[data-fill-auto][data-fill-target]").forEach(portalFill);
});
