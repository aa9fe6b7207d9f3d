// tend's small scripts. Pages work without them; they add comfort:
// pasting or dropping screenshots into a file field, and live countdowns.
(function () {
  "use strict";

  // A file input marked data-drop accepts files dropped on its label area
  // and images pasted anywhere on the page.
  function wireDrop(input) {
    var zone = input.closest("[data-dropzone]") || input.parentElement;
    function add(files) {
      var dt = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (f) { dt.items.add(f); });
      Array.prototype.forEach.call(files, function (f) { dt.items.add(f); });
      input.files = dt.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("dragging");
      if (e.dataTransfer && e.dataTransfer.files.length) { add(e.dataTransfer.files); }
    });
    document.addEventListener("paste", function (e) {
      var items = (e.clipboardData && e.clipboardData.files) || [];
      if (items.length) { add(items); }
    });
    input.addEventListener("change", function () {
      var list = zone.querySelector("[data-file-list]");
      if (!list) { return; }
      list.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
    });
  }

  // The desk queue (#queue) refreshes itself every minute. htmx gives the
  // focus back to the element with the focused one's id; when that element
  // is gone (its request left the queue), the focus would fall to the top
  // of the page, so it goes to the queue itself instead.
  var queueHadFocus = false;
  document.addEventListener("htmx:beforeSwap", function (e) {
    var q = document.getElementById("queue");
    queueHadFocus = !!q && e.detail.target === q && q.contains(document.activeElement);
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!queueHadFocus) { return; }
    queueHadFocus = false;
    var a = document.activeElement;
    var q = document.getElementById("queue");
    if (q && (!a || a === document.body || !document.body.contains(a))) { q.focus({ preventScroll: true }); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[type=file][data-drop]").forEach(wireDrop);
  });
})();
