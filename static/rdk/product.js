// Product gallery: thumbnails show their view in the main image (mouse,
// Enter/Space, arrow keys between thumbnails), and a swipe on the main image
// steps through the views. Without this script each thumbnail links to its
// full image.
(function () {
  "use strict";
  var gallery = document.querySelector("[data-gallery]");
  if (!gallery) return;
  var main = gallery.querySelector("[data-gallery-main]");
  var status = gallery.querySelector("[data-gallery-status]");
  var thumbs = Array.prototype.slice.call(gallery.querySelectorAll(".gallery-thumb"));
  if (!main || thumbs.length < 2) return;
  var current = 0;

  function show(index, focus) {
    current = (index + thumbs.length) % thumbs.length;
    var thumb = thumbs[current];
    main.src = thumb.getAttribute("href");
    main.alt = thumb.dataset.alt;
    thumbs.forEach(function (other) { other.removeAttribute("aria-current"); });
    thumb.setAttribute("aria-current", "true");
    if (status) status.textContent = "Showing view " + (current + 1) + " of " + thumbs.length;
    if (focus) thumb.focus();
  }

  thumbs.forEach(function (thumb, index) {
    thumb.addEventListener("click", function (event) {
      event.preventDefault();
      show(index, false);
    });
    thumb.addEventListener("keydown", function (event) {
      var step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
      if (event.key === " ") { event.preventDefault(); show(index, false); }
      if (step) { event.preventDefault(); show(index + step, true); }
    });
  });

  var startX = null;
  main.addEventListener("pointerdown", function (event) { startX = event.clientX; });
  main.addEventListener("pointerup", function (event) {
    if (startX === null) return;
    var moved = event.clientX - startX;
    startX = null;
    if (Math.abs(moved) > 40) show(current + (moved < 0 ? 1 : -1), false);
  });
})();
