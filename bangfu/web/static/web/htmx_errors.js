// An htmx control that was not done says so. htmx puts no answer of 4xx or 5xx in the page and
// does nothing when the server cannot be reached, so a click on "show" after the role was taken
// away (404), or on a page from before a new sign-in (403), left the page as it was, without a
// word. The sentences are the page's own, in its language (web/_htmx_alert.html); a conflict
// (409), or an answer that carries its own sentence (data-htmx-message), is told in the server's
// words.
(function () {
  "use strict";

  var LONGEST = 400; // characters of a server's text shown

  function region() {
    return document.getElementById("htmx-alert");
  }

  function hide() {
    var box = region();
    var text = box && box.querySelector("[data-htmx-alert-text]");
    if (text) {
      text.replaceChildren();
      text.className = "";
    }
  }

  function show(message) {
    var box = region();
    var text = box && box.querySelector("[data-htmx-alert-text]");
    if (!text) return;
    var words = document.createElement("span");
    words.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close ms-2";
    close.setAttribute("aria-label", box.dataset.close || "");
    close.setAttribute("data-htmx-alert-close", "");
    text.className = "alert alert-warning shadow d-flex align-items-start justify-content-between mb-0";
    text.replaceChildren(words, close);
  }

  // The server's own sentence: an element marked data-htmx-message, the API's error body, or, for
  // a conflict, the answer's text.
  function said(xhr, whole) {
    var body = (xhr && xhr.responseText) || "";
    if (!body) return "";
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    if (type.indexOf("application/json") === 0) {
      try {
        var error = JSON.parse(body).error;
        return (error && error.message) || "";
      } catch (e) {
        return "";
      }
    }
    var doc = new DOMParser().parseFromString(body, "text/html");
    var marked = doc.querySelector("[data-htmx-message]");
    if (marked) return marked.textContent.trim();
    if (!whole) return "";
    var main = doc.querySelector("main") || doc.body;
    var text = main ? main.textContent.replace(/\s+/g, " ").trim() : "";
    return text.length > LONGEST ? text.slice(0, LONGEST) + "…" : text;
  }

  document.addEventListener("htmx:responseError", function (event) {
    var box = region();
    if (!box) return;
    var xhr = event.detail.xhr;
    var status = xhr ? xhr.status : 0;
    var own = said(xhr, status === 409);
    if (own) show(own);
    else if (status === 403 || status === 404) show(box.dataset.gone || "");
    else show(box.dataset.failed || "");
  });

  document.addEventListener("htmx:sendError", function () {
    var box = region();
    if (box) show(box.dataset.failed || "");
  });

  // A later request that is done takes the sentence away: it no longer says how things are.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) hide();
  });

  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-htmx-alert-close]")) hide();
  });
})();
