// Enrolment progress on the person page: poll the progress JSON and update each photo's status
// and the training state, without reloading the page.
(function () {
  "use strict";
  const panel = document.getElementById("enrolment-progress");
  if (!panel) return;
  const url = panel.dataset.url;
  const stateEl = document.getElementById("enrolment-state");
  const trainingEl = document.getElementById("training-state");

  function trainingText(t) {
    const r = t.reembedding;
    if (r && r.pending > 0) {
      return "Face model updated: re-embedding enrolled photos (" + r.done + " done, " + r.pending +
        " to go); the previous recogniser keeps recognising until then.";
    }
    if (t.running) return "Training a new recogniser version…";
    if (t.pending_changes) return "Changes waiting: training starts in a few seconds.";
    if (t.active) return "Recogniser v" + t.active.id + " active (" + t.active.people_count + " people, threshold " +
      Number(t.active.threshold).toFixed(2) + ").";
    return "No recogniser trained yet.";
  }

  async function poll() {
    let busy = false;
    try {
      const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (!response.ok) throw new Error(response.status);
      const data = await response.json();
      stateEl.textContent = data.state_label + ": " + data.accepted + " accepted photo(s) of at least " +
        data.min_photos + (data.waiting ? ", " + data.waiting + " being checked" : "") +
        (data.possible_duplicate_of ? ". Possible duplicate of " + data.possible_duplicate_of +
          ": photos kept out of recognition until checked (see Possible duplicate below)" : "") + ".";
      trainingEl.textContent = trainingText(data.training);
      for (const photo of data.photos) {
        const badge = document.querySelector('.photo-status[data-photo-id="' + photo.id + '"]');
        if (badge && badge.textContent !== photo.status_label) {
          badge.textContent = photo.status_label;
          badge.className = "photo-status status-" + photo.status;
          const row = badge.closest("tr");
          const reason = row && row.querySelector("td.field-rejection_reason");
          if (reason) reason.textContent = photo.reason || "";
          const thumb = document.querySelector('img.face-thumb[data-photo-id="' + photo.id + '"]');
          if (thumb) thumb.src = photo.thumbnail_url + "?v=" + photo.status;
        }
      }
      busy = data.waiting > 0 || data.training.running || data.training.pending_changes ||
        (data.training.reembedding && data.training.reembedding.pending > 0);
    } catch (err) {
      trainingEl.textContent = "Progress unavailable (" + err.message + "); retrying.";
      busy = true;
    }
    setTimeout(poll, busy ? 1500 : 8000);
  }
  poll();
})();
