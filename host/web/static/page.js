// The review page's only script: a timeline mark's "jump" button seeks the player to the
// mark's media time and plays from there; playing one sound pauses the others.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var player = document.getElementById("player");
  var sounds = Array.prototype.slice.call(document.querySelectorAll("audio.spoken"));
  if (player) { sounds.push(player); }
  sounds.forEach(function (one) {
    one.addEventListener("play", function () {
      sounds.forEach(function (other) { if (other !== one) { other.pause(); } });
    });
  });
  document.querySelectorAll("button.seek").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!player) { return; }
      player.currentTime = parseFloat(button.getAttribute("data-at"));
      player.play();
      player.scrollIntoView({block: "nearest"});
    });
  });
});
