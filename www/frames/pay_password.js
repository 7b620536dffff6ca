// The pay-password frame (edge/src/handlers/frame.rs). It runs on the checkout's own origin
// inside the merchant's page, so no script of that page can read what is typed here.
//
// Messages (postMessage, always to or from exactly one origin, each checked both ways):
//   parent -> frame  {type: "checkout:pay", id, token, idempotencyKey, request}: pay this
//                    session; `request` is the pay request's JSON without the password, which
//                    the frame adds before it POSTs /v1/widget/sessions/{session}/pay itself.
//                    {type: "checkout:focus"}: focus the field (after a wrong password).
//   frame -> parent  {type: "checkout:submit"}: the shopper pressed Enter in the field.
//                    {type: "checkout:result", id, status, body}: the HTTP status and the JSON
//                    text of the answer (status 0: no answer; `format: true`: not 6 digits).
// The password never leaves this frame except in the body of that same-origin POST.
(function () {
  "use strict";
  // The widget's own words (widget/src/i18n/{en,zh,bn}.rs).
  var STRINGS = {
    en: {
      title: "Pay password",
      label: "Pay password",
      help: "The 6-digit password for your store balance.",
      locked: "Balance payments are locked after too many incorrect passwords. Try again later.",
      format: "Enter your 6-digit pay password.",
      incorrect: "The pay password is incorrect.",
      required: "Enter your pay password."
    },
    "zh-Hans": {
      title: "支付密码",
      label: "支付密码",
      help: "店铺余额的 6 位数字支付密码。",
      locked: "支付密码输错次数过多，余额支付已锁定，请稍后再试。",
      format: "请输入 6 位数字支付密码。",
      incorrect: "支付密码错误。",
      required: "请输入支付密码。"
    },
    bn: {
      title: "পেমেন্ট পাসওয়ার্ড",
      label: "পেমেন্ট পাসওয়ার্ড",
      help: "আপনার স্টোর ব্যালান্সের ৬ অঙ্কের পাসওয়ার্ড।",
      locked: "অনেকবার ভুল পাসওয়ার্ড দেওয়ায় ব্যালান্স দিয়ে পেমেন্ট বন্ধ রাখা হয়েছে। পরে আবার চেষ্টা করুন।",
      format: "আপনার ৬ অঙ্কের পেমেন্ট পাসওয়ার্ড দিন।",
      incorrect: "পেমেন্ট পাসওয়ার্ড ভুল।",
      required: "আপনার পেমেন্ট পাসওয়ার্ড দিন।"
    }
  };
  STRINGS["zh-CN"] = STRINGS["zh-Hans"];

  var params = new URLSearchParams(window.location.search);
  var session = params.get("session") || "";
  // The edge framed this page only for this origin (frame-ancestors), after checking it against
  // the session merchant's allowed origins.
  var parentOrigin = params.get("parent") || "";
  var locale = STRINGS[params.get("locale")] ? params.get("locale") : "en";
  var t = STRINGS[locale];

  var form = document.getElementById("ck-frame-form");
  var input = document.getElementById("ck-pay-password");
  var help = document.getElementById("ck-password-help");
  var error = document.getElementById("ck-frame-error");
  var locked = params.get("locked") === "1";

  document.documentElement.lang = locale;
  document.title = t.title;
  document.getElementById("ck-pay-password-label").textContent = t.label;
  help.textContent = locked ? t.locked : t.help;
  input.disabled = locked;
  // A shopper who tabbed onto the frame while it loaded is on its empty document: the field
  // takes that focus, so the keyboard path does not skip it.
  if (!locked && document.hasFocus()) input.focus();

  var busy = false;

  function toParent(message) {
    if (window.parent !== window && parentOrigin) window.parent.postMessage(message, parentOrigin);
  }

  function showError(text) {
    error.textContent = text || "";
    error.hidden = !text;
    input.setAttribute("aria-invalid", text ? "true" : "false");
    input.setAttribute("aria-describedby", text ? "ck-password-help ck-frame-error" : "ck-password-help");
  }

  function errorCode(text) {
    try {
      var body = JSON.parse(text);
      return body && body.error && typeof body.error.code === "string" ? body.error.code : "";
    } catch (e) {
      return "";
    }
  }

  function pay(message) {
    if (busy || typeof message.token !== "string" || typeof message.request !== "string") return;
    var id = message.id;
    var password = input.value;
    if (!/^[0-9]{6}$/.test(password)) {
      showError(t.format);
      toParent({ type: "checkout:result", id: id, status: 0, format: true });
      return;
    }
    var request;
    try {
      request = JSON.parse(message.request);
    } catch (e) {
      return;
    }
    if (!request || typeof request !== "object") return;
    request.pay_password = password;
    password = "";
    busy = true;
    fetch("/v1/widget/sessions/" + encodeURIComponent(session) + "/pay", {
      method: "POST",
      credentials: "omit",
      headers: {
        "Authorization": "Bearer " + message.token,
        "Idempotency-Key": String(message.idempotencyKey || ""),
        "Content-Type": "application/json",
        "Checkout-Parent-Origin": parentOrigin
      },
      body: JSON.stringify(request)
    }).then(function (response) {
      return response.text().then(function (text) {
        return { status: response.status, body: text };
      });
    }).catch(function () {
      return { status: 0, body: "" };
    }).then(function (answer) {
      busy = false;
      input.value = "";
      var code = answer.status >= 400 ? errorCode(answer.body) : "";
      if (code === "incorrect_pay_password") showError(t.incorrect);
      else if (code === "pay_password_required") showError(t.required);
      else showError("");
      toParent({ type: "checkout:result", id: id, status: answer.status, body: answer.body });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    toParent({ type: "checkout:submit" });
  });

  window.addEventListener("message", function (event) {
    if (event.origin !== parentOrigin || event.source !== window.parent) return;
    var message = event.data;
    if (!message || typeof message !== "object") return;
    if (message.type === "checkout:pay") pay(message);
    else if (message.type === "checkout:focus") input.focus();
  });
})();
