// The demo shop's page script. It never sees a merchant key: its back end (routes of the Worker
// under /demo/api/) creates the session and reads the order.
(function () {
  "use strict";
  var buy = document.getElementById("buy");
  var area = document.getElementById("checkout-area");
  var container = document.getElementById("checkout");
  var sessionId = null;

  function showBackOffice() {
    if (!sessionId) return;
    fetch("/demo/api/orders/" + encodeURIComponent(sessionId))
      .then(function (r) { return r.json(); })
      .then(function (order) {
        document.getElementById("bo-order").textContent = order.order_id;
        document.getElementById("bo-status").textContent = String(order.status).toUpperCase();
        document.getElementById("bo-paid").textContent = order.currency + " " + order.amount_paid;
        document.getElementById("back-office").hidden = false;
      });
  }

  function mountCheckout(clientSecret) {
    area.hidden = false;
    area.scrollIntoView({ behavior: "smooth", block: "start" });
    container.addEventListener("checkout:complete", showBackOffice);
    return Checkout.mount(container, { clientSecret: clientSecret });
  }

  buy.addEventListener("click", function () {
    buy.disabled = true;
    fetch("/demo/api/checkout", { method: "POST" })
      .then(function (r) {
        if (!r.ok) throw new Error("could not start checkout: " + r.status);
        return r.json();
      })
      .then(function (created) {
        sessionId = created.session_id;
        return mountCheckout(created.client_secret);
      })
      .catch(function (error) {
        buy.disabled = false;
        alert(error.message);
      });
  });

  // Back from a provider's page (bKash): resume the same session from its real status.
  var returned = new URLSearchParams(window.location.search).get("checkout_session");
  if (returned) {
    sessionId = returned;
    buy.disabled = true;
    fetch("/demo/api/orders/" + encodeURIComponent(returned) + "/client_secret")
      .then(function (r) { return r.json(); })
      .then(function (body) { return mountCheckout(body.client_secret); });
  }
})();
