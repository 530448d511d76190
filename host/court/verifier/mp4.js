// Just enough of ISO BMFF to check an exported recording against its signed entries: the
// top-level boxes, each fragment's span (moof and the mdat after it), the sealcam evidence
// uuid box, and a fragment's video samples so a changed frame can be named by its number.
"use strict";
var SC = globalThis.SC || (globalThis.SC = {});

SC.mp4 = (function () {
  class Mp4Error extends Error {}

  // The sealcam evidence box's user type (host/mp4evidence.py EVIDENCE_UUID).
  const EVIDENCE_UUID = "d03810e53c7556339e6b80fa568bfabb";
  const VIDEO_TRACK = 1;

  function u32(b, p) {
    return ((b[p] << 24) >>> 0) + (b[p + 1] << 16) + (b[p + 2] << 8) + b[p + 3];
  }

  function type(b, p) {
    return String.fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3]);
  }

  // [{type, start, payload, end}] of the boxes in b[from:to], each checked to fit.
  function children(b, from, to) {
    const out = [];
    let p = from;
    while (p < to) {
      if (to - p < 8) throw new Mp4Error("a box header at byte " + p + " is cut short");
      let size = u32(b, p);
      const kind = type(b, p + 4);
      let header = 8;
      if (size === 1) {
        if (to - p < 16) throw new Mp4Error("a large box header at byte " + p + " is cut short");
        size = u32(b, p + 8) * 4294967296 + u32(b, p + 12);
        header = 16;
      } else if (size === 0) {
        size = to - p;
      }
      if (size < header || p + size > to) throw new Mp4Error("the " + kind + " box at byte " + p + " does not fit the file");
      if (kind === "uuid") header += 16;
      out.push({ type: kind, start: p, payload: p + header, end: p + size });
      p += size;
    }
    return out;
  }

  function topBoxes(b) {
    return children(b, 0, b.length);
  }

  // [{start, end}] of each fragment: a moof through the mdat boxes right after it.
  function fragmentSpans(boxes) {
    const spans = [];
    for (let i = 0; i < boxes.length; i++) {
      if (boxes[i].type !== "moof") continue;
      const start = boxes[i].start;
      let end = boxes[i].end;
      if (i + 1 >= boxes.length || boxes[i + 1].type !== "mdat") throw new Mp4Error("the moof at byte " + start + " has no mdat after it");
      while (i + 1 < boxes.length && boxes[i + 1].type === "mdat") end = boxes[++i].end;
      spans.push({ start, end });
    }
    return spans;
  }

  function evidencePayloads(b, boxes) {
    const out = [];
    for (const box of boxes) {
      if (box.type === "uuid" && SC.cbor.hex(b.subarray(box.payload - 16, box.payload)) === EVIDENCE_UUID) {
        out.push(b.subarray(box.payload, box.end));
      }
    }
    return out;
  }

  // The video samples of one fragment (its bytes alone), in file order: [Uint8Array].
  // Offsets follow tfhd default-base-is-moof or an explicit base, as our packager and
  // ffmpeg write them; a field the trun leaves out comes from the tfhd defaults.
  function videoSamples(frag) {
    const top = children(frag, 0, frag.length);
    const moof = top.find((x) => x.type === "moof");
    if (!moof) throw new Mp4Error("the fragment has no moof");
    const out = [];
    for (const traf of children(frag, moof.payload, moof.end)) {
      if (traf.type !== "traf") continue;
      const kids = children(frag, traf.payload, traf.end);
      const tfhd = kids.find((x) => x.type === "tfhd");
      if (!tfhd) throw new Mp4Error("a traf has no tfhd");
      let at = tfhd.payload;
      const flags = u32(frag, at) & 0xffffff;
      const track = u32(frag, at + 4);
      at += 8;
      let base = moof.start;
      if (flags & 0x1) {
        base = u32(frag, at) * 4294967296 + u32(frag, at + 4);
        at += 8;
      }
      if (flags & 0x2) at += 4;
      if (flags & 0x8) at += 4;
      let defaultSize = 0;
      if (flags & 0x10) defaultSize = u32(frag, at);
      if (track !== VIDEO_TRACK) continue;
      let offset = base;
      for (const trun of kids) {
        if (trun.type !== "trun") continue;
        let p = trun.payload;
        const tflags = u32(frag, p) & 0xffffff;
        const count = u32(frag, p + 4);
        p += 8;
        if (tflags & 0x1) {
          offset = base + (u32(frag, p) | 0);
          p += 4;
        }
        if (tflags & 0x4) p += 4;
        const width = 4 * (!!(tflags & 0x100) + !!(tflags & 0x200) + !!(tflags & 0x400) + !!(tflags & 0x800));
        if (width && count > (trun.end - p) / width) throw new Mp4Error("a trun declares more samples than it holds");
        for (let i = 0; i < count; i++) {
          if (tflags & 0x100) p += 4;
          let size = defaultSize;
          if (tflags & 0x200) {
            size = u32(frag, p);
            p += 4;
          }
          if (tflags & 0x400) p += 4;
          if (tflags & 0x800) p += 4;
          if (offset + size > frag.length) throw new Mp4Error("a video sample lies outside the fragment");
          out.push(frag.subarray(offset, offset + size));
          offset += size;
        }
      }
    }
    return out;
  }

  // What became of each signed frame: [{state, signed, present}], state one of "ok",
  // "changed", "missing", "added", "reordered" (protocol/frames.py names them so). Frames
  // are matched by position first; a digest found at another position is "reordered".
  function compareFrames(signed, present) {
    const out = [];
    const hex = SC.cbor.hex;
    const signedAt = new Map(signed.map((d, i) => [hex(d), i]));
    const n = Math.max(signed.length, present.length);
    for (let i = 0; i < n; i++) {
      const s = i < signed.length ? hex(signed[i]) : null;
      const p = i < present.length ? hex(present[i]) : null;
      if (s !== null && s === p) continue;
      if (p === null) out.push({ state: "missing", signed: i, present: -1 });
      else if (s === null) out.push({ state: signedAt.has(p) ? "reordered" : "added", signed: -1, present: i });
      else if (signedAt.has(p)) out.push({ state: "reordered", signed: i, present: i });
      else out.push({ state: "changed", signed: i, present: i });
    }
    return out;
  }

  return { Mp4Error, topBoxes, fragmentSpans, evidencePayloads, videoSamples, compareFrames };
})();
