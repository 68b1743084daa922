// Save the kiosk token shown once on the "registered" page in this browser (a file, not an inline
// script: the Content-Security-Policy allows scripts from this site's static files only).
localStorage.setItem("attendance.kioskToken", JSON.parse(document.getElementById("kiosk-token").textContent));
document.getElementById("saved").textContent = "The kiosk token is saved in this browser.";
