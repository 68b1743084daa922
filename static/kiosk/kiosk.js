// The check-in kiosk: camera preview, frame capture when someone is likely in view, and the
// outcome in large type. Standard web APIs only (getUserMedia, canvas.toBlob, fetch), no libraries.
//
// Everything the kiosk says and how it shows each outcome comes from the server (the "kiosk-config"
// JSON block, built by attendance/checkin/outcomes.py): `cfg.outcomes` maps an attempt's state or
// outcome code to its row (tone, screen, hold_ms, pause_ms, disarm, face_seen, quiet_after_ms,
// challenge, text, detail) and `cfg.texts` holds the kiosk's own sentences. This file holds no
// outcome code and no sentence; all it remembers between frames is in the one `kiosk` object.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("kiosk-config").textContent);
  const OUTCOMES = cfg.outcomes;
  const TEXTS = cfg.texts;
  const CHALLENGE = OUTCOMES.challenge; // how the screen looks while a challenge is asked
  // An outcome code this page does not know (a newer server): say it as a fault would be said.
  const UNKNOWN_OUTCOME = { tone: "warning", screen: "busy" };
  const TOKEN_KEY = "attendance.kioskToken";
  const FAST_MS = 350; // someone is in view: at most about three frames a second
  const SLOW_MS = 2000; // quiet scene: an occasional look
  const FACE_RECENT_MS = 4000; // keep the fast pace this long after a face was seen
  const IDLE_AFTER_MS = 5000; // how long a coloured message stays before the idle screen returns
  const ARMED_MS = 15000; // an "in"/"out" button press lasts this long
  const PIN_OFFER_MS = 20000; // "Use a PIN" stays this long after a face was not recognised
  const MOTION_THRESHOLD = 6; // mean absolute luma change (0-255) on a 32x24 thumbnail
  const POST_TIMEOUT_MS = 5000;
  const POLL_WAIT_S = 2; // a result poll waits this long on the server for the outcome (long polling)
  const BUSY_PAUSE_MS = 3000;
  // Liveness challenge: frames looking ahead, then for each asked turn frames from the moment its
  // instruction shows (about 600 ms to read it, then the turn), without a gap and fast enough to see
  // the head part way: the server checks that it passes through the angles in between (a head turning
  // in under a second was often seen only before and after at 300 ms between frames).
  const CHALLENGE_FRAME_MS = 150; // about seven frames a second
  const CHALLENGE_LEAD_FRAMES = 4;
  const CHALLENGE_STEP_FRAMES = 12; // 1.8 s per asked turn: 4 + 2 x 12 = 28 frames
  const ARROWS = { left: "\u2190 ", right: "\u2192 " }; // the preview is mirrored: your left is on the left

  const body = document.body;
  const video = document.getElementById("preview");
  const canvas = document.getElementById("frame");
  const messageEl = document.getElementById("message");
  const detailEl = document.getElementById("detail");
  const btnIn = document.getElementById("btn-in");
  const btnOut = document.getElementById("btn-out");
  const btnFull = document.getElementById("btn-full");
  const unregisteredEl = document.getElementById("unregistered");
  const choicesEl = document.getElementById("choices");
  const btnPin = document.getElementById("btn-pin");
  const pinPad = document.getElementById("pin-pad");
  const pinEmployee = document.getElementById("pin-employee");
  const pinCode = document.getElementById("pin-code");
  const thumb = document.createElement("canvas");
  thumb.width = 32;
  thumb.height = 24;
  const thumbCtx = thumb.getContext("2d", { willReadFrequently: true });

  // The kiosk's whole state. Times are performance.now() milliseconds.
  const kiosk = {
    token: localStorage.getItem(TOKEN_KEY),
    stream: null,
    cameraOk: false,
    inFlight: false, // a frame (or a challenge answer) is on its way or waiting for its result
    lastSentAt: 0,
    lastFaceAt: 0,
    holdUntil: 0, // a result is on screen: send nothing before
    pauseUntil: 0, // the server asked for a pause (busy, rate limit, revoked): send nothing before
    failures: 0, // network failures in a row, for the back-off
    previousLuma: null,
    armed: { kind: "", until: 0 }, // an explicit "in" or "out" button press
    idleTimer: null,
    challenge: { active: false, cancelled: false },
    choice: null, // an explicit kiosk waits for the person's choice: { pick(kind), cancel() }
    pinOffered: 0, // "Use a PIN" is offered until then, after a face that was not recognised
    pinOpen: false, // the PIN keypad is on screen: no frames are sent
  };

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const now = () => performance.now();
  const armedKind = () => (kiosk.armed.kind && now() < kiosk.armed.until ? kiosk.armed.kind : "");

  // --- what the screen says ---

  function show(message, detail, tone, screen) {
    messageEl.textContent = message;
    detailEl.textContent = detail || "";
    body.dataset.tone = tone || "";
    if (screen) body.dataset.state = screen;
    clearTimeout(kiosk.idleTimer);
    // Any message but the idle prompt gives way to it after a while (an empty scene sends no answer).
    if (tone || (screen && screen !== "idle")) kiosk.idleTimer = setTimeout(showIdle, IDLE_AFTER_MS);
  }

  // A short beep (WebAudio, no sound file) when an event is recorded or found already recorded.
  function beep(kind) {
    const AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext) return;
    try {
      kiosk.audio = kiosk.audio || new AudioContext();
      const ctx = kiosk.audio;
      if (ctx.state === "suspended") ctx.resume().catch(() => {});
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = kind === "success" ? 880 : 660;
      gain.gain.setValueAtTime(0.2, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.2);
      body.dataset.beeps = String(Number(body.dataset.beeps || 0) + 1);
    } catch (err) {
      // no sound is better than no kiosk
    }
  }

  // "Ana · E-042 · 08:12": who was recognised, with the event's time in the site's zone (from the server).
  function whoLine(attempt) {
    if (!attempt.first_name || !attempt.employee_id) return "";
    const template = attempt.event_local_time ? TEXTS.who : TEXTS.who_no_time;
    return template.replace("{name}", attempt.first_name).replace("{employee_id}", attempt.employee_id)
      .replace("{time}", attempt.event_local_time || "");
  }

  function showIdle() {
    if (!kiosk.cameraOk || !kiosk.token || kiosk.challenge.active || kiosk.choice || kiosk.pinOpen) return;
    btnPin.hidden = now() >= kiosk.pinOffered;
    const kind = armedKind();
    show(kind ? TEXTS["armed_" + kind] : TEXTS.idle, "", "", "idle");
  }

  function pause(ms) {
    kiosk.pauseUntil = now() + ms;
  }

  function busy(detail) {
    show(TEXTS.busy, detail, "warning", "busy");
    pause(BUSY_PAUSE_MS);
  }

  function showUnregistered(revoked, detail) {
    // Revoked: one sentence and what follows from it, no buttons (hidden by the page's style).
    show(revoked ? TEXTS.revoked : kiosk.token ? TEXTS.not_registered : TEXTS.unregistered,
      revoked ? TEXTS.revoked_detail : detail, "error", kiosk.token ? "unauthorised" : "unregistered");
    unregisteredEl.hidden = false;
  }

  // Show what an attempt led to, from the server's outcome table.
  async function showOutcome(attempt) {
    if (kiosk.pinOpen) {
      // Somebody is typing a PIN: the late answer to a frame sent before the keypad opened must not
      // replace the keypad's messages, unless it recorded their attendance (then the keypad can go).
      if (!attempt.event_kind) return;
      closePin();
    }
    const row = OUTCOMES[attempt.state] || OUTCOMES[attempt.outcome] || UNKNOWN_OUTCOME;
    body.dataset.outcome = attempt.outcome || attempt.state;
    if (row.challenge) {
      await runChallenge(attempt.challenge);
      return;
    }
    if (row.choice) {
      await runChoice(attempt, row);
      return;
    }
    const t = now();
    if (row.quiet_after_ms && t - kiosk.lastFaceAt >= row.quiet_after_ms) {
      // Nobody is there: back to the idle prompt once a result's hold is over.
      if (body.dataset.state !== "idle" && t >= kiosk.holdUntil) showIdle();
      return;
    }
    if (row.face_seen) kiosk.lastFaceAt = t;
    const message = row.text ? TEXTS[row.text] : attempt.message || TEXTS.busy;
    const detail = row.detail ? TEXTS[row.detail] : row.who ? whoLine(attempt) : "";
    show(message, detail, row.tone, row.screen);
    if (row.beep) beep(row.beep);
    if (row.offer_pin) {
      kiosk.pinOffered = t + PIN_OFFER_MS;
      btnPin.hidden = false;
    }
    if (row.hold_ms) kiosk.holdUntil = t + row.hold_ms;
    if (row.pause_ms) pause(row.pause_ms);
    if (row.disarm) disarm();
  }

  // --- camera ---

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show(TEXTS.no_camera_api, TEXTS.no_camera_api_detail, "error", "no-camera");
      return;
    }
    try {
      kiosk.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
        audio: false,
      });
      video.srcObject = kiosk.stream;
      await video.play();
      kiosk.stream.getVideoTracks().forEach((track) => track.addEventListener("ended", cameraLost));
      kiosk.cameraOk = true;
      showIdle();
    } catch (err) {
      kiosk.cameraOk = false;
      show(TEXTS.camera_unavailable, TEXTS.retrying + " (" + (err && err.name ? err.name : "error") + ")",
        "error", "no-camera");
      setTimeout(startCamera, 3000);
    }
  }

  function cameraLost() {
    kiosk.cameraOk = false;
    if (kiosk.stream) kiosk.stream.getTracks().forEach((track) => track.stop());
    show(TEXTS.camera_lost, TEXTS.reconnecting, "error", "no-camera");
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
    let score = 255; // first look: worth a frame
    if (kiosk.previousLuma) {
      score = 0;
      for (let i = 0; i < luma.length; i++) score += Math.abs(luma[i] - kiosk.previousLuma[i]);
      score /= luma.length;
    }
    kiosk.previousLuma = luma;
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
      const headers = Object.assign({ Authorization: "Kiosk " + kiosk.token, Accept: "application/json" },
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

  // Post a form (one frame, or a challenge's burst) and show what it led to; `sentAt` starts the wait.
  async function postAndWait(url, form, { postTimeoutMs, resultTimeoutMs, onConflict } = {}) {
    const sentAt = now();
    const response = await api(url, { method: "POST", body: form }, postTimeoutMs);
    if (response.status === 202) {
      kiosk.failures = 0;
      const attempt = await response.json();
      await waitForResult(attempt.status_url, sentAt, resultTimeoutMs || cfg.busyTimeoutMs);
    } else if (onConflict && (response.status === 409 || response.status === 410)) {
      await onConflict(response);
    } else {
      await refused(response);
    }
  }

  async function sendFrame() {
    const blob = await captureJpeg();
    if (!blob) return;
    const form = new FormData();
    form.append("frame", blob, "frame.jpg");
    form.append("kind", armedKind());
    kiosk.lastSentAt = now();
    body.classList.add("waiting");
    try {
      await postAndWait(cfg.checkinUrl, form);
    } catch (err) {
      kiosk.failures += 1;
      show(TEXTS.offline, TEXTS.retrying, "error", "offline");
      pause(Math.min(10000, 500 * 2 ** Math.min(kiosk.failures, 5)));
    } finally {
      body.classList.remove("waiting");
    }
  }

  async function refused(response) {
    const why = await reason(response);
    if (response.status === 401 || response.status === 403) {
      showUnregistered(response.status === 403, why);
      pause(30000);
    } else if (response.status === 429) {
      pause((Number(response.headers.get("Retry-After")) || 1) * 1000);
    } else if (response.status >= 500) {
      busy(TEXTS.busy_detail);
    } else {
      detailEl.textContent = why; // a bad frame: try the next one
    }
  }

  // Each poll waits on the server (up to POLL_WAIT_S) until the worker has the outcome, so one request
  // usually carries it; a poll that comes back pending at once (the server could not wait) pauses first.
  async function waitForResult(url, sentAt, timeoutMs) {
    const waitUrl = url + (url.indexOf("?") >= 0 ? "&" : "?") + "wait=" + POLL_WAIT_S;
    for (;;) {
      const asked = now();
      const response = await api(waitUrl, { method: "GET" }, POLL_WAIT_S * 1000 + POST_TIMEOUT_MS);
      if (response.status !== 200) {
        await refused(response);
        return;
      }
      const attempt = await response.json();
      if (attempt.state !== "pending") {
        await showOutcome(attempt);
        return;
      }
      if (now() - sentAt > timeoutMs) {
        busy(TEXTS.busy_wait_detail);
        return;
      }
      if (now() - asked < 100) await sleep(150);
    }
  }

  function disarm() {
    kiosk.armed = { kind: "", until: 0 };
    btnIn.setAttribute("aria-pressed", "false");
    btnOut.setAttribute("aria-pressed", "false");
  }

  // --- liveness challenge: show each instruction large, capture a short burst, send it in one request ---

  async function runChallenge(challenge) {
    if (!challenge) return;
    kiosk.challenge = { active: true, cancelled: false };
    const frames = [];
    const capture = async () => {
      if (!kiosk.cameraOk || kiosk.challenge.cancelled) return false;
      const blob = await captureJpeg();
      if (blob) frames.push(blob);
      return true;
    };
    try {
      const steps = challenge.instructions.length;
      show(TEXTS.challenge_start, TEXTS.challenge_start_detail, CHALLENGE.tone, CHALLENGE.screen);
      for (let i = 0; i < CHALLENGE_LEAD_FRAMES; i++) {
        await sleep(CHALLENGE_FRAME_MS);
        if (!(await capture())) return abandonChallenge();
      }
      for (let s = 0; s < steps; s++) {
        const arrow = ARROWS[challenge.steps[s]] || "";
        const step = TEXTS.challenge_step.replace("{n}", s + 1).replace("{total}", steps);
        show(arrow + challenge.instructions[s], step, CHALLENGE.tone, CHALLENGE.screen);
        for (let i = 0; i < CHALLENGE_STEP_FRAMES; i++) {
          await sleep(CHALLENGE_FRAME_MS);
          if (!(await capture())) return abandonChallenge();
        }
      }
      show(TEXTS.checking, TEXTS.checking_detail, "", "checking");
      const form = new FormData();
      frames.slice(0, challenge.max_frames || frames.length).forEach((blob, i) => {
        form.append("frames", blob, "frame" + i + ".jpg");
      });
      form.append("nonce", challenge.nonce || "");
      kiosk.challenge.active = false;
      await postAndWait(challenge.answer_url, form, {
        postTimeoutMs: POST_TIMEOUT_MS * 3,
        resultTimeoutMs: cfg.livenessTimeoutMs,
        onConflict: async (response) => {
          // Answered too late, too fast or twice: shown like a failed check, with the server's reason.
          const row = OUTCOMES.liveness_failed;
          const heading = response.status === 410 ? TEXTS.too_slow : TEXTS.not_confirmed;
          show(heading, await reason(response), row.tone, row.screen);
          kiosk.holdUntil = now() + row.hold_ms;
        },
      });
    } finally {
      kiosk.challenge.active = false;
    }
  }

  // --- explicit kiosk: the person chooses; the likely choice is confirmed after a few seconds ---

  function runChoice(attempt, row) {
    const choice = attempt.choice;
    if (!choice) return Promise.resolve();
    return new Promise((resolve) => {
      let selected = choice.likely;
      let left = Math.max(1, Math.round(choice.confirm_after_ms / 1000));
      const buttons = {};
      choicesEl.replaceChildren();
      choice.kinds.forEach((kind) => {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.kind = kind;
        button.textContent = TEXTS["choice_" + kind] || kind;
        button.addEventListener("click", () => finish(kind));
        buttons[kind] = button;
        choicesEl.appendChild(button);
      });
      const countdown = () => {
        Object.entries(buttons).forEach(([kind, b]) => b.setAttribute("aria-pressed", String(kind === selected)));
        detailEl.textContent = TEXTS.choice_detail
          .replace("{choice}", TEXTS["choice_" + selected] || selected).replace("{seconds}", left);
      };
      show(attempt.message, "", row.tone, row.screen);
      clearTimeout(kiosk.idleTimer); // the countdown decides when this screen ends
      body.classList.remove("waiting");
      choicesEl.hidden = false;
      countdown();
      buttons[selected].focus();
      const timer = setInterval(() => {
        left -= 1;
        if (left <= 0) finish(selected);
        else countdown();
      }, 1000);
      let done = false;
      async function finish(kind) {
        if (done) return;
        done = true;
        clearInterval(timer);
        kiosk.choice = null;
        choicesEl.hidden = true;
        if (kind === null) {
          showIdle();
          resolve();
          return;
        }
        selected = kind;
        countdown();
        body.classList.add("waiting");
        try {
          const response = await api(choice.confirm_url, {
            method: "POST",
            body: JSON.stringify({ kind }),
            headers: { "Content-Type": "application/json" },
          });
          if (response.status === 200) {
            await showOutcome(await response.json());
          } else if (response.status === 409 || response.status === 410) {
            const failed = OUTCOMES.liveness_failed;
            show(TEXTS.too_slow, await reason(response), failed.tone, failed.screen);
            kiosk.holdUntil = now() + failed.hold_ms;
          } else {
            await refused(response);
          }
        } catch (err) {
          show(TEXTS.offline, TEXTS.retrying, "error", "offline");
        } finally {
          body.classList.remove("waiting");
          resolve();
        }
      }
      kiosk.choice = {
        pick: (kind) => { if (buttons[kind]) finish(kind); },
        move: (step) => {
          const kinds = choice.kinds;
          selected = kinds[(kinds.indexOf(selected) + step + kinds.length) % kinds.length];
          left = Math.max(left, 3);
          countdown();
          buttons[selected].focus();
        },
        cancel: () => finish(null),
      };
    });
  }

  // --- PIN fallback: employee id and PIN on a keypad, sent with a frame as evidence ---

  function openPin() {
    kiosk.pinOpen = true;
    pinPad.hidden = false;
    btnPin.hidden = true;
    pinEmployee.value = "";
    pinCode.value = "";
    show(TEXTS.pin, TEXTS.pin_detail, "", "pin");
    clearTimeout(kiosk.idleTimer);
    pinEmployee.focus();
  }

  function closePin() {
    kiosk.pinOpen = false;
    pinPad.hidden = true;
    kiosk.pinOffered = 0;
  }

  async function sendPin() {
    const blob = await captureJpeg();
    if (!blob) return;
    const form = new FormData();
    form.append("frame", blob, "frame.jpg");
    form.append("employee_id", pinEmployee.value.trim());
    form.append("pin", pinCode.value);
    form.append("kind", armedKind());
    body.classList.add("waiting");
    try {
      const response = await api(cfg.pinUrl, { method: "POST", body: form });
      if (response.status === 201) {
        closePin();
        await showOutcome(await response.json());
      } else if (response.status === 403 || response.status === 423 || response.status === 400) {
        // Not accepted (try again) or locked (the keypad closes); the server says which.
        const why = await reason(response);
        const locked = response.status === 423;
        if (locked) closePin();
        pinCode.value = "";
        show(why, locked ? "" : TEXTS.pin, "warning", locked ? "pin-locked" : "pin");
        if (!locked) { clearTimeout(kiosk.idleTimer); pinCode.focus(); }
        else kiosk.holdUntil = now() + 5000;
      } else {
        closePin();
        await refused(response);
      }
    } catch (err) {
      show(TEXTS.offline, TEXTS.retrying, "error", "offline");
    } finally {
      body.classList.remove("waiting");
    }
  }

  function abandonChallenge() {
    kiosk.challenge.active = false;
    // A lost camera already says so; a cancelled challenge goes back to the idle screen.
    if (kiosk.cameraOk) showIdle();
  }

  // --- the loop ---

  async function tick() {
    try {
      const t = now();
      const ready = kiosk.token && kiosk.cameraOk && !kiosk.inFlight && !kiosk.pinOpen && video.videoWidth;
      if (ready && t >= kiosk.holdUntil && t >= kiosk.pauseUntil) {
        const moving = motionScore() > MOTION_THRESHOLD;
        const fast = moving || armedKind() || t - kiosk.lastFaceAt < FACE_RECENT_MS;
        if (t - kiosk.lastSentAt >= (fast ? FAST_MS : SLOW_MS)) {
          kiosk.inFlight = true;
          try {
            await sendFrame();
          } finally {
            kiosk.inFlight = false;
          }
        }
      }
    } finally {
      setTimeout(tick, 100);
    }
  }

  // --- buttons and keys (usable without a mouse) ---

  function arm(kind) {
    kiosk.armed = { kind, until: now() + ARMED_MS };
    kiosk.holdUntil = 0;
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
  btnPin.addEventListener("click", openPin);
  document.getElementById("pin-cancel").addEventListener("click", () => { closePin(); showIdle(); });
  pinPad.addEventListener("submit", (event) => { event.preventDefault(); sendPin(); });
  // The keypad types into the field last focused (the employee id first, then the PIN).
  let pinField = pinEmployee;
  pinEmployee.addEventListener("focus", () => { pinField = pinEmployee; });
  pinCode.addEventListener("focus", () => { pinField = pinCode; });
  pinPad.querySelectorAll("[data-digit]").forEach((key) => {
    key.addEventListener("mousedown", (event) => event.preventDefault()); // keep the field's focus
    key.addEventListener("click", () => {
      if (key.dataset.digit === "clear") pinField.value = pinField.value.slice(0, -1);
      else pinField.value += key.dataset.digit;
    });
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    if (kiosk.pinOpen) {
      // Typing goes to the keypad's fields; only Escape means something here.
      if (key === "escape") { closePin(); showIdle(); }
      return;
    }
    if (kiosk.choice) {
      // While choosing: arrows move the selection, Enter/Space (on the focused button) confirms it.
      if (key === "escape") kiosk.choice.cancel();
      else if (key === "arrowleft" || key === "arrowup") kiosk.choice.move(-1);
      else if (key === "arrowright" || key === "arrowdown") kiosk.choice.move(1);
      return;
    }
    if (key === "i") arm("in");
    else if (key === "o") arm("out");
    else if (key === "f") fullScreen();
    else if (key === "escape") { kiosk.challenge.cancelled = true; disarm(); showIdle(); }
  });
  window.addEventListener("online", () => { kiosk.pauseUntil = 0; });

  if (!kiosk.token) {
    showUnregistered(false, "");
    btnIn.disabled = true;
    btnOut.disabled = true;
  }
  startCamera().then(() => { if (!kiosk.token) showUnregistered(false, ""); });
  tick();
})();
