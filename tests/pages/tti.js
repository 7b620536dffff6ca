// Bench page driver (`cargo xtask bench`; also `browser_lazy_parts`): creates a demo session as a merchant's server would,
// then writes the one script tag and records, in `window.tti` (milliseconds of
// `performance.now()`): `inserted` when the tag goes into the page, `ready` when the widget says
// `checkout:ready`, and `interactive` at the first frame where its pay button is on screen and
// enabled, `rendered` and `frame` between the two (see below), `files`, the widget's files fetched
// by then, and `phases` and `starts`, when each request on the way had its answer and was asked for. A file rather than an inline script, so the pages' CSP (script-src 'self') allows it.
(function () {
  "use strict";
  var container = document.getElementById("checkout");
  window.tti = {};

  function payButton() {
    var shadow = container.shadowRoot;
    return shadow && shadow.querySelector("[data-testid=pay-button]");
  }

  function watchForButton(frame) {
    var now = performance.now();
    var button = payButton();
    if (frame !== undefined && window.tti.frame === undefined && button) {
      window.tti.frame = frame;
      window.tti.frameRuns = now;
    }
    if (button && !button.disabled && button.getBoundingClientRect().width > 0) {
      window.tti.interactive = performance.now();
      // The widget's files fetched so far: the first view, which the size bench counts.
      window.tti.files = performance.getEntriesByType("resource")
        .map(function (entry) { return entry.name; })
        .filter(function (name) { return /\/pkg\/|checkout\.js$/.test(name); })
        .map(function (name) { return name.replace(/^.*\//, ""); });
      // When each request of the critical path had its answer, from the tag's insertion: where
      // the time to interactive goes.
      // `starts`: when each was asked for (its queueing shows against the others).
      window.tti.phases = {};
      window.tti.starts = {};
      performance.getEntriesByType("resource").forEach(function (entry) {
        var match = /(checkout\.js|checkout_widget\.js|__wasm_split\.js|checkout_widget_bg\.wasm|widget\/token|widget\/sessions\/)/.exec(entry.name);
        if (match && entry.responseEnd >= window.tti.inserted) {
          window.tti.phases[match[1]] = entry.responseEnd - window.tti.inserted;
          window.tti.starts[match[1]] = entry.startTime - window.tti.inserted;
        }
      });
    } else {
      requestAnimationFrame(watchForButton);
    }
  }

  container.addEventListener("checkout:ready", function () {
    window.tti.ready = performance.now();
    // `rendered`: when the pay button is in the widget's DOM (mutation records are delivered
    // right after the task that rendered it); `frame`: the start of the first frame that has it,
    // `frameRuns` when its animation callbacks ran (then style and layout are forced).
    var shadow = container.shadowRoot;
    if (payButton()) {
      window.tti.rendered = window.tti.ready;
    } else if (shadow) {
      var observer = new MutationObserver(function () {
        if (payButton()) {
          window.tti.rendered = performance.now();
          observer.disconnect();
        }
      });
      observer.observe(shadow, { childList: true, subtree: true });
    }
    watchForButton();
  });
  container.addEventListener("checkout:error", function (event) {
    window.tti.error = event.detail;
  });
  fetch("/demo/api/checkout", { method: "POST" })
    .then(function (r) { return r.json(); })
    .then(function (created) {
      var tag = document.createElement("script");
      tag.src = "/checkout.js";
      tag.setAttribute("data-client-secret", created.client_secret);
      tag.setAttribute("data-container", "#checkout");
      window.tti.inserted = performance.now();
      document.body.appendChild(tag);
    });
})();
