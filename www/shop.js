// The demo shop's page script. It never sees a merchant key: its back end (routes of the Worker
// under /demo/api/) creates the session and reads the order.
(function () {
  "use strict";
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button.buy"));
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

  function disableAll(disabled) {
    buttons.forEach(function (b) { b.disabled = disabled; });
  }

  function buy(currency) {
    disableAll(true);
    fetch("/demo/api/checkout?currency=" + encodeURIComponent(currency), { method: "POST" })
      .then(function (r) {
        if (!r.ok) throw new Error("could not start checkout: " + r.status);
        return r.json();
      })
      .then(function (created) {
        sessionId = created.session_id;
        return mountCheckout(created.client_secret);
      })
      .catch(function (error) {
        disableAll(false);
        alert(error.message);
      });
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function () { buy(button.dataset.currency); });
  });

  // Back from a provider's page (bKash, WeChat H5): resume the same session from its real status.
  var returned = new URLSearchParams(window.location.search).get("checkout_session");
  if (returned) {
    sessionId = returned;
    disableAll(true);
    fetch("/demo/api/orders/" + encodeURIComponent(returned) + "/client_secret")
      .then(function (r) { return r.json(); })
      .then(function (body) { return mountCheckout(body.client_secret); });
  }
})();
