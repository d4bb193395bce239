// Formset rows: "add" clones the formset's empty form; "remove" marks a row for deletion.
(function () {
  "use strict";

  function addRow(container) {
    var prefix = container.getAttribute("data-formset");
    var total = container.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var template = container.querySelector("template[data-formset-empty]");
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var rows = container.querySelector("[data-formset-rows]");
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var row = rows.lastElementChild;
    var first = row && row.querySelector("input:not([type=hidden]), select");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-formset-add]");
    if (button) {
      event.preventDefault();
      addRow(button.closest("[data-formset]"));
    }
  });

  document.addEventListener("change", function (event) {
    var box = event.target.closest("[data-formset-delete]");
    if (box) box.closest("[data-formset-row]").classList.toggle("formset-row-deleted", box.checked);
  });
})();

// Union picker (web/widgets.py): typing in the search box above a long union list asks the
// server for the unions whose name or code matches and puts them in the list. The box is not
// part of the form: its events do not reach the form (a filter form reloads on "change").
(function () {
  "use strict";

  function listFor(box) {
    return document.getElementById(box.getAttribute("aria-controls"));
  }

  function load(box) {
    var select = listFor(box);
    if (!select) return;
    var params = new URLSearchParams({ perm: box.dataset.perm || "", q: box.value, selected: select.value });
    if (box.dataset.blank !== undefined) params.set("blank", box.dataset.blank);
    var asked = box.value;
    fetch(box.dataset.url + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        if (box.value !== asked) return; // a newer search is on its way
        var before = select.value;
        select.innerHTML = html;
        var found = Array.prototype.filter.call(select.options, function (o) {
          return o.value && !o.selected;
        });
        var message = asked ? (box.dataset.found || "").replace("__N__", String(found.length)) : "";
        if (asked && found.length === 1) {
          select.value = found[0].value; // one match: take it
          message = box.dataset.chosen || "";
        }
        var status = box.parentElement.querySelector("[data-unit-search-status]");
        if (status) status.textContent = message;
        if (select.value !== before) select.dispatchEvent(new Event("change", { bubbles: true }));
      })
      .catch(function () { /* the list stays as it was */ });
  }

  function isBox(event) {
    return event.target instanceof Element && event.target.matches("[data-unit-search]");
  }

  document.addEventListener("input", function (event) {
    if (!isBox(event)) return;
    event.stopPropagation();
    var box = event.target;
    clearTimeout(box._unitTimer);
    box._unitTimer = setTimeout(function () { load(box); }, 250);
  }, true);

  document.addEventListener("change", function (event) {
    if (isBox(event)) event.stopPropagation();
  }, true);

  document.addEventListener("keydown", function (event) {
    if (isBox(event) && event.key === "Enter") {
      event.preventDefault(); // not a form submission: search now
      clearTimeout(event.target._unitTimer);
      load(event.target);
    }
  }, true);
})();

// Confirmations and the print button, without inline handlers (the Content-Security-Policy runs
// no inline script): a form with data-confirm asks first; a button with data-print prints.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
  });
})();
