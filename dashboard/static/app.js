// kubectl flows dashboard: live updates and form checks. The server
// renders every page (html/template escapes every value); this script only
// swaps in freshly rendered parts, so no value is ever turned into markup
// here.
"use strict";
(function () {
  const live = document.getElementById("live");
  const status = document.getElementById("live-status");

  // Live updates: the server sends "change" when its watches see one;
  // the page then fetches its own URL's live part and swaps it in.
  let busy = false, again = false;
  // On the deployments page the live part holds each deployment's recent
  // runs; they are shown inside the deployment's own section.
  function distribute() {
    document.querySelectorAll(".live-part[data-for]").forEach((slot) => {
      slot.replaceChildren();
      const sec = Array.from(live.querySelectorAll("section.recent[data-recent]")).find((s) => s.dataset.recent === slot.dataset.for);
      if (sec) slot.appendChild(sec);
    });
  }
  if (live) distribute();
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const r = await fetch(location.href, { headers: { "X-Live": "1" }, credentials: "same-origin" });
      if (r.ok) {
        live.innerHTML = await r.text();
        distribute();
        document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
      }
    } catch (e) { /* the next change retries */ }
    busy = false;
    if (again) { again = false; refresh(); }
  }
  if (live && window.EventSource) {
    const es = new EventSource("/events");
    es.addEventListener("open", () => status && status.classList.add("on"));
    es.addEventListener("error", () => status && status.classList.remove("on"));
    es.addEventListener("change", refresh);
  }

  // Filters apply as soon as one changes.
  const filters = document.getElementById("filters");
  if (filters) {
    filters.querySelectorAll("select").forEach((s) => s.addEventListener("change", () => filters.submit()));
  }

  // The run's log: tail, then follow, as text.
  const log = document.getElementById("log");
  if (log && log.dataset.src && window.EventSource) {
    const es = new EventSource(log.dataset.src);
    es.addEventListener("line", (e) => { log.textContent += JSON.parse(e.data) + "\n"; log.scrollTop = log.scrollHeight; });
    es.addEventListener("end", (e) => {
      const msg = JSON.parse(e.data);
      if (msg) log.textContent += "[" + msg + "]\n";
      es.close();
    });
  }

  // Run forms: the browser checks types, ranges, lengths and patterns;
  // JSON fields are checked here. The server checks everything again.
  document.querySelectorAll("form.params").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      let ok = true;
      form.querySelectorAll("textarea[data-json]").forEach((t) => {
        t.setCustomValidity("");
        if (t.value.trim() !== "") {
          try { JSON.parse(t.value); } catch (e) { t.setCustomValidity("not valid JSON: " + e.message); ok = false; }
        }
      });
      if (!ok || !form.checkValidity()) {
        ev.preventDefault();
        form.reportValidity();
      }
    });
  });
})();
