// The new request form, made more comfortable. Without this script the
// form still works: every section shows, and the server checks the rest.
// With it, the form shows what the chosen type needs, offers emergency
// only for faults, lists the chosen product's installations, and says
// when work starts for an emergency outside the plan's hours.
(function () {
  "use strict";

  function checked(form, name) {
    var el = form.querySelector("input[name=" + name + "]:checked");
    return el ? el.value : "";
  }

  function update(form) {
    var type = checked(form, "type");
    var fault = type === "fault" || type === "";
    form.querySelectorAll(".fault-only").forEach(function (el) {
      el.hidden = !fault;
      el.querySelectorAll("textarea, input").forEach(function (f) { f.disabled = !fault; });
    });
    var emergency = form.querySelector("input[name=priority][value=emergency]");
    if (emergency) {
      emergency.disabled = !fault;
      emergency.closest("label").hidden = !fault;
      if (!fault && emergency.checked) {
        var normal = form.querySelector("input[name=priority][value=normal]");
        if (normal) { normal.checked = true; }
      }
    }
    var product = form.querySelector("#product_id");
    var pid = product ? product.value : "";
    var instance = form.querySelector("#instance_id");
    if (instance) {
      instance.querySelectorAll("option[data-product]").forEach(function (o) {
        var other = pid !== "" && o.getAttribute("data-product") !== pid;
        o.hidden = other;
        o.disabled = other;
        if (other && o.selected) { instance.value = ""; }
      });
    }
    var prio = checked(form, "priority");
    form.querySelectorAll(".starts-note").forEach(function (n) {
      n.hidden = !(prio === "emergency" && n.getAttribute("data-product") === pid);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("new-request");
    if (!form) { return; }
    form.addEventListener("change", function () { update(form); });
    update(form);
  });
})();
