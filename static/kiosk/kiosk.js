// The check-in kiosk: camera preview, frame capture when someone is likely in view, and the
// outcome in large type. Standard web APIs only (getUserMedia, canvas.toBlob, fetch), no libraries.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("kiosk-config").textContent);
  const TOKEN_KEY = "attendance.kioskToken";
  const FAST_MS = 350; // someone is in view: at most about three frames a second
  const SLOW_MS = 2000; // quiet scene: an occasional look
  const FACE_RECENT_MS = 4000; // keep the fast pace this long after a face was seen
  const HOLD_MS = 5000; // how long a final outcome stays on screen (and no frame is sent)
  const ARMED_MS = 15000; // an "in"/"out" button press lasts this long
  const MOTION_THRESHOLD = 6; // mean absolute luma change (0-255) on a 32x24 thumbnail
  const POST_TIMEOUT_MS = 5000;
  const IDLE_TEXT = "Look at the camera to check in or out";
  // Liveness challenge: frames looking ahead, then for each asked turn a moment to read it and a burst.
  const CHALLENGE_FRAME_MS = 300; // about three frames a second
  const CHALLENGE_LEAD_FRAMES = 2;
  const CHALLENGE_READ_MS = 600;
  const CHALLENGE_STEP_FRAMES = 4;
  const ARROWS = { left: "\u2190 ", right: "\u2192 " }; // the preview is mirrored: your left is on the left

  const body = document.body;
  const video = document.getElementById("preview");
  const canvas = document.getElementById("frame");
  const messageEl = document.getElementById("message");
  const detailEl = document.getElementById("detail");
  const btnIn = document.getElementById("btn-in");
  const btnOut = document.getElementById("btn-out");
  const btnFull = document.getElementById("btn-full");
  const thumb = document.createElement("canvas");
  thumb.width = 32;
  thumb.height = 24;
  const thumbCtx = thumb.getContext("2d", { willReadFrequently: true });

  let token = localStorage.getItem(TOKEN_KEY);
  let stream = null;
  let cameraOk = false;
  let inFlight = false;
  let lastSentAt = 0;
  let lastFaceAt = 0;
  let holdUntil = 0;
  let pauseUntil = 0;
  let failures = 0;
  let previousLuma = null;
  let requested = "";
  let requestedUntil = 0;
  let idleTimer = null;
  let challengeActive = false;
  let challengeCancelled = false;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const now = () => performance.now();

  function show(message, detail, tone, state) {
    messageEl.textContent = message;
    detailEl.textContent = detail || "";
    body.dataset.tone = tone || "";
    if (state) body.dataset.state = state;
    clearTimeout(idleTimer);
    if (tone) idleTimer = setTimeout(showIdle, HOLD_MS);
  }

  function showIdle() {
    if (!cameraOk || !token || challengeActive) return;
    const armed = requested && now() < requestedUntil;
    show(armed ? (requested === "in" ? "Checking in: look at the camera" : "Checking out: look at the camera")
      : IDLE_TEXT, "", "", "idle");
  }

  // --- camera ---

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show("This browser cannot use a camera", "Use a current Chromium, Firefox or Safari over HTTPS.", "error", "no-camera");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
        audio: false,
      });
      video.srcObject = stream;
      await video.play();
      stream.getVideoTracks().forEach((track) => track.addEventListener("ended", cameraLost));
      cameraOk = true;
      showIdle();
    } catch (err) {
      cameraOk = false;
      show("Camera unavailable", "Retrying… (" + (err && err.name ? err.name : "error") + ")", "error", "no-camera");
      setTimeout(startCamera, 3000);
    }
  }

  function cameraLost() {
    cameraOk = false;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    show("Camera disconnected", "Reconnecting…", "error", "no-camera");
    setTimeout(startCamera, 2000);
  }

  // A cheap "is someone likely there" signal: how much a tiny grey thumbnail changed.
  function motionScore() {
    if (!video.videoWidth) return 0;
    thumbCtx.drawImage(video, 0, 0, thumb.width, thumb.height);
    const pixels = thumbCtx.getImageData(0, 0, thumb.width, thumb.height).data;
    const luma = new Float32Array(thumb.width * thumb.height);
    for (let i = 0; i < luma.length; i++) {
      luma[i] = 0.299 * pixels[4 * i] + 0.587 * pixels[4 * i + 1] + 0.114 * pixels[4 * i + 2];
    }
    let score = 0;
    if (previousLuma) {
      for (let i = 0; i < luma.length; i++) score += Math.abs(luma[i] - previousLuma[i]);
      score /= luma.length;
    } else {
      score = 255; // first look: worth a frame
    }
    previousLuma = luma;
    return score;
  }

  function captureJpeg() {
    const scale = Math.min(1, 640 / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  }

  // --- API ---

  async function api(url, options, timeoutMs) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs || POST_TIMEOUT_MS);
    try {
      const headers = Object.assign({ Authorization: "Kiosk " + token, Accept: "application/json" },
        options.headers || {});
      return await fetch(url, Object.assign({}, options, { headers, signal: controller.signal, cache: "no-store" }));
    } finally {
      clearTimeout(timer);
    }
  }

  async function reason(response) {
    try {
      const data = await response.json();
      return data.detail || JSON.stringify(data);
    } catch (err) {
      return response.statusText;
    }
  }

  function backOff(ms) {
    pauseUntil = now() + ms;
  }

  async function sendFrame() {
    const blob = await captureJpeg();
    if (!blob) return;
    const form = new FormData();
    form.append("frame", blob, "frame.jpg");
    const armed = requested && now() < requestedUntil;
    form.append("kind", armed ? requested : "");
    lastSentAt = now();
    body.classList.add("waiting");
    try {
      const response = await api(cfg.checkinUrl, { method: "POST", body: form });
      if (response.status === 202) {
        failures = 0;
        const attempt = await response.json();
        await waitForResult(attempt.status_url, lastSentAt);
      } else {
        await refused(response);
      }
    } catch (err) {
      failures += 1;
      show("Connection lost", "Retrying…", "error", "offline");
      backOff(Math.min(10000, 500 * 2 ** Math.min(failures, 5)));
    } finally {
      body.classList.remove("waiting");
    }
  }

  async function refused(response) {
    const why = await reason(response);
    if (response.status === 401 || response.status === 403) {
      show(response.status === 403 ? "This kiosk has been revoked" : "This kiosk is not registered", why, "error",
        "unauthorised");
      document.getElementById("unregistered").hidden = false;
      backOff(30000);
    } else if (response.status === 429) {
      const seconds = Number(response.headers.get("Retry-After")) || 1;
      backOff(seconds * 1000);
    } else if (response.status >= 500) {
      show("System busy", "Please try again in a moment", "warning", "busy");
      backOff(3000);
    } else {
      detailEl.textContent = why; // a bad frame: try the next one
    }
  }

  async function waitForResult(url, sentAt, timeoutMs) {
    let delay = 60;
    for (;;) {
      await sleep(delay);
      delay = Math.min(200, delay + 20);
      const response = await api(url, { method: "GET" });
      if (response.status !== 200) {
        await refused(response);
        return;
      }
      const attempt = await response.json();
      if (attempt.state !== "pending") {
        await outcome(attempt);
        return;
      }
      if (now() - sentAt > (timeoutMs || cfg.busyTimeoutMs)) {
        show("System busy", "Please wait a moment or see HR", "warning", "busy");
        backOff(3000);
        return;
      }
    }
  }

  function disarm() {
    requested = "";
    requestedUntil = 0;
    btnIn.setAttribute("aria-pressed", "false");
    btnOut.setAttribute("aria-pressed", "false");
  }

  async function outcome(attempt) {
    body.dataset.outcome = attempt.outcome || attempt.state;
    if (attempt.state === "expired" || attempt.state === "failed") {
      show("System busy", "Please try again in a moment", "warning", "busy");
      backOff(3000);
      return;
    }
    switch (attempt.outcome) {
      case "checked_in":
      case "checked_out":
        show(attempt.message, "", "success", "recorded");
        holdUntil = now() + HOLD_MS;
        disarm();
        break;
      case "already":
        show(attempt.message, "", "info", "already");
        holdUntil = now() + HOLD_MS;
        disarm();
        break;
      case "confirming":
        lastFaceAt = now();
        show("Hold still…", "", "", "confirming");
        break;
      case "unknown":
        lastFaceAt = now();
        show("Not recognised: please try again or see HR", "", "warning", "unknown");
        break;
      case "challenge":
        await runChallenge(attempt.challenge);
        break;
      case "liveness_failed":
        show(attempt.message || "Could not confirm: please try again", "", "warning", "liveness-failed");
        holdUntil = now() + 2000;
        break;
      case "no_face":
        if (now() - lastFaceAt < FACE_RECENT_MS) show("Please look at the camera", "", "", "no-face");
        break;
      default:
        show(attempt.message || "System busy", "", "warning", "busy");
    }
  }

  // --- liveness challenge: show each instruction large, capture a short burst, send it in one request ---

  async function runChallenge(challenge) {
    if (!challenge) return;
    challengeActive = true;
    challengeCancelled = false;
    const frames = [];
    const capture = async () => {
      if (!cameraOk || challengeCancelled) return false;
      const blob = await captureJpeg();
      if (blob) frames.push(blob);
      return true;
    };
    try {
      const steps = challenge.instructions.length;
      show("Look straight at the camera", "Then follow the instructions on screen", "challenge", "challenge");
      for (let i = 0; i < CHALLENGE_LEAD_FRAMES; i++) {
        await sleep(CHALLENGE_FRAME_MS);
        if (!(await capture())) return abandonChallenge();
      }
      for (let s = 0; s < steps; s++) {
        const arrow = ARROWS[challenge.steps[s]] || "";
        show(arrow + challenge.instructions[s], "Step " + (s + 1) + " of " + steps, "challenge", "challenge");
        await sleep(CHALLENGE_READ_MS);
        for (let i = 0; i < CHALLENGE_STEP_FRAMES; i++) {
          if (!(await capture())) return abandonChallenge();
          await sleep(CHALLENGE_FRAME_MS);
        }
      }
      show("Checking\u2026", "Thank you, look at the camera again", "", "checking");
      const form = new FormData();
      frames.slice(0, challenge.max_frames || frames.length).forEach((blob, i) => {
        form.append("frames", blob, "frame" + i + ".jpg");
      });
      const sentAt = now();
      const response = await api(challenge.answer_url, { method: "POST", body: form }, POST_TIMEOUT_MS * 3);
      if (response.status === 202) {
        const attempt = await response.json();
        challengeActive = false;
        await waitForResult(attempt.status_url, sentAt, cfg.livenessTimeoutMs);
      } else if (response.status === 410 || response.status === 409) {
        challengeActive = false;
        show("Too slow: please try again", await reason(response), "warning", "liveness-failed");
        holdUntil = now() + 2000;
      } else {
        challengeActive = false;
        await refused(response);
      }
    } finally {
      challengeActive = false;
    }
  }

  function abandonChallenge() {
    challengeActive = false;
    // A lost camera already says so; a cancelled challenge goes back to the idle screen.
    if (cameraOk) showIdle();
  }

  // --- the loop ---

  async function tick() {
    try {
      const t = now();
      if (token && cameraOk && !inFlight && t >= holdUntil && t >= pauseUntil && video.videoWidth) {
        const moving = motionScore() > MOTION_THRESHOLD;
        const armed = requested && t < requestedUntil;
        const interval = moving || armed || t - lastFaceAt < FACE_RECENT_MS ? FAST_MS : SLOW_MS;
        if (t - lastSentAt >= interval) {
          inFlight = true;
          try {
            await sendFrame();
          } finally {
            inFlight = false;
          }
        }
      }
    } finally {
      setTimeout(tick, 100);
    }
  }

  // --- buttons and keys (usable without a mouse) ---

  function arm(kind) {
    requested = kind;
    requestedUntil = now() + ARMED_MS;
    holdUntil = 0;
    btnIn.setAttribute("aria-pressed", String(kind === "in"));
    btnOut.setAttribute("aria-pressed", String(kind === "out"));
    showIdle();
  }

  function fullScreen() {
    if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(() => {});
    }
  }

  btnIn.addEventListener("click", () => arm("in"));
  btnOut.addEventListener("click", () => arm("out"));
  btnFull.addEventListener("click", fullScreen);
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    if (key === "i") arm("in");
    else if (key === "o") arm("out");
    else if (key === "f") fullScreen();
    else if (key === "escape") { challengeCancelled = true; disarm(); showIdle(); }
  });
  window.addEventListener("online", () => { pauseUntil = 0; });

  if (!token) {
    show("This browser is not registered as a kiosk", "", "error", "unregistered");
    document.getElementById("unregistered").hidden = false;
    btnIn.disabled = true;
    btnOut.disabled = true;
  }
  startCamera().then(() => { if (!token) show("This browser is not registered as a kiosk", "", "error", "unregistered"); });
  tick();
})();
