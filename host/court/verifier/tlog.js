// The host's log as a reader outside the agency checks it (host/tlog.py is the reference):
// RFC 6962 leaf and node hashes, inclusion proofs verified as RFC 9162 §2.1.3.2, and the
// C2SP signed-note checkpoint with its Ed25519 signature line.
"use strict";
var SC = globalThis.SC || (globalThis.SC = {});

SC.tlog = (function () {
  const C = () => SC.crypto;
  const enc = new TextEncoder();
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const MAX_NOTE_BYTES = 1 << 16;
  const MAX_SIGNATURES = 100;
  const MAX_TREE_SIZE = (1n << 64n) - 1n;
  const PREFIX = "\u2014 ";

  class CheckpointError extends Error {}

  function leafHash(data) {
    return C().sha256Sync(C().concat([Uint8Array.of(0), data]));
  }

  const nodeBuf = new Uint8Array(65);
  nodeBuf[0] = 1;

  function nodeHash(left, right) {
    nodeBuf.set(left, 1);
    nodeBuf.set(right, 33);
    return C().sha256Sync(nodeBuf);
  }

  function isHash(h) {
    return h instanceof Uint8Array && h.length === 32;
  }

  // Whether `proof` shows the leaf `leaf` (its leaf hash) at `index` in the tree of `size`
  // leaves whose root is `root`. Index and size may be Numbers or BigInts.
  function verifyInclusion(leaf, index, size, proof, root) {
    let fn, sn;
    try {
      fn = BigInt(index);
      sn = BigInt(size);
    } catch (e) {
      return false;
    }
    if (fn < 0n || sn > MAX_TREE_SIZE || fn >= sn) return false;
    if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false;
    sn -= 1n;
    let node = leaf;
    for (const sibling of proof) {
      if (sn === 0n) return false; // longer than the tree is deep
      if (fn & 1n || fn === sn) {
        node = nodeHash(sibling, node);
        while (!(fn & 1n) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        node = nodeHash(node, sibling);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && C().equal(node, root);
  }

  function noteText(data, what) {
    let text;
    try {
      text = utf8.decode(data);
    } catch (e) {
      throw new CheckpointError("the " + what + " is not valid UTF-8");
    }
    for (const ch of text) {
      if (ch < " " && ch !== "\n") throw new CheckpointError("the " + what + " holds a control character");
    }
    return text;
  }

  function keyNameProblem(name) {
    if (typeof name !== "string" || !name) return "a key name is non-empty text";
    if (/[\u0000-\u001f]/.test(name)) return "the key name holds a control character";
    if (name.includes("+") || /\s/.test(name)) return "a key name holds no spaces and no '+'";
    return "";
  }

  // The C2SP key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4].
  async function noteKeyHash(name, publicKey) {
    const digest = C().sha256Sync(C().concat([enc.encode(name), Uint8Array.of(0x0a, 0x01), publicKey]));
    return digest.subarray(0, 4);
  }

  // (name, public key) of a verifier key "name+hex(key ID)+base64(0x01 || key)".
  async function parseVerifierKey(vkey) {
    const first = vkey.indexOf("+");
    const second = vkey.indexOf("+", first + 1);
    if (first < 0 || second < 0) throw new CheckpointError("the verifier key is not name+id+key");
    const name = vkey.slice(0, first);
    const problem = keyNameProblem(name);
    if (problem) throw new CheckpointError("the verifier key's name: " + problem);
    const material = C().b64decode(vkey.slice(second + 1));
    if (!material || material.length !== 33 || material[0] !== 1) throw new CheckpointError("the verifier key is not an Ed25519 key");
    const publicKey = material.subarray(1);
    if (vkey.slice(first + 1, second) !== C().hex(await noteKeyHash(name, publicKey))) {
      throw new CheckpointError("the verifier key's ID does not match its name and key");
    }
    return { name, publicKey };
  }

  // The body of `note` (bytes) once the signature by (name, publicKey) verifies; other
  // signers' lines are passed over, as C2SP signed-note says, but must be well formed.
  async function openNote(note, name, publicKey) {
    if (keyNameProblem(name) || !(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
      throw new CheckpointError("cannot check a note with this key");
    }
    if (note.length > MAX_NOTE_BYTES) throw new CheckpointError("the note is over " + MAX_NOTE_BYTES + " bytes");
    const text = noteText(note, "note");
    const split = text.lastIndexOf("\n\n");
    if (split < 0) throw new CheckpointError("the note has no blank line before its signatures");
    const body = enc.encode(text.slice(0, split + 1));
    const block = text.slice(split + 2);
    if (!block.endsWith("\n")) throw new CheckpointError("the note's signature lines do not end with a newline");
    const lines = block.slice(0, -1).split("\n");
    if (lines.length > MAX_SIGNATURES) throw new CheckpointError("the note has too many signatures");
    const keyId = await noteKeyHash(name, publicKey);
    let found = false;
    for (const line of lines) {
      if (!line.startsWith(PREFIX)) throw new CheckpointError("a note signature line does not start with an em dash");
      const rest = line.slice(PREFIX.length);
      const space = rest.indexOf(" ");
      if (space < 0) throw new CheckpointError("a note signature line has no signature after the key name");
      const signer = rest.slice(0, space);
      if (keyNameProblem(signer)) throw new CheckpointError("a note signature line's key name is malformed");
      const raw = C().b64decode(rest.slice(space + 1));
      if (!raw) throw new CheckpointError("a note signature is not canonical base64");
      if (raw.length <= 4) throw new CheckpointError("a note signature is too short to hold a key ID");
      if (signer !== name || !C().equal(raw.subarray(0, 4), keyId)) continue;
      const signature = raw.subarray(4);
      if (signature.length !== 64) throw new CheckpointError("the signature by " + name + " is not an Ed25519 signature");
      if (!(await C().verifyEd25519(publicKey, signature, body))) {
        throw new CheckpointError("the signature by " + name + " does not verify");
      }
      found = true;
    }
    if (!found) throw new CheckpointError("the note carries no signature by " + name + " with this key");
    return body;
  }

  // {origin, size (BigInt), root, extensions} of a checkpoint body; CheckpointError if not exact.
  function parseCheckpointBody(body) {
    const text = noteText(body, "checkpoint");
    if (!text.endsWith("\n")) throw new CheckpointError("the checkpoint does not end with a newline");
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) throw new CheckpointError("a checkpoint has an origin, a size and a root hash line");
    if (lines.some((l) => !l)) throw new CheckpointError("the checkpoint has an empty line");
    const [origin, sizeText, rootText] = lines;
    if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || sizeText.length > 20) throw new CheckpointError("the checkpoint's size is not a plain decimal number");
    const size = BigInt(sizeText);
    if (size > MAX_TREE_SIZE) throw new CheckpointError("the checkpoint's size is beyond 2^64-1");
    const root = C().b64decode(rootText);
    if (!root) throw new CheckpointError("the checkpoint's root hash is not canonical base64");
    if (root.length !== 32) throw new CheckpointError("the checkpoint's root hash is not 32 bytes");
    return { origin, size, root, extensions: lines.slice(3) };
  }

  async function openCheckpoint(note, name, publicKey) {
    return parseCheckpointBody(await openNote(note, name, publicKey));
  }

  return { CheckpointError, leafHash, nodeHash, verifyInclusion, noteKeyHash, parseVerifierKey, openNote, parseCheckpointBody, openCheckpoint };
})();
