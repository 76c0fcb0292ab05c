// warroom's page script: live updates over server-sent events, and the
// command box and message buttons answered in place. Every page works
// without it; this only saves reloads.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";

  function showReply(text, isError) {
    var out = document.getElementById("reply");
    if (!out) return;
    out.textContent = "";
    var p = document.createElement(isError ? "p" : "pre");
    if (isError) p.className = "error";
    p.textContent = text;
    out.appendChild(p);
    out.classList.add("shown");
  }

  // focusKey names a control so that the same one can be found in a live
  // region's new content: a link by where it goes, a message or approval
  // button by what it does, anything else by its id. Its place is no
  // good: a new row above moves everything down, and Enter must never land
  // on another incident's Approve button.
  function focusKey(el) {
    if (el.id) return "id " + el.id;
    var form = el.form;
    if (form && form.classList.contains("button")) {
      var action = form.elements.namedItem("action"), value = form.elements.namedItem("value");
      return "button " + (action ? action.value : "") + " " + (value ? value.value : "") + " " + el.textContent;
    }
    if (el.tagName === "A") return "link " + el.getAttribute("href");
    return "";
  }

  function findFocusable(root, key) {
    var all = root.querySelectorAll("a[href], button, input, select, textarea");
    for (var i = 0; i < all.length; i++) {
      if (focusKey(all[i]) === key) return all[i];
    }
    return null;
  }

  // refresh fetches the page again and swaps in every live region whose
  // content changed, keeping scrolled-to-bottom lists at the bottom and the
  // keyboard focus on the control it was on.
  var refreshing = false, again = false;
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (!fresh || fresh.innerHTML === el.innerHTML) return;
          var stick = el.hasAttribute("data-stick") && el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
          var focused = document.activeElement;
          var key = focused && focused !== el && el.contains(focused) ? focusKey(focused) : "";
          el.innerHTML = fresh.innerHTML;
          if (stick) el.scrollTop = el.scrollHeight;
          var back = key && findFocusable(el, key);
          if (back) back.focus({ preventScroll: true });
        });
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  if (window.EventSource && document.querySelector("[data-live]")) {
    var scheduled = false;
    var es = new EventSource("/events");
    es.addEventListener("change", function () {
      if (scheduled) return;
      scheduled = true;
      // Changes come in bursts (a command writes several rows): take one look.
      setTimeout(function () { scheduled = false; refresh(); }, 100);
    });
    es.addEventListener("open", function () { document.body.setAttribute("data-live-ready", "1"); });
  }

  document.querySelectorAll(".stick-bottom, [data-stick]").forEach(function (el) {
    el.scrollTop = el.scrollHeight;
  });

  // The command box posts JSON to the API and shows the reply in place.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.classList.contains("command") && form.dataset.api) {
      e.preventDefault();
      var input = form.querySelector('input[name="text"]');
      var text = input.value;
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.dataset.api, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ text: text })
      }).then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) { showReply(body.error || res.statusText, true); return; }
          showReply(body.text || "Done.", false);
          input.value = "";
        });
      }).catch(function (err) { showReply(String(err), true); })
        .then(function () { button.disabled = false; input.focus(); refresh(); });
      return;
    }
    if (form.classList.contains("button")) {
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { e.preventDefault(); return; }
      e.preventDefault();
      // getAttribute: the form has a field named "action", which shadows form.action.
      fetch(form.getAttribute("action"), {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(new FormData(form))
      }).then(function (res) {
        return res.json().then(function (body) {
          showReply(res.ok ? body.text : (body.error || res.statusText), !res.ok);
        });
      }).catch(function (err) { showReply(String(err), true); })
        .then(refresh);
    }
  });
})();
