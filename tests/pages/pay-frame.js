// Test page driver for tests/tests/browser_pay_frame.rs: this page plays a merchant's page on
// one origin (http://localhost:PORT) and loads the checkout from another (`checkout`, e.g.
// http://127.0.0.1:PORT), as a real merchant does, then mounts the widget for `secret` (a
// session the test created) in `locale`. Events are recorded in `window.checkoutEvents`, uncaught
// errors in `window.pageErrors`.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var checkout = new URL(params.get("checkout")).origin;
  window.checkoutEvents = [];
  window.pageErrors = [];
  window.addEventListener("error", function (event) { window.pageErrors.push(String(event.message)); });
  var script = document.createElement("script");
  script.src = checkout + "/checkout.js";
  script.onload = function () {
    var element = document.getElementById("checkout");
    var options = {
      clientSecret: params.get("secret"),
      onComplete: function (d) { window.checkoutEvents.push({ type: "complete", detail: d }); },
      onError: function (d) { window.checkoutEvents.push({ type: "error", detail: d }); }
    };
    if (params.get("locale")) options.locale = params.get("locale");
    window.Checkout.mount(element, options);
  };
  document.body.appendChild(script);
})();
