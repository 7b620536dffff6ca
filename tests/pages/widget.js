// Test page driver for the browser tests (tests/tests/browser_widget.rs). For each element with a
// `data-widget` name it creates a demo session (as a merchant's server would) and mounts a widget
// with Checkout.mount. Query string: `locale`, `theme`, `currency` (CNY), and `secret`: mount the
// first widget for that client secret (a session a test created) instead of a new demo session. Every event, both as a DOM
// CustomEvent on the element and as a callback, is recorded in `window.checkoutEvents` as
// {widget, via: "dom" | "callback", type, detail}; handles are in `window.checkoutHandles`.
// A file rather than an inline script, so the pages' CSP (script-src 'self') allows it.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var types = ["ready", "change", "complete", "error"];
  window.checkoutEvents = [];
  window.checkoutHandles = {};

  function record(widget, via, type, detail) {
    window.checkoutEvents.push({ widget: widget, via: via, type: type, detail: detail });
  }

  function options(widget, clientSecret) {
    var result = {
      clientSecret: clientSecret,
      onReady: function (d) { record(widget, "callback", "ready", d); },
      onChange: function (d) { record(widget, "callback", "change", d); },
      onComplete: function (d) { record(widget, "callback", "complete", d); },
      onError: function (d) { record(widget, "callback", "error", d); },
    };
    if (params.get("locale")) result.locale = params.get("locale");
    if (params.get("theme")) result.appearance = { theme: params.get("theme") };
    return result;
  }

  function start(element) {
    var widget = element.getAttribute("data-widget");
    types.forEach(function (type) {
      element.addEventListener("checkout:" + type, function (event) {
        record(widget, "dom", type, event.detail);
      });
    });
    var secret = params.get("secret");
    if (secret && widget === "a") {
      window.checkoutHandles[widget] = Checkout.mount(element, options(widget, secret));
      return Promise.resolve();
    }
    var currency = params.get("currency");
    var url = "/demo/api/checkout" + (currency ? "?currency=" + encodeURIComponent(currency) : "");
    return fetch(url, { method: "POST" })
      .then(function (r) { return r.json(); })
      .then(function (created) {
        element.setAttribute("data-session-id", created.session_id);
        window.checkoutHandles[widget] = Checkout.mount(element, options(widget, created.client_secret));
      });
  }

  // One after the other, so the demo shop's sessions are created in a known order.
  Array.prototype.slice.call(document.querySelectorAll("[data-widget]")).reduce(function (chain, element) {
    return chain.then(function () { return start(element); });
  }, Promise.resolve());
})();
