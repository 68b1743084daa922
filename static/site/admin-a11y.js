// Accessible names for the admin's own widgets that Django leaves unlabelled (found by axe-core,
// tests/e2e/test_axe_browser.py): fields in tabular inlines (labelled by their column header), the
// date and time halves of a date-time field, autocomplete boxes (select2) and the filter's help icon.
(function () {
  "use strict";

  function labelText(id) {
    const label = id && document.querySelector('label[for="' + id + '"]');
    return label ? label.textContent.replace(/[:*]\s*$/, "").trim() : "";
  }

  function name(element, text) {
    if (text && !element.hasAttribute("aria-label") && !element.labels?.length) {
      element.setAttribute("aria-label", text);
    }
  }

  function fix() {
    document.querySelectorAll(".inline-group .tabular table").forEach(function (table) {
      const heads = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent.trim());
      table.querySelectorAll("tbody tr").forEach(function (row, index) {
        Array.from(row.children).forEach(function (cell, column) {
          const head = heads[column - (row.children.length - heads.length)] || "";
          cell.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (field) {
            name(field, head ? head.replace(/\?$/, "") + ", row " + (index + 1) : "");
          });
        });
      });
    });
    document.querySelectorAll("p.datetime").forEach(function (block) {
      const inputs = block.querySelectorAll("input");
      const field = inputs.length ? labelText(inputs[0].id.replace(/_[01]$/, "")) ||
        labelText(inputs[0].id) : "";
      inputs.forEach(function (input) {
        name(input, (field ? field + ", " : "") + (input.id.endsWith("_1") ? "time" : "date"));
      });
    });
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      const box = select.parentElement.querySelector(".select2-selection");
      if (!box) return;
      const text = labelText(select.id) || "Choose";
      [box, ...box.querySelectorAll("[role=textbox]")].forEach(function (part) {
        if (!part.getAttribute("aria-label")) part.setAttribute("aria-label", text);
      });
    });
    document.querySelectorAll(".help-tooltip[aria-label], .help-tooltip[title]").forEach(function (icon) {
      if (!icon.getAttribute("role")) icon.setAttribute("role", "img");
    });
  }

  let queued = false;
  function later() {
    if (queued) return;
    queued = true;
    window.requestAnimationFrame(function () {
      queued = false;
      fix();
    });
  }
  document.addEventListener("DOMContentLoaded", fix);
  window.addEventListener("load", function () {
    fix();
    // "Add another" rows, select2 and the filter widgets appear after load.
    new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
  });
})();
