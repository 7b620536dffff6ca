/* Checkout loader. Two ways in:

     <script src="https://<edge>/checkout.js" data-client-secret="..." data-container="#checkout"
             data-locale="bn" data-theme="dark" data-appearance='{"variables":{"colorPrimary":"#6d28d9"}}'></script>

   or, from script:

     var checkout = Checkout.mount(element, {
       clientSecret: "...",
       locale: "auto",                       // "en" | "zh-CN" | "bn" | "auto" (the browser's languages)
       appearance: { theme: "light", variables: { colorPrimary: "#0f766e", colorBackground: "#fff",
         colorText: "#1f2933", colorDanger: "#b42318", borderRadius: "10px", fontFamily: "Inter" } },
       onReady: fn, onChange: fn, onComplete: fn, onError: fn
     });
     checkout.update({ locale: "zh-CN", appearance: { theme: "dark" } });   // keeps the shopper's input
     checkout.unmount();
     checkout.ready;                          // a Promise, settled once the widget is mounted

   The element also receives DOM events: checkout:ready, checkout:change, checkout:complete and
   checkout:error (each with the same `detail` as the callback). The widget's WebAssembly loads from
   the same origin as this script, once per page, on first use; several widgets may share a page. */
(function () {
  "use strict";
  var script = document.currentScript;
  // In a versioned release (/v/<version>/checkout.js, pinned with `integrity` by the merchant)
  // the build writes the SRI hashes of the glue, the wasm and the link module here, and they are
  // loaded checked.
  var PINNED = null; // replaced in versioned releases

  /** Resolves once `url` is in the module map, fetched with its integrity checked if given. */
  function preloadChecked(url, integrity) {
    return new Promise(function (resolve, reject) {
      var link = document.createElement("link");
      link.rel = "modulepreload";
      link.href = url;
      if (integrity) link.integrity = integrity;
      link.crossOrigin = "anonymous";
      link.onload = resolve;
      link.onerror = function () { reject(new Error("checkout: " + url + " failed its integrity check")); };
      document.head.appendChild(link);
    });
  }

  function createCheckout(base) {
    var apiBase = new URL(base).origin;
    var loading = null;

    function loadWidget() {
      if (!loading) {
        var glue = base + "/pkg/checkout_widget.js";
        var wasm = base + "/pkg/checkout_widget_bg.wasm";
        // The glue imports the link module that loads the widget's lazy parts (and checks them
        // against the hashes it carries); pinned, both enter the module map checked.
        var link = base + "/pkg/__wasm_split.js";
        // Both modules are asked for at once (the glue would find the link module only once
        // parsed). Pinned, they enter the module map checked before anything imports them.
        var preloads = Promise.all([
          preloadChecked(glue, PINNED && PINNED.glue),
          preloadChecked(link, PINNED && PINNED.link),
        ]);
        var ready = PINNED ? preloads : Promise.resolve();
        if (!PINNED) preloads.catch(function () {}); // the import reports a failure
        // The WebAssembly downloads beside the glue, not after it: the glue's init awaits the
        // response it is given and compiles it as it streams.
        var source = fetch(wasm, PINNED
          ? { integrity: PINNED.wasm, mode: "cors", credentials: "omit" }
          : { mode: "cors", credentials: "omit" });
        source.catch(function () {}); // a failure is reported once, through `loading`
        loading = ready.then(function () { return import(glue); }).then(function (module) {
          return module.default({ module_or_path: source }).then(function () {
            return module;
          });
        });
      }
      return loading;
    }

    /** The widget's first two calls (the token grant, then the session read with its answer),
        sent now so they travel while the widget's code loads. The widget reads their answers as
        if it had made them (widget/src/api.rs, `Sent`): the same requests, in the same order.
        Each answer is read to its end here too: the promise resolves with the body of a
        successful answer and rejects with the body (a string) of an error answer, or with an
        error object when the request failed or its body was cut off. The widget then has both
        at once, in the task that mounts it, not one task (and perhaps a frame of its loading
        screen) later for each body. */
    function send(base, clientSecret) {
      base = String(base).replace(/\/+$/, "");
      var init = { mode: "cors", credentials: "omit" };
      var read = function (response) {
        return response.text().then(function (text) {
          return response.ok ? text : Promise.reject(text);
        });
      };
      var token = fetch(base + "/v1/widget/token", Object.assign({
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ client_secret: clientSecret }),
      }, init)).then(read);
      // After an error answer to the token, nothing to read: the widget reports the token's.
      var session = token.then(function (text) {
        var grant = JSON.parse(text);
        return fetch(base + "/v1/widget/sessions/" + encodeURIComponent(grant.session_id),
          Object.assign({ headers: { Authorization: "Bearer " + grant.token } }, init)).then(read);
      });
      // A failure is the widget's to report, not an unhandled one.
      token.catch(function () {});
      session.catch(function () {});
      return { token: token, session: session };
    }

    function mount(element, options) {
      if (typeof element === "string") element = document.querySelector(element);
      if (!element) throw new Error("Checkout.mount: no element");
      var settings = Object.assign({ apiBase: apiBase }, options || {});
      if (typeof settings.clientSecret === "string" && settings.clientSecret && !settings.sent) {
        settings.sent = send(settings.apiBase, settings.clientSecret);
      }
      var widget = null;
      var queued = [];
      var unmounted = false;
      var handle = {
        /** Changes `locale` and/or `appearance` while the widget is up. */
        update: function (changes) {
          if (widget) widget.update(changes || {});
          else queued.push(changes || {});
          return handle;
        },
        /** Removes the widget from the element. */
        unmount: function () {
          unmounted = true;
          if (widget) {
            widget.unmount();
            widget.free();
            widget = null;
          }
        },
        ready: null,
      };
      handle.ready = loadWidget().then(function (module) {
        if (unmounted) return handle;
        widget = module.mount(element, settings);
        queued.forEach(function (changes) { widget.update(changes); });
        queued = [];
        return handle;
      });
      handle.ready.catch(function (error) { console.error("checkout:", error); });
      return handle;
    }

    return { mount: mount };
  }

  /** Options from a script tag's data attributes. */
  function tagOptions(tag) {
    var options = { clientSecret: tag.getAttribute("data-client-secret") };
    var locale = tag.getAttribute("data-locale");
    if (locale) options.locale = locale;
    var appearance = {};
    var json = tag.getAttribute("data-appearance");
    if (json) {
      try {
        appearance = JSON.parse(json) || {};
      } catch (error) {
        console.warn("checkout: data-appearance is not valid JSON and was ignored");
      }
    }
    var theme = tag.getAttribute("data-theme");
    if (theme) appearance.theme = theme;
    if (Object.keys(appearance).length) options.appearance = appearance;
    return options;
  }

  function autoMount(tag) {
    var selector = tag.getAttribute("data-container");
    var element = selector ? document.querySelector(selector) : null;
    if (!element) {
      element = document.createElement("div");
      tag.parentNode.insertBefore(element, tag.nextSibling);
    }
    try {
      window.Checkout.mount(element, tagOptions(tag));
    } catch (error) {
      console.error("checkout:", error);
    }
  }

  // A second tag on the page reuses the first one's loader (and its one copy of the widget).
  if (!window.Checkout) {
    var base = new URL(".", script ? script.src : window.location.href).href.replace(/\/$/, "");
    window.Checkout = createCheckout(base);
  }
  if (script && script.hasAttribute("data-client-secret")) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () { autoMount(script); });
    } else {
      autoMount(script);
    }
  }
})();
