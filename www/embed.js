// The embed demo's page script (a file, not inline, so the page's CSP allows scripts from this
// origin only). It stands in for the merchant's server-side template: create the session, then
// write the one script tag.
(function () {
  "use strict";
  fetch("/demo/api/checkout", { method: "POST" })
    .then(function (r) { return r.json(); })
    .then(function (created) {
      var tag = document.createElement("script");
      tag.src = "/checkout.js";
      tag.setAttribute("data-client-secret", created.client_secret);
      tag.setAttribute("data-container", "#checkout");
      document.body.appendChild(tag);
    });
})();
