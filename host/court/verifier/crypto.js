// SHA-256 and Ed25519 through WebCrypto, which a page opened from a file has (a secure
// context), and the byte helpers the checks share.
"use strict";
var SC = globalThis.SC || (globalThis.SC = {});

SC.crypto = (function () {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;

  function need() {
    if (!subtle) throw new Error("no-webcrypto");
  }

  async function sha256(bytes) {
    need();
    return new Uint8Array(await subtle.digest("SHA-256", bytes));
  }

  // SHA-256 (FIPS 180-4) in plain JavaScript, for the many small inputs (tree nodes of
  // 65 bytes, entries of a few hundred): a WebCrypto call per node costs far more in
  // promise round trips than the hashing. Large buffers go to WebCrypto (sha256 above).
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const W = new Uint32Array(64);

  const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const H = new Int32Array(8);
  const SMALL = new Uint8Array(128); // the padded message of inputs up to 119 bytes, reused

  function sha256Sync(data) {
    const n = data.length;
    const blocks = (n + 9 + 63) >> 6;
    let padded;
    if (blocks <= 2) {
      padded = SMALL;
      padded.fill(0);
    } else {
      padded = new Uint8Array(blocks << 6);
    }
    padded.set(data);
    padded[n] = 0x80;
    const end = blocks << 6;
    const hi = Math.floor(n / 0x20000000); // the bit length's upper 32 bits
    const lo = (n << 3) >>> 0;
    padded[end - 8] = hi >>> 24;
    padded[end - 7] = (hi >>> 16) & 0xff;
    padded[end - 6] = (hi >>> 8) & 0xff;
    padded[end - 5] = hi & 0xff;
    padded[end - 4] = lo >>> 24;
    padded[end - 3] = (lo >>> 16) & 0xff;
    padded[end - 2] = (lo >>> 8) & 0xff;
    padded[end - 1] = lo & 0xff;
    H.set(H0);
    for (let off = 0; off < end; off += 64) {
      for (let i = 0, p = off; i < 16; i++, p += 4) {
        W[i] = (padded[p] << 24) | (padded[p + 1] << 16) | (padded[p + 2] << 8) | padded[p + 3];
      }
      for (let i = 16; i < 64; i++) {
        const a = W[i - 15], b = W[i - 2];
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
      }
      let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0;
        d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) {
      const x = H[i];
      out[4 * i] = x >>> 24;
      out[4 * i + 1] = (x >>> 16) & 0xff;
      out[4 * i + 2] = (x >>> 8) & 0xff;
      out[4 * i + 3] = x & 0xff;
    }
    return out;
  }

  // Imported keys by their hex, so a recording's thousands of entries import one key once.
  const keys = new Map();

  async function importKey(publicKey) {
    const id = SC.cbor.hex(publicKey);
    let key = keys.get(id);
    if (key === undefined) {
      need();
      key = subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      keys.set(id, key);
    }
    return key;
  }

  // Whether `signature` is `publicKey`'s Ed25519 signature of `message`; a malformed key or
  // signature is a signature that does not verify.
  async function verifyEd25519(publicKey, signature, message) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
    try {
      const key = await importKey(publicKey);
      return await subtle.verify({ name: "Ed25519" }, key, signature, message);
    } catch (e) {
      return false;
    }
  }

  function concat(parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  function b64encode(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      s += B64[n >> 18] + B64[(n >> 12) & 63];
      s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
      s += i + 2 < bytes.length ? B64[n & 63] : "=";
    }
    return s;
  }

  // Standard base64 with padding, in its one canonical spelling only (as host/tlog.py reads
  // it); null for anything else.
  function b64decode(text) {
    if (typeof text !== "string" || text.length % 4 !== 0) return null;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
    const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
    const out = new Uint8Array((text.length / 4) * 3 - pad);
    let at = 0;
    for (let i = 0; i < text.length; i += 4) {
      let n = 0;
      for (let j = 0; j < 4; j++) {
        const c = text[i + j];
        n = (n << 6) | (c === "=" ? 0 : B64.indexOf(c));
      }
      const three = [n >> 16, (n >> 8) & 255, n & 255];
      for (let j = 0; j < 3 && at < out.length; j++) out[at++] = three[j];
    }
    return b64encode(out) === text ? out : null;
  }

  function fromHex(text) {
    if (typeof text !== "string" || text.length % 2 || !/^[0-9a-f]*$/.test(text)) return null;
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  return { sha256, sha256Sync, verifyEd25519, concat, equal, b64encode, b64decode, fromHex, hex: (b) => SC.cbor.hex(b) };
})();
