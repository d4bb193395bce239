// Formset rows: "add" clones the formset's empty form; "remove" marks a row for deletion.
(function () {
  "use strict";

  function addRow(container) {
    var prefix = container.getAttribute("data-formset");
    var total = container.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var template = container.querySelector("template[data-formset-empty]");
    var index = parseInt(total.value, 10);
    // The row's index in the field names; its number, from 1, in the group's name ("Member 3").
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
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
    // Sent as htmx sends its requests, so that a sign-in that has ended is answered with the
    // sign-in page's address (HtmxSignInMiddleware), not with that page drawn in the list.
    var headers = { "HX-Request": "true", "HX-Current-URL": window.location.href };
    fetch(box.dataset.url + "?" + params.toString(), { credentials: "same-origin", headers: headers })
      .then(function (response) {
        var signIn = response.headers.get("HX-Redirect");
        if (signIn) {
          window.location.assign(signIn);
          return Promise.reject("signed out");
        }
        return response.ok ? response.text() : Promise.reject(response.status);
      })
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

  // A form with data-unsaved-warning remembers that something was typed into it. Another form of
  // the page sent meanwhile (an upload, the signature) reloads the page without what was typed:
  // the person is asked first, with the form's own sentence.
  function typedInto(event) {
    var form = event.target instanceof Element ? event.target.closest("form[data-unsaved-warning]") : null;
    if (form) form.dataset.unsaved = "1";
  }
  document.addEventListener("input", typedInto);
  document.addEventListener("change", typedInto);
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("data-unsaved-warning")) return;
    var typed = document.querySelector("form[data-unsaved-warning][data-unsaved]");
    if (typed && !window.confirm(typed.dataset.unsavedWarning)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Leaving the page another way (a link, Back, closing the tab) with something typed and not
  // saved: the browser asks first. Not when a form is sent: the form itself, or another one the
  // person was already asked about (a download keeps the page: after a moment it asks again).
  var sending = false;
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    sending = true;
    window.setTimeout(function () { sending = false; }, 5000);
  });
  window.addEventListener("beforeunload", function (event) {
    if (sending || !document.querySelector("form[data-unsaved-warning][data-unsaved]")) return;
    event.preventDefault();
    event.returnValue = "";
  });

  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
  });
})();

// A form sent once: a second click on its button while the first request is on its way is not a
// second request (a double-click on Save sent two; the browser dropped the answer to the first,
// which had saved the file, and showed the second one's "this person is already on a file").
// After a few seconds the form may be sent again (a download leaves the page where it is).
(function () {
  "use strict";

  var AGAIN_AFTER_MS = 5000;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post" || form.hasAttribute("hx-post")) return;
    // A download beside other buttons (the what-if's Excel) leaves the page as it is: not counted.
    if (event.submitter && event.submitter.hasAttribute("data-download")) return;
    var sent = Number(form.dataset.sentAt || 0);
    if (sent && Date.now() - sent < AGAIN_AFTER_MS) {
      event.preventDefault();
      return;
    }
    form.dataset.sentAt = String(Date.now());
  });

  // Back to a page kept by the browser: its forms may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent-at]").forEach(function (form) { delete form.dataset.sentAt; });
  });
})();

// Filters after Back: htmx keeps a copy of the page's HTML when a filter or a page link changes
// the address, and puts it back on Back. Choices made in a form are not in its HTML, so the boxes
// showed "—" over a filtered list. The copy is taken when the new list has been asked for, the
// form already showing the new choice, so the form's values as they were when the list on screen
// was asked for are kept (``shown``) and written into the HTML just before the copy is taken.
(function () {
  "use strict";

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && ["hidden", "submit", "button", "reset"].indexOf(el.type) === -1;
    });
  }

  // A select by its chosen values (its options may be replaced meanwhile: the union search).
  function state(form) {
    return fields(form).map(function (el) {
      if (el instanceof HTMLSelectElement) {
        return Array.prototype.filter.call(el.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
      }
      if (el.type === "checkbox" || el.type === "radio") return el.checked;
      return el.value;
    });
  }

  function apply(form, values, asHtml) {
    fields(form).forEach(function (el, i) {
      var v = values[i];
      if (el instanceof HTMLSelectElement) {
        Array.prototype.forEach.call(el.options, function (o) {
          var chosen = Array.isArray(v) && v.indexOf(o.value) !== -1;
          if (asHtml) o.toggleAttribute("selected", chosen);
          else o.selected = chosen;
        });
      } else if (el.type === "checkbox" || el.type === "radio") {
        if (asHtml) el.toggleAttribute("checked", !!v);
        else el.checked = !!v;
      } else if (asHtml && el instanceof HTMLTextAreaElement) {
        el.textContent = v || "";
      } else if (asHtml) {
        el.setAttribute("value", v || "");
      } else {
        el.value = v || "";
      }
    });
  }

  // Into the HTML (what the copy holds), leaving what the form shows as it is: writing an
  // attribute also changes a field the person has not touched.
  function writeIntoHtml(form, values) {
    var live = state(form);
    apply(form, values, true);
    apply(form, live, false);
  }

  function remember() {
    document.querySelectorAll("form[hx-push-url]").forEach(function (form) { form._shown = state(form); });
  }

  remember();
  document.addEventListener("htmx:historyRestore", remember);
  // A page kept out of the browser's storage (hx-history="false") is asked of the server again on
  // back or forward. Back twice quickly: the page asked for first could come last and stand under
  // the second one's address. Only the newest request is kept.
  var restoring = null;
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    if (restoring) restoring.abort();
    restoring = event.detail.xhr;
  });
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("form[hx-push-url]").forEach(function (form) {
      if (form._shown) writeIntoHtml(form, form._shown);
      form._shown = state(form); // what the list about to be shown was asked for with
    });
  });
})();

// After a form comes back with errors, the cursor is in the first field in error (a keyboard user
// started from the top of the page, through the menu and every field before it). A box drawn twice
// for two widths (the reviews' decline box) has one copy hidden: the one shown takes the cursor.
(function () {
  "use strict";

  var shown = Array.prototype.filter.call(document.querySelectorAll("main [aria-invalid='true']"), function (box) {
    return box.getClientRects().length > 0;
  });
  if (shown.length && (document.activeElement === null || document.activeElement === document.body)) {
    shown[0].focus();
  }
})();

// A number revealed in place (the household page's Reveal buttons): the button that had the focus
// is gone with the swap, which left the focus nowhere (at the top of the page for a keyboard, and
// nothing read out). The number takes it, and a screen reader reads it.
(function () {
  "use strict";

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    var shown = target instanceof Element ? target.querySelector(".revealed[tabindex='-1']") : null;
    if (shown) shown.focus();
  });
})();

// An ID number's box (data-id-number, the name of the key below): a number pad on a phone, as for
// every other number, with a key beside the box for the X that ends some ID numbers (no number
// pad has an X). Without the script the box stays a text box, where an X can be typed.
(function () {
  "use strict";

  document.querySelectorAll("input[data-id-number]").forEach(function (box) {
    var key = document.createElement("button");
    key.type = "button";
    key.className = "btn btn-outline-secondary";
    key.textContent = "X";
    key.setAttribute("aria-label", box.dataset.idNumber);
    key.setAttribute("data-id-x", "");
    if (box.id) key.setAttribute("aria-controls", box.id);
    var group = document.createElement("div");
    group.className = "input-group" + (box.classList.contains("form-control-lg") ? " input-group-lg" : "");
    box.parentNode.insertBefore(group, box);
    group.appendChild(box);
    group.appendChild(key);
    box.inputMode = "numeric";
    // Pressed, the key leaves the cursor in the box, so the phone's number pad stays open.
    key.addEventListener("pointerdown", function (event) { event.preventDefault(); });
    key.addEventListener("click", function () {
      var start = box.selectionStart === null ? box.value.length : box.selectionStart;
      var end = box.selectionEnd === null ? start : box.selectionEnd;
      box.setRangeText("X", start, end, "end");
      box.dispatchEvent(new Event("input", { bubbles: true }));
      box.focus();
    });
  });
})();

// The language menu comes back to the page shown. Its "next" is the address the page was drawn
// at; a search or a filter sent by htmx since shows another (``?s=…``, the search's key in the
// session), and the menu went back to the list before it. The address shown is taken when the
// menu is sent, unless it holds what looks like an ID number (the server never shows one, but one
// typed into the address bar is not carried further): then "next" stays the drawn address.
(function () {
  "use strict";

  function looksLikeIdNumber(text) {
    var plain = text.normalize("NFKC").replace(/[\s\u2010-\u2015\u2212-]/g, "");
    return /[0-9]{15}/.test(plain);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-language-menu")) return;
    var next = form.querySelector("input[name=next]");
    var shown = window.location.pathname + window.location.search;
    var decoded;
    try {
      decoded = decodeURIComponent(shown.replace(/\+/g, " "));
    } catch (e) {
      return; // an address that does not decode: the drawn one
    }
    if (next && !looksLikeIdNumber(decoded)) next.value = shown;
  });
})();
