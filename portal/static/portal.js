// The portal's own behaviour. htmx is served from its installed package.
// The Content-Security-Policy allows no inline script, no eval and no style attribute: every
// behaviour is here, driven by data-* attributes (see portal/security_headers.py).
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

// Selection of list rows for mass actions (S13): the header checkbox (data-select-all, whose
// value names the row checkboxes, "ids" by default) ticks every row of the page; unticking a
// row unticks it. Delegated: tables are swapped by htmx.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") { return; }
  var table = box.closest("table");
  var all = table && table.querySelector("input[data-select-all]");
  if (!all) { return; }
  var name = all.getAttribute("data-select-all") || "ids";
  var rows = table.querySelectorAll("tbody input[type=checkbox]");
  rows = Array.prototype.filter.call(rows, function (row) { return row.name === name; });
  if (box === all) {
    rows.forEach(function (row) { row.checked = box.checked; });
  } else if (box.name === name) {
    all.checked = rows.every(function (row) { return row.checked; });
  }
});

// A form marked data-confirm="question" is sent only once the question is accepted.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) { return; }
  if (!window.confirm(form.getAttribute("data-confirm"))) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
});

// A form marked data-submit-once cannot be sent twice by a double click (the server refuses
// a second send anyway); coming back to the page (back-forward cache) makes it usable again.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) { return; }
  if (form.dataset.submitted) { event.preventDefault(); return; }
  form.dataset.submitted = "1";
  setTimeout(function () {
    form.querySelectorAll("button[type=submit]:not(:disabled)").forEach(function (button) {
      button.disabled = true;
      button.setAttribute("data-disabled-on-submit", "");
    });
  }, 0);
});
window.addEventListener("pageshow", function (event) {
  if (!event.persisted) { return; }
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    delete form.dataset.submitted;
    form.querySelectorAll("[data-disabled-on-submit]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("data-disabled-on-submit");
    });
  });
});

// When a job's progress component (jobs/_progress.html) reaches its final state, reload what
// depends on the outcome (elements with data-refresh-on-job-end) and the notification bell.
document.addEventListener("htmx:afterSettle", function (event) {
  var elt = event.detail.elt;
  if (!elt || !elt.id || elt.id.indexOf("job-progress-") !== 0) { return; }
  var state = elt.getAttribute("data-state");
  if (state === "running" || state === "finishing") { return; }
  document.querySelectorAll("[data-refresh-on-job-end]").forEach(function (target) {
    htmx.ajax("GET", target.getAttribute("data-refresh-on-job-end"), { target: target, swap: "outerHTML" });
  });
  var bell = document.getElementById("notification-bell");
  if (bell && bell.getAttribute("hx-get")) {
    htmx.ajax("GET", bell.getAttribute("hx-get"), { target: bell, swap: "outerHTML" });
  }
});

// Conditions on htmx requests (in place of "[…]" trigger filters, which need eval):
// - the bell does not replace itself while its menu is open;
// - in a filter form marked data-search-change-ignored, a search box's change event sends
//   nothing: its typing ("input changed delay") already did.
document.addEventListener("htmx:confirm", function (event) {
  var elt = event.detail.elt;
  if (elt.id === "notification-bell" && elt.querySelector(".dropdown-menu.show")) {
    event.preventDefault();
    return;
  }
  var trigger = event.detail.triggeringEvent;
  if (trigger && trigger.type === "change" && elt.hasAttribute("data-search-change-ignored")
      && trigger.target instanceof HTMLInputElement && trigger.target.type === "search") {
    event.preventDefault();
  }
});

// Widths computed on the server (progress bars) come as data-width="<percent>" and are set
// through the CSSOM, which the CSP allows (style attributes it does not).
htmx.onLoad(function (root) {
  if (!(root instanceof Element)) { return; }
  var elements = Array.prototype.slice.call(root.querySelectorAll("[data-width]"));
  if (root.hasAttribute("data-width")) { elements.push(root); }
  elements.forEach(function (element) {
    var percent = parseFloat(element.getAttribute("data-width"));
    if (isNaN(percent)) { return; }
    element.style.width = Math.min(100, Math.max(0, percent)) + "%";
  });
});

// A search box inside a form (data-search-only: the client picker) narrows a select; Enter
// there must not submit the form around it.
document.addEventListener("keydown", function (event) {
  if (event.key === "Enter" && event.target instanceof HTMLElement
      && event.target.hasAttribute("data-search-only")) {
    event.preventDefault();
  }
});
