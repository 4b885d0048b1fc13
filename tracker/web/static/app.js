/* Progressive enhancement only: every page reads and works without it.
   - [data-copy="#id"] buttons copy the target's text, then POST to data-log-url (the copy is
     logged as a customer contact) and show data-done-text.
   - Queue triage keys on a table.queue: j / k move, Enter or o opens, x ticks, a assigns the
     current row to me, r resolves it, / focuses the search box. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  csrf = csrf ? csrf.content : "";

  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams(body || {})});
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-copy]");
    if (!button) return;
    ev.preventDefault();
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    copyText(source.innerText.trim()).then(function () {
      var log = button.getAttribute("data-log-url");
      var done = function () {
        button.classList.add("copied");
        button.textContent = button.getAttribute("data-done-text") || "✓";
        document.dispatchEvent(new CustomEvent("tracker:copied", {detail: {button: button}}));
      };
      if (!log) return done();
      post(log, {reply_code: button.getAttribute("data-reply-code") || "", case_id: button.getAttribute("data-case-id") || ""})
        .then(function (resp) { if (resp.ok) done(); else button.classList.add("failed"); });
    });
  });

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr[data-case-id]")); }
  function current() { return document.querySelector("table.queue tbody tr.current"); }
  function move(step) {
    var all = rows(); if (!all.length) return;
    var at = all.indexOf(current());
    var next = all[Math.max(0, Math.min(all.length - 1, at < 0 ? 0 : at + step))];
    all.forEach(function (r) { r.classList.remove("current"); });
    next.classList.add("current");
    next.scrollIntoView({block: "nearest"});
  }

  document.addEventListener("keydown", function (ev) {
    if (!document.querySelector("table.queue")) return;
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var row = current();
    switch (ev.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "/": var q = document.getElementById("q"); if (q) { q.focus(); q.select(); } break;
      case "Enter": case "o": if (row) { var link = row.querySelector("a.order-link"); if (link) link.click(); } break;
      case "x": if (row) { var box = row.querySelector("input[type=checkbox]"); if (box) box.checked = !box.checked; } break;
      case "a": if (row) quick(row, "assign"); break;
      case "r": if (row) quick(row, "resolve"); break;
      default: return;
    }
    ev.preventDefault();
  });

  function quick(row, what) {
    var url = row.getAttribute("data-" + what + "-url");
    if (!url) return;
    post(url, {}).then(function (resp) {
      if (!resp.ok) { row.classList.add("failed"); return; }
      row.classList.add(what === "resolve" ? "resolved" : "assigned");
      var cell = row.querySelector("[data-" + what + "-cell]");
      if (cell) cell.textContent = row.getAttribute("data-" + what + "-done") || "✓";
      if (what === "resolve") move(1);
    });
  }
})();
