// Guided webcam enrolment: the browser's camera (getUserMedia), one shot per instruction, each
// shot posted to the server and its result shown as soon as the enrolment worker has checked it.
(function () {
  "use strict";
  const root = document.getElementById("webcam-enrol");
  if (!root) return;
  const video = document.getElementById("webcam-video");
  const canvas = document.getElementById("webcam-canvas");
  const button = document.getElementById("webcam-capture");
  const instruction = document.getElementById("webcam-instruction");
  const errorEl = document.getElementById("webcam-error");
  const stateEl = document.getElementById("enrolment-state");
  const shots = Array.from(document.querySelectorAll("#webcam-shots li"));
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const pending = new Map(); // photo id -> list item
  let current = 0;

  function showError(message) { errorEl.textContent = message; errorEl.hidden = !message; }

  function select(index) {
    current = index;
    shots.forEach((li, i) => li.classList.toggle("current", i === index));
    // After the last shot, the button retakes the first rejected one: say which pose it asks for.
    const retake = shots.find((li) => li.dataset.result === "rejected");
    instruction.textContent = index < shots.length ? shots[index].dataset.instruction
      : retake ? "Retake: " + retake.dataset.instruction.toLowerCase() + " (see why on the right)."
      : "All shots taken. Retake any rejected one, or click Done.";
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError("This browser cannot use a camera here (it needs HTTPS or localhost).");
      return;
    }
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: false});
      // Only once the camera delivers frames: a shot taken before that would be a blank image.
      const ready = () => { button.disabled = false; select(current); };
      if (video.readyState >= 2 && video.videoWidth) ready();
      else video.addEventListener("playing", ready, {once: true});
      select(0);
    } catch (err) {
      showError("The camera could not be started: " + err.message);
    }
  }

  async function capture() {
    const index = current < shots.length ? current : shots.findIndex((li) => li.dataset.result !== "accepted");
    if (index < 0) return;
    const li = shots[index];
    canvas.width = video.videoWidth || 640;
    canvas.height = video.videoHeight || 480;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
    const body = new FormData();
    body.append("shot", blob, li.dataset.shot + ".jpg");
    body.append("pose", li.dataset.shot); // the server checks the shot shows this pose
    li.querySelector(".shot-result").textContent = "sending…";
    button.disabled = true;
    try {
      const response = await fetch(root.dataset.shotUrl, {
        method: "POST", body, credentials: "same-origin", headers: {"X-CSRFToken": csrf},
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.status);
      li.dataset.photoId = data.id;
      li.dataset.result = "";
      pending.set(String(data.id), li);
      li.querySelector(".shot-result").textContent = "being checked…";
      showError("");
      select(index + 1 < shots.length ? index + 1 : shots.length);
      poll();
    } catch (err) {
      li.querySelector(".shot-result").textContent = "not sent";
      showError("The photo was not saved: " + err.message);
    } finally {
      button.disabled = false;
    }
  }

  let timer = null;
  async function poll() {
    clearTimeout(timer);
    if (!pending.size) return;
    const params = new URLSearchParams();
    pending.forEach((_, id) => params.append("photo", id));
    try {
      const response = await fetch(root.dataset.progressUrl + "?" + params, {credentials: "same-origin"});
      const data = await response.json();
      stateEl.textContent = data.state_label + ": " + data.accepted + " accepted photo(s).";
      for (const photo of data.photos) {
        const li = pending.get(String(photo.id));
        if (!li || photo.status === "pending" || photo.status === "processing") continue;
        pending.delete(String(photo.id));
        li.dataset.result = photo.status;
        const result = li.querySelector(".shot-result");
        result.className = "shot-result " + photo.status;
        result.textContent = photo.status === "accepted" ? "accepted" : "rejected: " + photo.reason;
        let img = li.querySelector("img");
        if (!img) { img = document.createElement("img"); li.appendChild(img); }
        img.src = photo.thumbnail_url;
        img.alt = "Shot " + li.dataset.shot;
      }
    } catch (err) {
      showError("Progress unavailable: " + err.message);
    }
    if (current >= shots.length) select(current); // a shot just rejected becomes the one to retake
    if (pending.size) timer = setTimeout(poll, 1000);
  }

  button.addEventListener("click", capture);
  shots.forEach((li, i) => li.addEventListener("click", () => select(i)));
  start();
})();
