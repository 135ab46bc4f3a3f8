// Backorder badge: shows "Backorder: ships by …" next to a product form's add-to-cart button.
// Load it through the app proxy on a product template:
//   <script src="/apps/backorder/badge.js" defer></script>
// It asks /apps/backorder/availability for the selected variant, and again when it changes.
(function () {
  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/badge\.js(\?.*)?$/, "") : "/apps/backorder/";
  var forms = document.querySelectorAll('form[action*="/cart/add"]');
  Array.prototype.forEach.call(forms, function (form) {
    var input = form.querySelector('[name="id"]');
    var button = form.querySelector('[type="submit"]');
    if (!input || !button) return;
    var badge = document.createElement("p");
    badge.className = "backorder-badge";
    badge.setAttribute("aria-live", "polite");
    button.insertAdjacentElement("afterend", badge);
    function update() {
      badge.textContent = "";
      var id = String(input.value || "").replace(/[^0-9]/g, "");
      if (!id) return;
      fetch(base + "availability?variant_id=" + id, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (a) {
          if (!a || String(input.value).replace(/[^0-9]/g, "") !== id) return;
          badge.textContent = a.status === "backorder" ? a.message : "";
          badge.hidden = a.status !== "backorder";
        })
        .catch(function () {});
    }
    input.addEventListener("change", update);
    form.addEventListener("change", update);
    update();
  });
})();
