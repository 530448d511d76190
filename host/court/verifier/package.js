// The court package checked as docs/court-package.md section 4 lays it out, step by step,
// from the files of the chosen folder alone. Sans-I/O apart from reading the given File
// objects: the page (ui.js) and the tests call verifyPackage and show what it returns.
//
// A finding is {code, fail, item, key, fields}: `code` the format's finding code (the same
// in every verifier), `fail` false for information (an extra file, chunks a partial export
// leaves out), `item` the file or recording it names, `key` and `fields` its text in
// SC.STRINGS.
"use strict";
var SC = globalThis.SC || (globalThis.SC = {});

SC.package = (function () {
  const L = () => SC.ledger;
  const C = () => SC.crypto;
  const enc = new TextEncoder();
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const MEDIA_NAMES = {
    1: "video/h264", 2: "video/h265", 3: "video/mjpeg", 4: "audio/aac",
    5: "audio/pcm", 6: "audio/opus", 7: "video/mp4-init", 8: "video/mp4",
  };
  const MANIFEST = "manifest.cbor";
  const MANIFEST_JSON = "manifest.json";

  class Unusable extends Error {}

  // The chosen folder's files by their path inside the package: the browser gives
  // "FOLDER/PATH" (webkitRelativePath); the first component is the folder itself.
  function indexFiles(list) {
    const out = new Map();
    for (const f of list) {
      const rel = f.webkitRelativePath || f.relativePath || f.name;
      const parts = rel.split("/");
      const path = parts.length > 1 ? parts.slice(1).join("/") : parts[0];
      out.set(path, f);
    }
    // A folder chosen one level too high (the disc's root holding the package folder):
    // look one level down when the manifest is there and not here.
    if (!out.has(MANIFEST)) {
      const below = new Map();
      for (const [path, f] of out) {
        const cut = path.indexOf("/");
        if (cut > 0) below.set(path.slice(cut + 1), f);
      }
      if (below.has(MANIFEST)) return below;
    }
    return out;
  }

  async function bytesOf(file) {
    return new Uint8Array(await file.arrayBuffer());
  }

  function text(bytes) {
    return utf8.decode(bytes);
  }

  // A decoded CBOR manifest as the plain value JSON.parse would give; null where the value
  // holds something JSON has not (byte strings, floats, tags, non-text keys).
  function plain(v) {
    if (v === null || typeof v === "boolean" || typeof v === "string") return v;
    if (typeof v === "number") return Number.isInteger(v) ? v : undefined;
    if (Array.isArray(v)) {
      const out = v.map(plain);
      return out.includes(undefined) ? undefined : out;
    }
    if (v instanceof Map) {
      const out = {};
      for (const [k, x] of v) {
        if (typeof k !== "string") return undefined;
        const p = plain(x);
        if (p === undefined) return undefined;
        out[k] = p;
      }
      return out;
    }
    return undefined;
  }

  function sameValue(a, b) {
    if (a === b) return true;
    if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return sameValue(ka, kb) && ka.every((k) => sameValue(a[k], b[k]));
  }

  // CBOR encodings the format spells out, for the log leaves (shortest heads).
  function cborText(s) {
    const b = enc.encode(s);
    return C().concat([SC.cbor.head(3, b.length), b]);
  }
  function cborBytes(b) {
    return C().concat([SC.cbor.head(2, b.length), b]);
  }
  function entryLeaf(deviceId, seq, digest) {
    return C().concat([Uint8Array.of(0x84), cborText("entry"), cborText(deviceId), SC.cbor.head(0, seq), cborBytes(digest)]);
  }
  function deviceLeaf(deviceId, publicKey) {
    return C().concat([Uint8Array.of(0x83), cborText("device"), cborText(deviceId), cborBytes(publicKey)]);
  }

  function hexList(list) {
    if (!Array.isArray(list)) return null;
    const out = list.map((h) => C().fromHex(h));
    return out.every((h) => h && h.length === 32) ? out : null;
  }

  // A gate that lets at most `width` of the tasks given to it run at once.
  function limiter(width) {
    let active = 0;
    const waiting = [];
    return async (task) => {
      if (active >= width) await new Promise((go) => waiting.push(go));
      active += 1;
      try {
        return await task();
      } finally {
        active -= 1;
        const go = waiting.shift();
        if (go) go();
      }
    };
  }

  // Whether the byte ranges of `chunks` and `parts` ({offset, bytes}) cover 0 .. size,
  // every byte once: then their hashes together stand for the whole file's.
  function covers(chunks, parts, size) {
    const ranges = [];
    for (const r of [...chunks, ...parts]) {
      if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.bytes) || r.offset < 0 || r.bytes < 0) return false;
      ranges.push([r.offset, r.bytes]);
    }
    for (const u of parts) if (typeof u.sha256 !== "string") return false;
    ranges.sort((a, b) => a[0] - b[0]);
    let pos = 0;
    for (const [offset, bytes] of ranges) {
      if (offset !== pos) return false;
      pos += bytes;
    }
    return pos === size;
  }

  class Check {
    constructor(files, progress) {
      this.files = files;
      this.progress = progress || (() => {});
      this.findings = [];
      this.steps = []; // [{key, pass}] for "what was checked"
      this.hashes = new Map(); // path -> {sha, bytes} already computed
      this.recordings = [];
      this.fileRows = [];
      this.timings = {}; // ms spent in each kind of work, for the benchmark
    }

    time(what, since) {
      this.timings[what] = (this.timings[what] || 0) + performance.now() - since;
    }

    find(code, item, key, fields, fail = true) {
      this.findings.push({ code, fail, item, key, fields: fields || {} });
    }

    failedSince(mark) {
      return this.findings.slice(mark).some((f) => f.fail);
    }

    step(key, mark, fields) {
      this.steps.push({ key, fields: fields || {}, pass: !this.failedSince(mark) });
    }

    file(path) {
      return typeof path === "string" ? this.files.get(path) : undefined;
    }

    async read(path) {
      const f = this.file(path);
      return f === undefined ? null : bytesOf(f);
    }

    async readJson(path, item) {
      const b = await this.read(path);
      if (b === null) {
        this.find("file-missing", path, "p_file_missing", { file: path });
        return null;
      }
      try {
        return JSON.parse(text(b));
      } catch (e) {
        this.find("unreadable", path, "p_unreadable", { file: path, why: e.message });
        return null;
      }
    }

    async run() {
      const raw = await this.read(MANIFEST);
      if (raw === null) throw new Unusable(MANIFEST);
      this.progress(MANIFEST);
      const manifest = await this.checkManifest(raw);
      if (manifest === null) return;
      this.manifest = manifest;
      await this.checkJson(manifest);
      const checkpoint = await this.checkCheckpoint(manifest);
      const devices = await this.checkDevices(manifest, checkpoint);
      for (const rec of Array.isArray(manifest.recordings) ? manifest.recordings : []) {
        this.progress(rec.item || rec.dir || "");
        await this.checkRecording(rec, devices, checkpoint);
      }
      await this.checkFiles(manifest);
    }

    // Step 1: the manifest's COSE_Sign1 signature by the host key.
    async checkManifest(raw) {
      const mark = this.findings.length;
      let msg, payload;
      try {
        msg = SC.cose.decodeSign1(SC.cbor.loads(raw));
        payload = SC.cbor.loads(msg.payload);
      } catch (e) {
        this.find("manifest-signature", MANIFEST, "p_manifest_unreadable", { file: MANIFEST, why: e.message });
        this.step("c_manifest", mark);
        return null;
      }
      const manifest = plain(payload);
      if (!manifest || typeof manifest !== "object" || Array.isArray(manifest)) {
        this.find("manifest-signature", MANIFEST, "p_manifest_unreadable", { file: MANIFEST, why: "not a map of text keys" });
        this.step("c_manifest", mark);
        return null;
      }
      const host = manifest.host || {};
      const keyPath = typeof host.key_file === "string" ? host.key_file : "host/host-key.txt";
      const keyBytes = await this.read(keyPath);
      let key = null;
      if (keyBytes === null) {
        this.find("file-missing", keyPath, "p_file_missing", { file: keyPath });
      } else {
        try {
          key = await SC.tlog.parseVerifierKey(text(keyBytes).trim());
        } catch (e) {
          this.find("manifest-signature", keyPath, "p_unreadable", { file: keyPath, why: e.message });
        }
      }
      let good = false;
      if (key !== null) {
        const protectedOk = C().hex(msg.protected) === C().hex(C().concat([Uint8Array.of(0xa2, 0x01, 0x27, 0x04), cborBytes(enc.encode(key.name))]));
        good = protectedOk && (await SC.cose.verify(msg, key.publicKey));
        if (good && (host.name !== key.name || host.public_key !== C().hex(key.publicKey))) good = false;
      }
      if (!good) this.find("manifest-signature", MANIFEST, "p_manifest_signature", { file: MANIFEST });
      this.hostKey = key;
      this.fingerprint = key ? C().hex(key.publicKey.subarray(0, 8)) : "";
      this.step("c_manifest", mark, { fingerprint: this.fingerprint });
      return manifest;
    }

    // Step 2: manifest.json holds the same value as the signed payload.
    async checkJson(manifest) {
      const mark = this.findings.length;
      const b = await this.read(MANIFEST_JSON);
      let same = false;
      if (b !== null) {
        try {
          same = sameValue(JSON.parse(text(b)), manifest);
        } catch (e) {
          same = false;
        }
      }
      if (b === null) this.find("file-missing", MANIFEST_JSON, "p_file_missing", { file: MANIFEST_JSON });
      else if (!same) this.find("manifest-json", MANIFEST_JSON, "p_manifest_json", { file: MANIFEST_JSON });
      this.step("c_manifest_json", mark);
    }

    // Step 4: the host log's checkpoint, signed by the host key, as the manifest names it.
    async checkCheckpoint(manifest) {
      const mark = this.findings.length;
      const cp = manifest.checkpoint || {};
      const path = typeof cp.file === "string" ? cp.file : "host/checkpoint.txt";
      const note = await this.read(path);
      let out = null;
      if (note === null) {
        this.find("file-missing", path, "p_file_missing", { file: path });
      } else if (this.hostKey) {
        try {
          out = await SC.tlog.openCheckpoint(note, this.hostKey.name, this.hostKey.publicKey);
          if (out.origin !== cp.origin || String(out.size) !== String(cp.size) || C().hex(out.root) !== cp.root) {
            this.find("checkpoint", path, "p_checkpoint", { why: "它与清单记载的不同 / it differs from the manifest's" });
            out = null;
          }
        } catch (e) {
          this.find("checkpoint", path, "p_checkpoint", { why: e.message });
        }
      } else {
        this.find("checkpoint", path, "p_checkpoint", { why: "no host key" });
      }
      this.step("c_checkpoint", mark);
      return out;
    }

    // Step 5: each device's key file and its enrolment, proven in the host log.
    async checkDevices(manifest, checkpoint) {
      const mark = this.findings.length;
      const out = new Map();
      for (const dev of Array.isArray(manifest.devices) ? manifest.devices : []) {
        const id = dev.id;
        let good = true;
        const keyBytes = await this.read(dev.key_file);
        let publicKey = C().fromHex(dev.public_key || "");
        if (keyBytes === null) {
          this.find("file-missing", dev.key_file, "p_file_missing", { file: dev.key_file });
          good = false;
        } else {
          try {
            const key = L().decodeKey(keyBytes);
            if (key.deviceId !== id || C().hex(key.publicKey) !== dev.public_key) throw new Error("the key is not the manifest's");
          } catch (e) {
            this.find("device-key", dev.key_file, "p_device_key", { file: dev.key_file, device: id, why: e.message });
            good = false;
          }
        }
        const enrol = await this.readJson(dev.enrolment_file, id);
        if (enrol !== null) {
          const proof = hexList(enrol.proof);
          const proven =
            checkpoint !== null && publicKey && publicKey.length === 32 && proof !== null &&
            enrol.device === id && enrol.public_key === dev.public_key &&
            String(enrol.tree_size) === String(checkpoint.size) &&
            SC.tlog.verifyInclusion(SC.tlog.leafHash(deviceLeaf(id, publicKey)), enrol.leaf_index, enrol.tree_size, proof, checkpoint.root);
          if (!proven) {
            this.find("enrolment", dev.enrolment_file, "p_enrolment", { file: dev.enrolment_file, device: id });
            good = false;
          }
        } else {
          good = false;
        }
        out.set(id, { publicKey, good, fingerprint: publicKey ? C().hex(publicKey.subarray(0, 8)) : "" });
      }
      this.step("c_devices", mark);
      return out;
    }

    async checkRecording(rec, devices, checkpoint) {
      const mark = this.findings.length;
      const name = rec.item || rec.dir || "?";
      const view = { rec, name, state: "ok", problems: 0, story: null, video: null, spoken: new Map(), badChunks: new Set() };
      this.recordings.push(view);
      const device = devices.get(rec.device) || { publicKey: null, good: false };
      // Step 7's reading and hashing starts now and runs beside the ledger's checks.
      const media = this.hashMedia(rec, name);
      media.catch(() => {}); // told where it is awaited, below; never an unhandled rejection
      // Step 6: the ledger, as the device signed it.
      const raw = await this.read(rec.entries_file);
      let entries = [];
      if (raw === null) {
        this.find("file-missing", rec.entries_file, "p_file_missing", { file: rec.entries_file });
      } else {
        const raws = [];
        let at = 0;
        try {
          while (at < raw.length) {
            const end = SC.cbor.decodeItem(raw, at)[1];
            raws.push(raw.subarray(at, end));
            at = end;
          }
        } catch (e) {
          this.find("ledger", rec.entries_file, "p_entry_unreadable", { rec: name, index: raws.length + 1, why: e.message });
        }
        const t = performance.now();
        const run = await L().checkRun(raws, device.publicKey, rec.device, null);
        this.time("ledger", t);
        entries = run.entries;
        // Told one by one up to a score of each kind (an unknown key fails every signature),
        // then counted.
        const told = new Map();
        for (const p of run.problems) {
          const n = (told.get(p.code) || 0) + 1;
          told.set(p.code, n);
          if (n <= 20) this.ledgerFinding(p, name, rec);
        }
        for (const [code, n] of told) {
          if (n > 20) this.find(code === "signature" ? "bad-signature" : code === "chain" || code === "seq-gap" ? "broken-chain" : "ledger", name, "p_more", { rec: name, n: n - 20 });
        }
        this.checkSpan(entries, rec, name);
      }
      const good = entries.filter((e) => e !== null);
      view.story = L().story(good);
      // Step 9: every entry in the host log's signed tree.
      const t = performance.now();
      await this.checkInclusion(good, rec, name, checkpoint);
      this.time("proofs", t);
      // Step 7: the chunks the entries sign, and the bytes of those included.
      this.checkChunks(good, rec, name, view, await media);
      // Steps 10 and 11: custody and approval.
      const proven = await this.checkCustody(rec, name, checkpoint);
      await this.checkApproval(rec, name, proven);
      const failed = this.findings.slice(mark).filter((f) => f.fail);
      for (const f of failed) if (f.code.startsWith("chunk-") && typeof f.fields.seq === "number") view.badChunks.add(f.fields.seq);
      view.problems = failed.length;
      if (!device.good || failed.some((f) => f.code === "device-key" || f.code === "enrolment")) view.state = "unknown_key";
      else if (failed.length) view.state = "not_ok";
      else if (rec.range || !view.story.stop) view.state = "ok_missing";
      else view.state = "ok";
      view.fingerprint = device.fingerprint;
      const playable = rec.playable && rec.playable.file;
      if (playable && this.file(playable)) view.video = this.file(playable);
      for (const [path, f] of this.files) {
        const m = path.match(/^(.*)\/spoken-(\d{8})\.wav$/);
        if (m && m[1] === rec.dir) view.spoken.set(Number(m[2]), f);
      }
    }

    ledgerFinding(p, name, rec) {
      const file = rec.entries_file;
      if (p.code === "unreadable") this.find("ledger", name, "p_entry_unreadable", { rec: name, index: p.index + 1, why: p.detail });
      else if (p.code === "signature") this.find("bad-signature", name, "p_entry_signature", { rec: name, seq: p.seq });
      else if (p.code === "chain") this.find("broken-chain", name, "p_entry_chain", { rec: name, seq: p.seq });
      else if (p.code === "seq-gap") this.find("broken-chain", name, "p_entry_gap", { rec: name, seq: p.seq, after: p.detail });
      else if (p.code === "device") this.find("ledger", name, "p_entry_device", { rec: name, seq: p.seq, device: p.detail });
      else if (p.code === "unsigned-tail") this.find("unsigned-tail", name, "p_entry_unsigned", { rec: name, seq: p.seq });
      else this.find("ledger", file, "p_unreadable", { file, why: p.code });
    }

    checkSpan(entries, rec, name) {
      const first = entries[0];
      const last = entries[entries.length - 1];
      const F = L().F;
      if (!first || first.kind !== L().KIND_EVENT || first.fields.get(F.EVENT) !== L().EV.RECORD_START ||
          !(first.fields.get(F.RECORDING) instanceof Uint8Array) || C().hex(first.fields.get(F.RECORDING)) !== rec.recording_id ||
          first.seq !== rec.first_seq) {
        this.find("ledger", name, "p_no_start", { rec: name });
      }
      if (!last || last.seq !== rec.last_seq) this.find("ledger", name, "p_span_end", { rec: name, seq: rec.last_seq });
    }

    // Step 7's reading and hashing, which needs only the signed manifest: which chunks the
    // package must hold (every one, or the range's and the init segment), each read from
    // its file and hashed. Runs while the ledger is checked; returns what it found, for
    // checkChunks to tell once the entries are known.
    async hashMedia(rec, name) {
      const out = { notes: [], changed: [], listed: Array.isArray(rec.chunks) ? rec.chunks : [] };
      const note = (code, key, fields, fail = true) => out.notes.push([code, key, fields, fail]);
      const range = rec.range;
      let left = 0;
      let lastIndex = null;
      const byFile = new Map(); // each file read once
      for (const c of out.listed) {
        const must = !range || c.media === "video/mp4-init" || (c.seq >= range.first_seq && c.seq <= range.last_seq);
        if (!must) {
          if (c.included) note("chunk-list", "p_chunk_list", { rec: name });
          left += 1;
          continue;
        }
        if (!c.included || !c.file) {
          note("chunk-missing", "p_chunk_missing", { rec: name, index: c.index, seq: c.seq });
          continue;
        }
        if (range && c.media !== "video/mp4-init") {
          if (lastIndex !== null && c.index !== lastIndex + 1) note("chunk-list", "p_chunk_list", { rec: name });
          lastIndex = c.index;
        }
        if (!byFile.has(c.file)) byFile.set(c.file, []);
        byFile.get(c.file).push(c);
      }
      if (left) note("chunks-left-out", "p_left_out", { rec: name, n: left }, false);
      for (const [path, chunks] of byFile) {
        const f = this.file(path);
        if (f === undefined) {
          for (const c of chunks) note("chunk-missing", "p_chunk_missing_file", { rec: name, index: c.index, seq: c.seq, file: path });
          continue;
        }
        this.progress(path);
        const t = performance.now();
        await this.readAndHash(path, f, chunks, (c) => note("chunk-missing", "p_chunk_missing_file", { rec: name, index: c.index, seq: c.seq, file: path }), (c, piece) => out.changed.push([c, piece, path]));
        this.time("media", t);
      }
      out.changed.sort((x, y) => x[0].seq - y[0].seq);
      return out;
    }

    // Read `f` whole (one read is faster than many slices in Chromium, measured) and hash
    // every chunk. When the chunks and the file's unsigned parts (the manifest's
    // `files[].unsigned`: pause subtitles, evidence box) cover every byte once, each part is
    // checked against the manifest and the file as a whole is not hashed again (step 3):
    // every byte is hashed once. Otherwise the whole file is hashed for the file list.
    // WebCrypto digests off the page's thread, so this runs beside the ledger's checks; a
    // few digests at a time, as each copies its input. Memory: the file once, plus the
    // pieces being hashed.
    async readAndHash(path, f, chunks, missing, changed) {
      const t = performance.now();
      const buf = await bytesOf(f);
      this.time("read", t);
      const size = buf.length;
      const row = this.fileRow(path);
      const parts = row && Array.isArray(row.unsigned) ? row.unsigned : [];
      const tiled = row !== undefined && size === row.bytes && covers(chunks, parts, size);
      let good = true;
      const limit = limiter(4);
      const tasks = [];
      for (const c of chunks) {
        const start = c.offset || 0;
        const end = c.bytes === null || c.bytes === undefined ? size : start + c.bytes;
        if (end > size || start > end) {
          missing(c);
          good = false;
          continue;
        }
        const piece = buf.subarray(start, end);
        tasks.push(limit(async () => {
          if (C().hex(await C().sha256(piece)) !== c.sha256) {
            good = false;
            changed(c, piece);
          }
        }));
      }
      if (tiled) {
        for (const u of parts) {
          const piece = buf.subarray(u.offset, u.offset + u.bytes);
          tasks.push(limit(async () => {
            if (C().hex(await C().sha256(piece)) !== u.sha256) good = false;
          }));
        }
      } else {
        tasks.push(limit(async () => this.hashes.set(path, { sha: C().hex(await C().sha256(buf)), bytes: size })));
      }
      await Promise.all(tasks);
      if (tiled) this.hashes.set(path, { covered: true, good, bytes: size });
    }

    fileRow(path) {
      const rows = this.manifest && Array.isArray(this.manifest.files) ? this.manifest.files : [];
      return rows.find((r) => r && r.path === path);
    }

    // Step 7's judgement, once the entries are known: the manifest's chunk list is exactly
    // the chunk entries the device signed, and what hashMedia found, told.
    checkChunks(entries, rec, name, view, media) {
      const F = L().F;
      const signed = entries.filter((e) => e.kind === L().KIND_CHUNK && e.fields.get(F.RECORDING) instanceof Uint8Array && C().hex(e.fields.get(F.RECORDING)) === rec.recording_id);
      const listed = media.listed;
      const bySeq = new Map(signed.map((e) => [e.seq, e]));
      let listOk = signed.length === listed.length;
      for (let i = 0; listOk && i < listed.length; i++) {
        const c = listed[i];
        const e = signed[i];
        const sha = e.fields.get(F.CIPHER_SHA) || e.fields.get(F.PLAIN_SHA);
        listOk = c.seq === e.seq && c.index === e.fields.get(F.CHUNK_INDEX) && c.media === MEDIA_NAMES[e.fields.get(F.MEDIA_TYPE)] && sha instanceof Uint8Array && c.sha256 === C().hex(sha);
      }
      if (!listOk) this.find("chunk-list", name, "p_chunk_list", { rec: name });
      for (const [code, key, fields, fail] of media.notes) this.find(code, name, key, fields, fail);
      for (const [c, piece, path] of media.changed) {
        this.find("chunk-changed", name, "p_chunk_changed", { rec: name, index: c.index, seq: c.seq, file: path });
        const e = bySeq.get(c.seq);
        if (e && e.fields.get(F.MEDIA_TYPE) === L().MEDIA_MP4) this.nameFrames(piece, e, c, name);
      }
      view.chunks = listed;
    }

    // Which frames of a changed fragment differ from the ones the device signed.
    nameFrames(piece, entry, c, name) {
      const signed = entry.fields.get(L().F.FRAME_HASHES) || [];
      let present;
      try {
        present = SC.mp4.videoSamples(piece).map((s) => C().sha256Sync(s).subarray(0, 16));
      } catch (e) {
        return; // the fragment no longer parses: the chunk finding says enough
      }
      const shown = SC.mp4.compareFrames(signed, present).slice(0, 20);
      for (const r of shown) {
        const frame = (r.signed >= 0 ? r.signed : r.present) + 1;
        const s = SC.t("frame_" + r.state);
        this.find("frame-" + r.state, name, "p_frame", { rec: name, index: c.index, frame, state: s.zh, state_en: s.en });
      }
    }

    async checkInclusion(entries, rec, name, checkpoint) {
      const proofs = await this.readJson(rec.proofs_file, name);
      if (proofs === null || checkpoint === null) {
        if (proofs !== null) this.find("inclusion", name, "p_inclusion_all", { rec: name });
        return;
      }
      const root = C().fromHex(proofs.root || "");
      if (String(proofs.tree_size) !== String(checkpoint.size) || !root || !C().equal(root, checkpoint.root)) {
        this.find("inclusion", name, "p_inclusion_all", { rec: name });
        return;
      }
      const rows = Array.isArray(proofs.entries) ? proofs.entries : [];
      const bySeq = new Map(rows.map((r) => [r.seq, r]));
      let shown = 0;
      for (const e of entries) {
        const row = bySeq.get(e.seq);
        const proof = row ? hexList(row.proof) : null;
        const ok = proof !== null && SC.tlog.verifyInclusion(SC.tlog.leafHash(entryLeaf(rec.device, e.seq, e.digest)), row.leaf_index, checkpoint.size, proof, checkpoint.root);
        if (!ok && shown++ < 20) this.find("inclusion", name, "p_inclusion", { rec: name, seq: e.seq });
      }
      if (shown > 20) this.find("inclusion", name, "p_more", { rec: name, n: shown - 20 });
    }

    async checkCustody(rec, name, checkpoint) {
      const proven = new Set();
      if (!rec.custody_file) return proven;
      const custody = await this.readJson(rec.custody_file, name);
      if (custody === null) return proven;
      for (const r of Array.isArray(custody.records) ? custody.records : []) {
        const leaf = C().fromHex(r.leaf || "");
        const proof = hexList(r.proof);
        let ok = leaf !== null && proof !== null && checkpoint !== null &&
          SC.tlog.verifyInclusion(SC.tlog.leafHash(leaf), r.leaf_index, checkpoint.size, proof, checkpoint.root);
        if (ok) {
          try {
            const v = SC.cbor.loads(leaf);
            ok = Array.isArray(v) && v[0] === "audit" && v[1] === r.seq && v[2] === r.at_ms && v[3] === r.actor &&
              v[4] === r.action && v[5] === r.item && v[6] === r.outcome;
          } catch (e) {
            ok = false;
          }
        }
        if (ok) proven.add(r.seq);
        else this.find("custody", rec.custody_file, "p_custody", { rec: name, seq: r.seq, file: rec.custody_file });
      }
      return proven;
    }

    async checkApproval(rec, name, proven) {
      if (!rec.restricted) return;
      if (!rec.approval_file) {
        this.find("approval", name, "p_approval", { rec: name });
        return;
      }
      const approval = await this.readJson(rec.approval_file, name);
      if (approval === null) return;
      const seqs = Array.isArray(approval.audit_seqs) ? approval.audit_seqs : [];
      if (!seqs.length || !seqs.every((s) => proven.has(s))) this.find("approval", rec.approval_file, "p_approval", { rec: name });
    }

    // Step 3: every listed file is there, of its size and SHA-256; unlisted files are told.
    async checkFiles(manifest) {
      const mark = this.findings.length;
      const listed = new Set([MANIFEST, MANIFEST_JSON]);
      for (const row of Array.isArray(manifest.files) ? manifest.files : []) {
        listed.add(row.path);
        const out = { path: row.path, category: row.category, format: row.format, bytes: row.bytes, sha: row.sha256, what: row.what, whatZh: row.what_zh, result: "ok" };
        this.fileRows.push(out);
        const f = this.file(row.path);
        if (f === undefined) {
          out.result = "missing";
          this.find("file-missing", row.path, "p_file_missing", { file: row.path });
          continue;
        }
        let got = this.hashes.get(row.path);
        if (got === undefined) {
          this.progress(row.path);
          got = { sha: C().hex(await C().sha256(await bytesOf(f))), bytes: f.size };
        }
        const changed = got.covered ? !got.good || got.bytes !== row.bytes : got.bytes !== row.bytes || got.sha !== row.sha256;
        if (changed) {
          out.result = "changed";
          this.find("file-changed", row.path, "p_file_changed", { file: row.path });
        }
      }
      for (const path of this.files.keys()) {
        if (!listed.has(path)) {
          this.fileRows.push({ path, category: "", bytes: this.files.get(path).size, sha: "", result: "extra" });
          this.find("extra-file", path, "p_file_extra", { file: path }, false);
        }
      }
      this.step("c_files", mark, { n: this.fileRows.length });
    }
  }

  // Check the package whose files are `fileList` (a FileList or array of File, with
  // webkitRelativePath); `progress(what)` hears what is being read.
  async function verifyPackage(fileList, progress) {
    const files = indexFiles(fileList);
    const check = new Check(files, progress);
    try {
      await check.run();
    } catch (e) {
      if (e instanceof Unusable) return { usable: false, missing: e.message };
      check.find("internal", "", "p_internal", { why: e && e.message ? e.message : String(e) });
    }
    const problems = check.findings.filter((f) => f.fail);
    return {
      usable: true,
      ok: problems.length === 0,
      findings: check.findings,
      problems,
      steps: check.steps,
      manifest: check.manifest || null,
      fingerprint: check.fingerprint || "",
      recordings: check.recordings,
      files: check.fileRows,
      timings: check.timings,
    };
  }

  return { verifyPackage, indexFiles, entryLeaf, deviceLeaf, plain, sameValue, MEDIA_NAMES };
})();
