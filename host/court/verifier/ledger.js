// A recording's device-signed ledger entries, checked as protocol/verify.py checks a ledger:
// each entry's previous-hash names the entry before it, sequence numbers leave no gap, every
// signature is the device key's, and an unsigned entry is covered by a later signed one
// through the chain. Field numbers are protocol/registry.py's.
"use strict";
var SC = globalThis.SC || (globalThis.SC = {});

SC.ledger = (function () {
  const F = {
    VERSION: 0, DEVICE: 1, SEQ: 2, PREV: 3, WALL_MS: 4, MONO_MS: 5, BOOT: 6, KIND: 7,
    RECORDING: 8, CHUNK_INDEX: 9, START_MS: 10, END_MS: 11, FRAME_HASHES: 12, MEDIA_TYPE: 13,
    PLAIN_LEN: 14, PLAIN_SHA: 15, CIPHER_SHA: 16, CIPHER_ALG: 17, GPS: 18,
    EVENT: 19, REASON: 20, SPOKEN: 21, DETAIL: 22, OFFICER: 23,
  };
  const KIND_CHUNK = 0;
  const KIND_EVENT = 1;
  const EV = { RECORD_START: 3, RECORD_STOP: 4, ANNOUNCEMENT: 5, PAUSE: 7, RESUME: 8 };
  const MEDIA_MP4_INIT = 7;
  const MEDIA_MP4 = 8;
  const ZERO = new Uint8Array(32);

  class EntryError extends Error {}

  // One entry from its exact bytes: {raw, digest, msg, fields, seq, prev, kind, device}.
  async function parseEntry(raw) {
    let item;
    try {
      item = SC.cbor.loads(raw);
    } catch (e) {
      throw new EntryError("not deterministic CBOR: " + e.message);
    }
    const msg = SC.cose.decodeSign1(item);
    let fields;
    try {
      fields = SC.cbor.loads(msg.payload);
    } catch (e) {
      throw new EntryError("payload is not deterministic CBOR: " + e.message);
    }
    if (!(fields instanceof Map)) throw new EntryError("payload must be a map");
    const seq = fields.get(F.SEQ);
    const prev = fields.get(F.PREV);
    const device = fields.get(F.DEVICE);
    if (!Number.isInteger(seq) || seq < 0) throw new EntryError("seq is missing or not an integer");
    if (!(prev instanceof Uint8Array) || prev.length !== 32) throw new EntryError("prev is not a 32-byte hash");
    if (typeof device !== "string") throw new EntryError("device id is missing");
    if (fields.get(F.VERSION) !== 1) throw new EntryError("format version is not 1");
    if (SC.crypto.hex(msg.kid) !== SC.crypto.hex(new TextEncoder().encode(device))) {
      throw new EntryError("protected kid does not match the payload's device id");
    }
    return {
      raw, msg, fields, seq, prev, device,
      kind: fields.get(F.KIND),
      digest: SC.crypto.sha256Sync(raw),
    };
  }

  // The Ed25519 public key in a COSE_Key (protocol/keys.py): {deviceId, publicKey}.
  function decodeKey(bytes) {
    const m = SC.cbor.loads(bytes);
    if (!(m instanceof Map) || m.get(1) !== 1 || m.get(-1) !== 6) throw new EntryError("not an Ed25519 COSE_Key");
    const kid = m.get(2);
    const x = m.get(-2);
    if (!(kid instanceof Uint8Array) || !(x instanceof Uint8Array) || x.length !== 32) throw new EntryError("the COSE_Key has no kid or no 32-byte key");
    return { deviceId: new TextDecoder().decode(kid), publicKey: x };
  }

  // Check entries (exact bytes, in the order given) as one unbroken run of the device's
  // ledger. Returns {entries, problems}: problems are {code, seq, detail} with codes
  // "unreadable", "device", "seq-gap", "chain", "signature", "unsigned-tail". `first`
  // may say the prev hash the first entry must carry (32 zero bytes for seq 0).
  async function checkRun(raws, publicKey, deviceId, first) {
    const problems = [];
    const entries = [];
    for (let i = 0; i < raws.length; i++) {
      try {
        entries.push(await parseEntry(raws[i]));
      } catch (e) {
        problems.push({ code: "unreadable", seq: null, index: i, detail: e.message });
        entries.push(null);
      }
    }
    const checks = [];
    let before = null;
    let lastSigned = -1;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e === null) {
        before = null;
        continue;
      }
      if (e.device !== deviceId) problems.push({ code: "device", seq: e.seq, index: i, detail: e.device });
      if (before !== null) {
        if (e.seq !== before.seq + 1) problems.push({ code: "seq-gap", seq: e.seq, index: i, detail: before.seq });
        else if (!SC.crypto.equal(e.prev, before.digest)) problems.push({ code: "chain", seq: e.seq, index: i, detail: "" });
      } else if (i === 0 && first && !SC.crypto.equal(e.prev, first)) {
        problems.push({ code: "chain", seq: e.seq, index: i, detail: "" });
      } else if (e.seq === 0 && !SC.crypto.equal(e.prev, ZERO)) {
        problems.push({ code: "chain", seq: e.seq, index: i, detail: "" });
      }
      if (e.msg.signature.length) {
        lastSigned = i;
        checks.push(SC.cose.verify(e.msg, publicKey).then((ok) => (ok ? null : { code: "signature", seq: e.seq, index: i, detail: "" })));
      }
      before = e;
    }
    for (const p of await Promise.all(checks)) if (p) problems.push(p);
    if (entries.length && lastSigned < entries.length - 1) {
      const e = entries[entries.length - 1];
      problems.push({ code: "unsigned-tail", seq: e ? e.seq : null, index: entries.length - 1, detail: "" });
    }
    problems.sort((a, b) => a.index - b.index);
    return { entries, problems };
  }

  // What a recording's entries say happened, for its timeline: chunks (the media they
  // sign), pauses with their reason codes, resumes with the chunk holding the spoken reason.
  function story(entries) {
    const out = { start: null, stop: null, chunks: [], events: [] };
    const byDigest = new Map();
    for (const e of entries) {
      if (!e) continue;
      byDigest.set(SC.crypto.hex(e.digest), e);
      const f = e.fields;
      if (e.kind === KIND_CHUNK) {
        out.chunks.push({
          seq: e.seq,
          digest: e.digest,
          index: f.get(F.CHUNK_INDEX),
          media: f.get(F.MEDIA_TYPE),
          startMs: f.get(F.START_MS),
          endMs: f.get(F.END_MS),
          sha: f.get(F.CIPHER_SHA) || f.get(F.PLAIN_SHA),
          frames: f.get(F.FRAME_HASHES) || [],
          recording: f.get(F.RECORDING),
        });
      } else if (e.kind === KIND_EVENT) {
        const ev = f.get(F.EVENT);
        const item = { seq: e.seq, event: ev, atMs: f.get(F.WALL_MS), mono: f.get(F.MONO_MS), reason: f.get(F.REASON), spoken: f.get(F.SPOKEN), detail: f.get(F.DETAIL), officer: f.get(F.OFFICER) };
        if (ev === EV.RECORD_START && out.start === null) out.start = item;
        else if (ev === EV.RECORD_STOP) out.stop = item;
        out.events.push(item);
      }
    }
    for (const ev of out.events) {
      if (ev.spoken instanceof Uint8Array) {
        const chunk = byDigest.get(SC.crypto.hex(ev.spoken));
        ev.spokenChunk = chunk ? chunk.seq : null;
      }
    }
    return out;
  }

  return { F, EV, KIND_CHUNK, KIND_EVENT, MEDIA_MP4_INIT, MEDIA_MP4, EntryError, parseEntry, decodeKey, checkRun, story };
})();
