// Stands in for a merchant's template that pins a widget release: the versioned loader from
// /release.json with its `integrity`, or (with ?tampered) a wrong hash the browser must refuse.
(function () {
  "use strict";
  var wrong = "sha384-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  Promise.all([
    fetch("/release.json").then(function (r) { return r.json(); }),
    fetch("/demo/api/checkout", { method: "POST" }).then(function (r) { return r.json(); }),
  ]).then(function (answers) {
    var release = answers[0];
    var tag = document.createElement("script");
    tag.src = release.script;
    tag.integrity = window.location.search === "?tampered" ? wrong : release.integrity;
    tag.crossOrigin = "anonymous";
    tag.setAttribute("data-client-secret", answers[1].client_secret);
    tag.setAttribute("data-container", "#checkout");
    tag.onerror = function () { document.body.setAttribute("data-script-refused", "true"); };
    document.body.appendChild(tag);
  });
})();
