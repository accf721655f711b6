// The field pages' QR scanner: the browser's BarcodeDetector when it has one (and a camera), else the
// typed code alone. It only fills the code field and submits the form; the page works without it.
(function () {
  "use strict";
  var input = document.getElementById("scan-code");
  var button = document.getElementById("scan-camera");
  var video = document.getElementById("scan-video");
  if (!input || !button || !video || !("BarcodeDetector" in window) || !navigator.mediaDevices) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.hidden = false;
      video.srcObject = stream;
      video.play();
      var stop = function () {
        stream.getTracks().forEach(function (track) { track.stop(); });
        video.hidden = true;
      };
      var look = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            stop();
            input.value = codes[0].rawValue;
            if (input.form && input.form.id === "scan-form") { input.form.submit(); }
            return;
          }
          window.requestAnimationFrame(look);
        }).catch(function () { window.requestAnimationFrame(look); });
      };
      look();
    }).catch(function () { button.hidden = true; });
  });
})();
