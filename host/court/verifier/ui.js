// The page: the folder chooser (input or drag and drop), then the verdict, each recording's
// state, video and timeline, what was checked and the file list. Every text comes from
// SC.STRINGS and is shown in Chinese with English beside it.
"use strict";
var SC = globalThis.SC || (globalThis.SC = {});

SC.ui = (function () {
  const $ = (id) => document.getElementById(id);
  const urls = [];

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }

  // One text in both languages: Chinese first, English beside it.
  function bi(key, fields, tag = "span") {
    const t = SC.t(key, fields);
    return el(tag, { class: "bi" }, el("span", { class: "zh", lang: "zh-CN" }, t.zh), " ", el("span", { class: "en", lang: "en" }, t.en));
  }

  function biText(zh, en, tag = "span") {
    return el(tag, { class: "bi" }, el("span", { class: "zh", lang: "zh-CN" }, zh || ""), " ", el("span", { class: "en", lang: "en" }, en || ""));
  }

  // A time as the agency reads it: "2026-12-05 14:03:07 UTC+8" in the manifest's zone.
  function when(ms, zone) {
    if (typeof ms !== "number") return "—";
    const d = new Date(ms);
    try {
      const parts = new Intl.DateTimeFormat("en-CA", {
        timeZone: zone || "UTC", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "shortOffset",
      }).formatToParts(d);
      const get = (t) => (parts.find((p) => p.type === t) || {}).value;
      const offset = (get("timeZoneName") || "GMT").replace("GMT", "UTC");
      return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")} ${offset === "UTC" ? "UTC+0" : offset}`;
    } catch (e) {
      return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
    }
  }

  function clock(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (n) => String(n).padStart(2, "0");
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
  }

  function show(id, ...kids) {
    const box = $(id);
    box.replaceChildren(...kids);
    box.hidden = kids.length === 0;
  }

  function reasonKey(code) {
    if (typeof code !== "number") return "reason_none";
    return SC.STRINGS["reason_" + code] ? "reason_" + code : "reason_unknown";
  }

  function findingItem(f) {
    return el("li", { class: f.fail ? "fail" : "info", "data-code": f.code, "data-item": f.item || "" }, bi(f.key, f.fields));
  }

  function renderVerdict(result) {
    const problems = result.problems;
    const info = result.findings.filter((f) => !f.fail);
    const kids = [
      el("div", { class: "verdict " + (result.ok ? "ok" : "not-ok"), id: "verdict-word", "data-ok": result.ok ? "1" : "0" },
        el("span", { class: "mark" }, result.ok ? "✓" : "✗"), bi(result.ok ? "verdict_ok" : "verdict_not_ok", {}, "strong")),
      bi(result.ok ? "verdict_ok_detail" : "verdict_not_ok_detail", { n: problems.length }, "p"),
    ];
    if (problems.length) {
      const list = el("ul", { class: "problems", id: "problems" });
      for (const f of problems.slice(0, 200)) list.append(findingItem(f));
      if (problems.length > 200) list.append(el("li", {}, bi("more", { n: problems.length - 200 })));
      kids.push(list);
    }
    if (info.length) {
      const list = el("ul", { class: "infos", id: "infos" });
      for (const f of info.slice(0, 50)) list.append(findingItem(f));
      kids.push(list);
    }
    kids.push(el("p", {}, el("button", { type: "button", onclick: () => $("folder").click() }, bi("again"))));
    show("verdict", ...kids);
  }

  function row(key, value) {
    return el("tr", {}, el("th", {}, bi(key)), el("td", {}, value));
  }

  function renderPackage(result) {
    const m = result.manifest || {};
    const zone = m.time_zone;
    const table = el("table", { class: "facts" });
    if (m.case) table.append(row("case", [m.case.number, m.case.title].filter(Boolean).join(" · ")));
    if (m.extractor) table.append(row("extractor", m.extractor.name || m.extractor.user || ""));
    table.append(row("created", m.created || when(m.created_ms, zone)));
    if (m.place) table.append(row("place", m.place));
    table.append(row("host_key", el("code", {}, result.fingerprint || "—")));
    show("package", el("h2", {}, bi("package")), table, bi("note_files", {}, "p"));
  }

  function onvifKey(state) {
    return "onvif_" + state;
  }

  // The recording's timeline, drawn from the signed entries: each chunk of footage where
  // its entry puts it, the pauses (pause to the resume press) with their reasons, the
  // spoken reason after each, chunks a partial export leaves out hatched and chunks found
  // changed or missing in red. A click on footage plays the video from there.
  function timeline(view, video, zone) {
    const story = view.story;
    if (!story || !story.start) return null;
    const start = story.start;
    const detail = start.detail instanceof Map ? start.detail : new Map();
    const originMono = detail.get("origin_mono");
    const originWall = typeof originMono === "number" && typeof start.mono === "number" ? start.atMs - (start.mono - originMono) : start.atMs;
    const endMs = Math.max(story.stop ? story.stop.atMs : 0, ...story.chunks.map((c) => c.endMs || 0), start.atMs + 1);
    const span = Math.max(1, endMs - originWall);
    const bar = el("div", { class: "bar" });
    const pct = (ms) => (100 * Math.min(Math.max(ms - originWall, 0), span)) / span;
    const seg = (cls, from, to, title, onclick) => {
      const left = pct(from);
      const width = Math.max(pct(to) - left, 0.25);
      const attrs = { class: "seg " + cls, style: `left:${left}%;width:${width}%`, title };
      if (onclick) attrs.onclick = onclick;
      bar.append(el("div", attrs));
    };
    const seek = (ms) => () => {
      if (video) {
        video.currentTime = Math.max(0, (ms - originWall) / 1000);
        video.play().catch(() => {});
      }
    };
    const listed = new Map((view.chunks || []).map((c) => [c.seq, c]));
    const spokenSeqs = new Set(story.events.filter((e) => typeof e.spokenChunk === "number").map((e) => e.spokenChunk));
    const bad = view.badChunks || new Set();
    const rec = SC.t("seg_recording");
    for (const c of story.chunks) {
      if (c.media === SC.ledger.MEDIA_MP4_INIT || typeof c.startMs !== "number") continue;
      const row = listed.get(c.seq);
      let cls = spokenSeqs.has(c.seq) ? "spoken" : "rec";
      if (row && !row.included) cls = "absent";
      if (bad.has(c.seq)) cls = "bad";
      const label = SC.t("chunk_at", { index: c.index, seq: c.seq });
      seg(cls, c.startMs, c.endMs, label.zh + " / " + label.en, cls === "absent" ? null : seek(c.startMs));
    }
    const legend = el("ol", { class: "events" });
    const line = (cls, at, ...kids) => legend.append(el("li", { class: cls }, el("span", { class: "t" }, clock(at - originWall)), ...kids));
    let pauseAt = null;
    for (const ev of story.events) {
      const at = ev.atMs;
      const E = SC.ledger.EV;
      if (ev.event === E.PAUSE) {
        pauseAt = at;
        const r = SC.t(reasonKey(ev.reason), { code: ev.reason });
        line("pause", at, biText(SC.t("ev_pause", { reason: r.zh }).zh, SC.t("ev_pause", { reason: r.en }).en));
      } else if (ev.event === E.RESUME) {
        const d = ev.detail instanceof Map ? ev.detail : new Map();
        const pressed = typeof d.get("resumed_ms") === "number" ? d.get("resumed_ms") : at;
        if (pauseAt !== null) {
          const r = SC.t(reasonKey(ev.reason), { code: ev.reason });
          seg("paused", pauseAt, pressed, r.zh + " / " + r.en);
        }
        pauseAt = null;
        line("resume", pressed, bi("ev_resume"), " ", spokenControl(view, ev, video, originWall));
      } else if (ev.event === E.RECORD_START) {
        line("", at, bi("ev_record_start"), " ", el("span", { class: "when" }, when(at, zone)));
      } else if (ev.event === E.RECORD_STOP) {
        line("", at, bi("ev_record_stop"), " ", el("span", { class: "when" }, when(at, zone)));
      } else if (ev.event === E.ANNOUNCEMENT) {
        line("", at, bi("ev_announcement"));
      }
    }
    if (pauseAt !== null) seg("paused", pauseAt, endMs, "");
    const scale = el("div", { class: "scale" }, el("span", {}, "0:00"), el("span", {}, clock(span)));
    const key = el("div", { class: "key" });
    for (const [cls, k] of [["rec", "seg_recording"], ["spoken", "seg_spoken"], ["paused", "seg_paused"], ["absent", "seg_absent"], ["bad", "seg_bad"]]) {
      key.append(el("span", { class: "sw " + cls }), bi(k));
    }
    return el("div", { class: "timeline" }, el("h4", {}, bi("timeline")), bar, scale, key, legend);
  }

  function spokenControl(view, ev, video, originWall) {
    if (typeof ev.spokenChunk !== "number") return bi("no_spoken", {}, "em");
    const wav = view.spoken.get(ev.spokenChunk);
    if (wav) {
      const url = URL.createObjectURL(wav);
      urls.push(url);
      return el("span", { class: "spoken" }, bi("spoken_reason"), " ", el("audio", { controls: "", preload: "none", src: url }));
    }
    const chunk = view.story.chunks.find((c) => c.seq === ev.spokenChunk);
    if (!video || !chunk) return bi("spoken_reason", {}, "em");
    return el("button", { type: "button", class: "spoken", onclick: () => {
      video.currentTime = Math.max(0, (chunk.startMs - originWall) / 1000);
      video.play().catch(() => {});
    } }, "▶ ", bi("play_spoken"));
  }

  function renderRecordings(result) {
    const zone = (result.manifest || {}).time_zone;
    const out = [el("h2", {}, bi("recordings"))];
    for (const view of result.recordings) {
      const rec = view.rec;
      const card = el("article", { class: "recording state-" + view.state, "data-item": view.name });
      const onvif = SC.t(onvifKey(view.state));
      card.append(el("h3", {}, el("span", { class: "item" }, view.name), " ",
        el("span", { class: "state", "data-state": view.state }, biText(onvif.zh, onvif.en))));
      const facts = el("table", { class: "facts" });
      facts.append(row("device", rec.device || ""));
      if (rec.officer) facts.append(row("officer", rec.officer));
      facts.append(row("started", when(rec.started_ms, zone)));
      facts.append(row("ended", when(rec.ended_ms, zone)));
      if (typeof rec.started_ms === "number" && typeof rec.ended_ms === "number") facts.append(row("duration", clock(rec.ended_ms - rec.started_ms)));
      if (rec.range) facts.append(el("tr", {}, el("td", { colspan: "2" }, bi("range", { from: clock(rec.range.from_ms), to: clock(rec.range.to_ms) }))));
      if (Array.isArray(rec.proves) && rec.proves.length) facts.append(row("proves", rec.proves.join("；")));
      if (view.fingerprint) facts.append(row("fingerprint", el("code", {}, view.fingerprint)));
      let video = null;
      const media = el("div", { class: "media" });
      if (view.video) {
        const url = URL.createObjectURL(view.video);
        urls.push(url);
        video = el("video", { controls: "", preload: "metadata", src: url });
        media.append(video);
        if (rec.playable && rec.playable.kind === "derivative") media.append(bi("derivative", {}, "p"));
      } else {
        media.append(bi("no_video", {}, "p"));
      }
      card.append(el("div", { class: "row" }, media, facts));
      const tl = timeline(view, video, zone);
      if (tl) card.append(tl);
      out.push(card);
    }
    show("recordings", ...out);
  }

  function renderChecks(result) {
    const list = el("ul", { class: "steps" });
    for (const s of result.steps) {
      list.append(el("li", { class: s.pass ? "pass" : "fail" }, el("span", { class: "mark" }, s.pass ? "✓" : "✗"), " ", bi(s.key, s.fields)));
    }
    for (const view of result.recordings) {
      const pass = view.problems === 0;
      list.append(el("li", { class: pass ? "pass" : "fail" }, el("span", { class: "mark" }, pass ? "✓" : "✗"), " ", bi("c_recording", { rec: view.name })));
    }
    show("checks", el("h2", {}, bi("checks")), list);
  }

  function renderFiles(result) {
    const table = el("table", { class: "files" });
    table.append(el("tr", {}, ...["col_file", "col_category", "col_size", "col_sha", "col_result"].map((k) => el("th", {}, bi(k)))));
    for (const f of result.files) {
      table.append(el("tr", { class: "file-" + f.result, "data-path": f.path },
        el("td", {}, el("code", {}, f.path), f.whatZh ? el("div", { class: "what" }, biText(f.whatZh, f.what)) : null),
        el("td", {}, f.category || ""),
        el("td", { class: "num" }, typeof f.bytes === "number" ? f.bytes.toLocaleString("en") : ""),
        el("td", {}, el("code", { class: "sha" }, f.sha || "")),
        el("td", {}, bi("file_" + f.result))));
    }
    show("files", el("h2", {}, bi("files")), table);
  }

  async function check(fileList) {
    for (const u of urls.splice(0)) URL.revokeObjectURL(u);
    for (const id of ["verdict", "package", "recordings", "checks", "files"]) show(id);
    document.body.dataset.state = "checking";
    if (!(globalThis.crypto && crypto.subtle)) {
      show("progress", bi("no_webcrypto", {}, "p"));
      document.body.dataset.state = "unusable";
      return null;
    }
    const progress = (what) => show("progress", bi("reading", { what }, "p"));
    progress("");
    const t0 = performance.now();
    const result = await SC.package.verifyPackage(Array.from(fileList), progress);
    show("progress");
    if (!result.usable) {
      show("verdict", el("div", { class: "verdict not-ok", id: "verdict-word", "data-ok": "unusable" }, bi("not_a_package", { name: result.missing }, "strong")));
      document.body.dataset.state = "unusable";
      return result;
    }
    const t = performance.now();
    renderVerdict(result);
    renderPackage(result);
    renderRecordings(result);
    renderChecks(result);
    renderFiles(result);
    result.timings.render = performance.now() - t;
    result.elapsedMs = performance.now() - t0;
    SC.lastResult = result;
    document.body.dataset.state = result.ok ? "ok" : "not-ok";
    return result;
  }

  // A dropped folder: walk its entries into File objects with their relative paths.
  async function dropped(items) {
    const out = [];
    async function walk(entry, prefix) {
      if (entry.isFile) {
        const file = await new Promise((ok, bad) => entry.file(ok, bad));
        Object.defineProperty(file, "relativePath", { value: prefix + entry.name });
        out.push(file);
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        for (;;) {
          const batch = await new Promise((ok, bad) => reader.readEntries(ok, bad));
          if (!batch.length) break;
          for (const e of batch) await walk(e, prefix + entry.name + "/");
        }
      }
    }
    const entries = items.map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry());
    for (const entry of entries) if (entry) await walk(entry, "");
    return out;
  }

  function start() {
    $("intro").replaceChildren(bi("intro"));
    $("choose-text").replaceChildren(bi("choose"));
    $("choose-button").replaceChildren(bi("choose_button"));
    document.body.dataset.state = "waiting";
    $("folder").addEventListener("change", (e) => {
      if (e.target.files && e.target.files.length) check(e.target.files);
    });
    const zone = $("choose");
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", async (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      // The drop's items and files are readable only while this handler runs: take them now.
      const flat = Array.from(e.dataTransfer.files || []);
      const files = await dropped(Array.from(e.dataTransfer.items || []));
      // Files dropped without their folder (or a browser without folder entries): as given.
      if (files.length) check(files);
      else if (flat.length) check(flat);
    });
  }

  return { start, check, when, clock };
})();

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", SC.ui.start);
  else SC.ui.start();
}
