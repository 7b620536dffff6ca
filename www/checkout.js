/* Checkout loader. Embed with
     <script src="https://<edge>/checkout.js" data-client-secret="..." data-container="#checkout"></script>
   or call Checkout.mount(element, { clientSecret, onReady, onComplete, onError }).
   It loads the widget's WebAssembly from the same origin as this script, once, on first use. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(".", script ? script.src : window.location.href).href.replace(/\/$/, "");
  var apiBase = new URL(base).origin;
  var loading = null;

  function loadWidget() {
    if (!loading) {
      loading = import(base + "/pkg/checkout_widget.js").then(function (module) {
        return module.default({ module_or_path: base + "/pkg/checkout_widget_bg.wasm" }).then(function () {
          return module;
        });
      });
    }
    return loading;
  }

  function mount(element, options) {
    if (!element) return Promise.reject(new Error("Checkout.mount: no element"));
    var settings = Object.assign({ apiBase: apiBase }, options || {});
    return loadWidget().then(function (module) {
      var handle = module.mount(element, settings);
      return {
        unmount: function () { handle.unmount(); },
      };
    });
  }

  function autoMount(tag) {
    var secret = tag.getAttribute("data-client-secret");
    if (!secret) return;
    var selector = tag.getAttribute("data-container");
    var element = selector ? document.querySelector(selector) : null;
    if (!element) {
      element = document.createElement("div");
      tag.parentNode.insertBefore(element, tag.nextSibling);
    }
    mount(element, { clientSecret: secret }).catch(function (error) {
      console.error("checkout:", error);
    });
  }

  window.Checkout = window.Checkout || { mount: mount };
  if (script && script.hasAttribute("data-client-secret")) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () { autoMount(script); });
    } else {
      autoMount(script);
    }
  }
})();
