// A zip import being checked: fetch this page again every 2 s and swap in its status block, until
// the import is saved or refused (no page reload, so nothing flickers and focus stays put).
(function () {
  "use strict";
  const block = document.getElementById("zip-import");
  if (!block) return;

  async function poll() {
    try {
      const response = await fetch(window.location.href, {credentials: "same-origin", cache: "no-store"});
      if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("zip-import");
        if (fresh) {
          block.innerHTML = fresh.innerHTML;
          block.dataset.status = fresh.dataset.status;
        }
      }
    } catch (error) {
      // the server may be restarting: try again at the next tick
    }
    if (block.dataset.status === "checking") {
      window.setTimeout(poll, 2000);
    } else {
      // The upload's "being checked" message is out of date once the import is saved or refused.
      document.querySelectorAll(".messagelist").forEach((list) => list.remove());
    }
  }
  window.setTimeout(poll, 2000);
})();
