// Live refresh: a page whose body has data-live="N" reloads its main content every N seconds
// while it is visible, unless a form field on it has the focus or a checkbox is ticked. The
// console works without this script; it only saves pressing reload.
(function () {
  var secs = Number(document.body.getAttribute("data-live"));
  if (!secs) { return; }
  function busy() {
    var a = document.activeElement;
    if (a && (a.tagName === "INPUT" || a.tagName === "SELECT" || a.tagName === "TEXTAREA")) { return true; }
    return document.querySelector("input[type=checkbox]:checked") !== null;
  }
  function refresh() {
    if (document.hidden || busy()) { return; }
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("main");
        var cur = document.getElementById("main");
        if (next && cur) { cur.replaceWith(next); }
      })
      .catch(function () {});
  }
  setInterval(refresh, secs * 1000);
})();
