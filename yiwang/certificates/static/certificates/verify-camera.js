// Reading a certificate's QR code with the phone's camera on the verification page
// (certificates/_verify_camera.html).
(function () {
  "use strict";
  var box = document.getElementById("verify-camera");
  var form = document.getElementById("verify-form");
  if (!box || !form || !("BarcodeDetector" in window) || !window.isSecureContext ||
      !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var start = document.getElementById("verify-camera-start");
  var stop = document.getElementById("verify-camera-stop");
  var video = document.getElementById("verify-camera-video");
  var status = document.getElementById("verify-camera-status");
  var detector = null;
  var stream = null;
  var timer = null;

  function say(key) {
    status.textContent = key ? (box.dataset[key] || "") : "";
  }
  function halt() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    video.srcObject = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }
  function look() {
    timer = null;
    if (!stream) { return; }
    detector.detect(video).then(function (codes) {
      var found = codes.filter(function (code) { return code.rawValue; })[0];
      if (!found) { timer = setTimeout(look, 250); return; }
      halt();
      say("msgFound");
      var photo = form.querySelector("input[name=image]");
      form.querySelector("textarea[name=text]").value = found.rawValue;
      if (photo) { photo.value = ""; }
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }, function () { timer = setTimeout(look, 500); });
  }

  window.BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") === -1) { return; }
    detector = new window.BarcodeDetector({formats: ["qr_code"]});
    box.hidden = false;
    start.addEventListener("click", function () {
      say("msgStarting");
      navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false})
        .then(function (media) {
          stream = media;
          video.srcObject = media;
          video.hidden = false;
          start.hidden = true;
          stop.hidden = false;
          return video.play();
        })
        .then(function () { say("msgLooking"); look(); })
        .catch(function (error) {
          halt();
          say(error && error.name === "NotAllowedError" ? "msgDenied" : "msgFailed");
        });
    });
    stop.addEventListener("click", function () { halt(); say(""); });
    window.addEventListener("pagehide", halt);
  }, function () {});
})();
