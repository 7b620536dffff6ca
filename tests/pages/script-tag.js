// Test page driver: stands in for a merchant's server-side template that writes the one script
// tag with data attributes. Query string: `locale` → data-locale, `theme` → data-theme,
// `appearance` → data-appearance (JSON), `offline-parts` (below), `wrong-secret` (a client secret
// the edge refuses). Events on the container land in `window.checkoutEvents`.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var container = document.getElementById("checkout");
  // `offline-parts`: the network refuses the widget's lazily loaded parts until the test sets
  // `window.partsOnline`, as a dropped connection would. Every request for a part is counted in
  // `window.partRequests`.
  window.partRequests = [];
  if (params.has("offline-parts")) {
    var realFetch = window.fetch;
    window.fetch = function (input, init) {
      var url = String(input && input.url ? input.url : input);
      if (url.indexOf("/pkg/split_") >= 0) window.partRequests.push(url.replace(/^.*\//, ""));
      if (url.indexOf("/pkg/split_") >= 0 && !window.partsOnline) {
        return Promise.reject(new TypeError("Failed to fetch"));
      }
      return realFetch.call(this, input, init);
    };
  }
  window.checkoutEvents = [];
  ["ready", "change", "complete", "error"].forEach(function (type) {
    container.addEventListener("checkout:" + type, function (event) {
      window.checkoutEvents.push({ widget: "a", via: "dom", type: type, detail: event.detail });
    });
  });
  fetch("/demo/api/checkout", { method: "POST" })
    .then(function (r) { return r.json(); })
    .then(function (created) {
      container.setAttribute("data-session-id", created.session_id);
      var tag = document.createElement("script");
      tag.src = "/checkout.js";
      var secret = params.has("wrong-secret") ? created.client_secret + "x" : created.client_secret;
      tag.setAttribute("data-client-secret", secret);
      tag.setAttribute("data-container", "#checkout");
      ["locale", "theme", "appearance"].forEach(function (name) {
        if (params.get(name)) tag.setAttribute("data-" + name, params.get(name));
      });
      document.body.appendChild(tag);
    });
})();
