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
