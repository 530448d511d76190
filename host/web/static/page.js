// The review page's only script: a timeline mark's "jump" button seeks the player to the
// mark's media time and plays from there; playing one sound pauses the others; a raw
// recording is played through its derivative, asked for and awaited here; a click on a
// GPS track offers a search for recordings that passed near that point; and the parts of a
// page the server was still preparing when it sent it (a long recording's timeline, the
// dashboard's flags) are asked for until ready, then put in place.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // One sound at a time, whichever started last (the play event does not bubble: caught
  // on its way down, so parts put in later are covered too).
  document.addEventListener("play", function (event) {
    document.querySelectorAll("audio, video").forEach(function (other) {
      if (other !== event.target) { other.pause(); }
    });
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.seek") : null;
    var player = document.getElementById("player");
    if (!button || !player) { return; }
    player.currentTime = parseFloat(button.getAttribute("data-at"));
    player.play();
    player.scrollIntoView({block: "nearest"});
  });
  bind(document);
  document.querySelectorAll("[data-from]").forEach(fillIn);
});

// What a part of the page needs once it is in the document.
function bind(root) {
  var derivative = root.querySelector("div.derivative");
  if (derivative) { playDerivative(derivative, document.getElementById("player")); }
  var track = root.querySelector("svg.track[data-geo]");
  if (track) { pickOnTrack(track); }
}

// A part still being prepared: its URL (data-from) answers 202 until the part is ready,
// then the parts themselves, each marked data-slot as the placeholder it replaces.
function fillIn(holder) {
  var wait = 500;
  function failed() {
    var note = holder.querySelector(".preparing");
    if (note) {
      note.textContent = holder.getAttribute("data-failed");
      note.setAttribute("role", "alert");
    }
  }
  function ask() {
    fetch(holder.getAttribute("data-from"), {headers: {"Accept": "*/*"}})
      .then(function (r) {
        if (r.status === 202) {
          window.setTimeout(ask, wait);
          wait = Math.min(wait * 1.5, 3000);
          return null;
        }
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.text();
      })
      .then(function (text) {
        if (text === null) { return; }
        var got = new DOMParser().parseFromString(text, "text/html");
        var root = got.body || got;
        Array.prototype.slice.call(root.children).forEach(function (part) {
          var slot = part.getAttribute("data-slot");
          var here = slot && document.querySelector("[data-slot='" + slot + "']");
          if (!here) { return; }
          var node = document.importNode(part, true);
          here.parentNode.replaceChild(node, here);
          bind(node);
        });
      })
      .catch(failed);
  }
  ask();
}

// A raw recording: its derivative is made on the server at the first play (the button),
// and its state asked for every second until it is ready; then it plays, labelled, with
// the signed originals it was made from.
function playDerivative(box, player) {
  var button = box.querySelector("button.prepare");
  var preparing = box.querySelector(".preparing");
  var elapsed = box.querySelector(".elapsed");
  var problem = box.querySelector(".problem");
  var started = 0;
  var wantPlay = false;

  function show(state) {
    if (state.state === "ready") {
      preparing.hidden = true;
      button.hidden = true;
      problem.hidden = true;
      if (!player.getAttribute("src")) { player.setAttribute("src", state.src); }
      player.hidden = false;
      fillOriginals(box, state);
      if (wantPlay) { player.play(); }
      return;
    }
    if (state.state === "making") {
      button.hidden = true;
      preparing.hidden = false;
      if (!started) { started = Date.now(); }
      elapsed.textContent = Math.round((Date.now() - started) / 1000) + " s";
      window.setTimeout(ask, 1000);
      return;
    }
    preparing.hidden = true;
    button.hidden = false;
    if (state.state === "failed") {
      problem.textContent = state.problem;
      problem.hidden = false;
    }
  }

  function ask() {
    fetch(box.getAttribute("data-status"), {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {state: "failed", problem: r.statusText}; })
      .then(show);
  }

  button.addEventListener("click", function () {
    wantPlay = true;
    button.hidden = true;
    var body = new URLSearchParams();
    body.set("csrf", box.getAttribute("data-csrf"));
    fetch(box.getAttribute("data-start"), {method: "POST", body: body})
      .then(function (r) { return r.ok ? r.json() : {state: "failed", problem: r.statusText}; })
      .then(show);
  });
  ask();
}

function fillOriginals(box, state) {
  var derived = box.querySelector(".derived");
  box.querySelector(".derived-item").textContent = state.item;
  box.querySelector(".derived-sha").textContent = state.sha256;
  box.querySelector(".originals .count").textContent = String(state.of.length);
  var body = box.querySelector("table.originals tbody");
  if (body.childElementCount === 0) {
    state.of.forEach(function (o) {
      var row = document.createElement("tr");
      [String(o.seq), o.media, o.sha256].forEach(function (text) {
        var cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
  }
  derived.hidden = false;
}

// The track's picture maps back to the earth (data-geo: longitude a + b*x, latitude
// c + d*y, in the SVG's own units): a click marks the point and links to the search.
function pickOnTrack(svg) {
  var geo = svg.getAttribute("data-geo").split(" ").map(parseFloat);
  var link = document.querySelector("p.picked a.near");
  var marker = document.createElementNS("http://www.w3.org/2000/svg", "circle");
  marker.setAttribute("class", "picked");
  marker.setAttribute("r", "6");
  svg.addEventListener("click", function (event) {
    var at = svg.createSVGPoint();
    at.x = event.clientX;
    at.y = event.clientY;
    var p = at.matrixTransform(svg.getScreenCTM().inverse());
    var lon = geo[0] + geo[1] * p.x;
    var lat = geo[2] + geo[3] * p.y;
    var place = lat.toFixed(6) + ", " + lon.toFixed(6);
    marker.setAttribute("cx", p.x.toFixed(1));
    marker.setAttribute("cy", p.y.toFixed(1));
    svg.appendChild(marker);
    var radius = link.getAttribute("data-radius");
    link.setAttribute("href", "/search?near=" + encodeURIComponent(place) +
      "&within=" + encodeURIComponent(radius));
    link.textContent = link.getAttribute("data-text").replace("@", place);
    link.parentNode.hidden = false;
  });
}
