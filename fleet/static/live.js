// Territoire dashboard: live updates by server-sent events. Pages work without this file.
// Each "update" event is a JSON object from data-live names to text; elements with
// data-live="name" get the text, elements with data-live-state="name" get data-state.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var url = main && main.getAttribute("data-live-url");
  if (!url || !window.EventSource) {
    return;
  }
  var note = document.getElementById("live-status");
  var connected = null;
  function say(on) {
    // the status region is announced by screen readers: only when the state changes
    if (note && connected !== on) {
      connected = on;
      note.setAttribute("data-connected", on ? "true" : "false");
      note.textContent = "· " + (note.getAttribute(on ? "data-text-on" : "data-text-off") || "");
    }
  }
  var source = new EventSource(url);
  source.addEventListener("open", function () { say(true); });
  source.addEventListener("error", function () { say(false); });
  source.addEventListener("update", function (event) {
    var values;
    try {
      values = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    Object.keys(values).forEach(function (name) {
      var text = String(values[name]);
      document.querySelectorAll('[data-live="' + CSS.escape(name) + '"]').forEach(function (el) {
        if (el.textContent !== text) {
          el.textContent = text;
        }
      });
      document.querySelectorAll('[data-live-state="' + CSS.escape(name) + '"]').forEach(function (el) {
        el.setAttribute("data-state", text);
      });
    });
    document.documentElement.setAttribute("data-live-updated", String(Date.now()));
  });
})();
