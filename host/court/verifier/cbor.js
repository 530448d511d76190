// Deterministic CBOR (RFC 8949 §4.2.1), read strictly: the same rules as protocol/cbor.py's
// loads. Anything another encoder could have written differently (a long head, an indefinite
// length, unsorted or repeated keys, a wider float than needed) is refused, as is truncated
// or too deeply nested input. Declared lengths are checked against the bytes present before
// anything is read, so input cannot make the page allocate more than its own size.
//
// Values: unsigned and negative integers are Numbers while they are safe integers, BigInts
// beyond (bignum tags 2 and 3 included); byte strings are Uint8Arrays (views into the input);
// text is a string; arrays are Arrays; maps are Maps; tags are SC.cbor.Tag; floats Numbers;
// true, false, null.
"use strict";
var SC = globalThis.SC || (globalThis.SC = {});

SC.cbor = (function () {
  const MAX_DEPTH = 32;
  const MAJOR_NAMES = ["unsigned", "negative", "bytes", "text", "array", "map", "tag", "simple"];
  const UINT64_LIMIT = 1n << 64n;

  class DecodeError extends Error {
    constructor(message, offset) {
      super(message);
      this.name = "DecodeError";
      this.offset = offset;
    }
  }

  class Tag {
    constructor(tag, value) {
      this.tag = tag;
      this.value = value;
    }
  }

  // Half-precision floats: all 65536 of them are tabulated once, so that both decoding and
  // "is this value exactly a half?" are a lookup, with no rounding code to get wrong.
  let halfValues = null;
  let halfBits = null;
  function halves() {
    if (halfValues === null) {
      halfValues = new Float64Array(65536);
      halfBits = new Map();
      for (let bits = 0; bits < 65536; bits++) {
        const sign = bits & 0x8000 ? -1 : 1;
        const exp = (bits >> 10) & 0x1f;
        const frac = bits & 0x3ff;
        let v;
        if (exp === 0) v = sign * frac * Math.pow(2, -24);
        else if (exp === 31) v = frac ? NaN : sign * Infinity;
        else v = sign * (1 + frac / 1024) * Math.pow(2, exp - 15);
        halfValues[bits] = v;
        if (v === v && v !== 0 && !halfBits.has(v)) halfBits.set(v, bits);
      }
    }
    return halfValues;
  }

  // The shortest encoding of a float, as protocol/cbor.py's _float_bytes writes it.
  function floatBytes(x) {
    if (x !== x) return Uint8Array.of(0xf9, 0x7e, 0x00);
    halves();
    let bits;
    if (x === 0) bits = Object.is(x, -0) ? 0x8000 : 0;
    else bits = halfBits.get(x);
    if (bits !== undefined) return Uint8Array.of(0xf9, bits >> 8, bits & 0xff);
    if (Math.fround(x) === x) {
      const out = new Uint8Array(5);
      out[0] = 0xfa;
      new DataView(out.buffer).setFloat32(1, x);
      return out;
    }
    const out = new Uint8Array(9);
    out[0] = 0xfb;
    new DataView(out.buffer).setFloat64(1, x);
    return out;
  }

  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  function compareBytes(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) return a[i] - b[i];
    }
    return a.length - b.length;
  }

  function num(big) {
    const safe = BigInt(Number.MAX_SAFE_INTEGER);
    return big <= safe && big >= -safe ? Number(big) : big;
  }

  // What a map key is equal to in the Python reader (1, 1.0 and true are one key there):
  // two keys with the same identity collide and are refused, as they are in Python.
  function keyIdentity(key) {
    if (typeof key === "boolean") return "n:" + (key ? "1" : "0");
    if (typeof key === "bigint") return "n:" + key.toString();
    if (typeof key === "number") {
      if (Number.isInteger(key)) return "n:" + BigInt(key).toString();
      return "f:" + String(key) + ":" + Math.random(); // NaN never equals; others are unique
    }
    if (typeof key === "string") return "s:" + key;
    if (key === null) return "null";
    if (key instanceof Uint8Array) return "b:" + SC.cbor.hex(key);
    if (key instanceof Tag) return "t:" + String(key.tag) + ":" + keyIdentity(key.value);
    if (Array.isArray(key)) return "a:[" + key.map(keyIdentity).join(",") + "]";
    return "?:" + Math.random();
  }

  class Reader {
    constructor(data, pos, end, maxDepth) {
      this.data = data;
      this.pos = pos;
      this.end = end;
      this.maxDepth = maxDepth;
    }

    take(n, what) {
      const start = this.pos;
      const left = this.end - start;
      if (typeof n === "bigint" ? n > BigInt(left) : n > left) {
        throw new DecodeError(
          "input ends inside " + what + ": " + n + " bytes needed, " + left + " left",
          start
        );
      }
      this.pos = start + Number(n);
      return this.data.subarray(start, this.pos);
    }

    // [major, additional info, argument, start]; an argument of 8 bytes may be a BigInt.
    head() {
      const start = this.pos;
      if (start >= this.end) throw new DecodeError("input ends where a data item should start", start);
      const ib = this.data[start];
      this.pos = start + 1;
      const major = ib >> 5;
      const ai = ib & 0x1f;
      if (ai < 24) return [major, ai, ai, start];
      if (ai === 31) throw new DecodeError("indefinite-length " + MAJOR_NAMES[major] + " is not deterministic", start);
      if (ai > 27) throw new DecodeError("reserved additional information " + ai, start);
      if (major === 7) return [major, ai, 0, start];
      const size = 1 << (ai - 24);
      const raw = this.take(size, "an integer argument");
      let arg;
      if (size === 8) {
        arg = num(new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0));
      } else {
        arg = 0;
        for (let i = 0; i < size; i++) arg = arg * 256 + raw[i];
      }
      const least = size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : 0x100000000;
      if (arg < least) throw new DecodeError("argument " + arg + " is not in its shortest form", start);
      return [major, ai, arg, start];
    }
  }

  function decode(r, depth) {
    if (depth > r.maxDepth) throw new DecodeError("nesting deeper than " + r.maxDepth + " levels", r.pos);
    const [major, ai, arg, start] = r.head();
    switch (major) {
      case 0:
        return arg;
      case 1:
        return typeof arg === "bigint" ? -1n - arg : num(-1n - BigInt(arg));
      case 2:
        return r.take(arg, "a byte string");
      case 3: {
        const raw = r.take(arg, "a text string");
        try {
          return utf8.decode(raw);
        } catch (e) {
          throw new DecodeError("text string is not valid UTF-8", start);
        }
      }
      case 4: {
        if (arg > r.end - r.pos) throw new DecodeError("array of " + arg + " items is longer than the input", start);
        const out = new Array(arg);
        for (let i = 0; i < arg; i++) out[i] = decode(r, depth + 1);
        return out;
      }
      case 5:
        return decodeMap(r, arg, start, depth);
      case 6:
        return decodeTag(r, arg, start, depth);
      default:
        return decodeSimple(r, ai, start);
    }
  }

  function decodeMap(r, count, start, depth) {
    if (2 * Number(count) > r.end - r.pos) throw new DecodeError("map of " + count + " pairs is longer than the input", start);
    const out = new Map();
    const seen = new Set();
    let previous = new Uint8Array(0);
    for (let i = 0; i < count; i++) {
      const keyStart = r.pos;
      const key = decode(r, depth + 1);
      const encoded = r.data.subarray(keyStart, r.pos);
      const order = compareBytes(encoded, previous);
      if (order <= 0) {
        throw new DecodeError("map key is " + (order === 0 ? "repeated" : "not in deterministic order"), keyStart);
      }
      previous = encoded;
      if (Array.isArray(key) || key instanceof Map) {
        throw new DecodeError("map keys that are arrays or maps are not supported", keyStart);
      }
      const id = keyIdentity(key);
      if (seen.has(id)) throw new DecodeError("map key collides with an earlier key", keyStart);
      seen.add(id);
      out.set(key, decode(r, depth + 1));
    }
    return out;
  }

  function decodeTag(r, tag, start, depth) {
    const value = decode(r, depth + 1);
    if (tag === 2 || tag === 3) {
      if (!(value instanceof Uint8Array)) throw new DecodeError("bignum tag " + tag + " must hold a byte string", start);
      if (value.length === 0 || value[0] === 0) throw new DecodeError("bignum has leading zero bytes", start);
      let n = 0n;
      for (const b of value) n = (n << 8n) | BigInt(b);
      if (n < UINT64_LIMIT) throw new DecodeError("bignum fits in 64 bits and must be a plain integer", start);
      return tag === 2 ? n : -1n - n;
    }
    return new Tag(tag, value);
  }

  function decodeSimple(r, ai, start) {
    if (ai === 20) return false;
    if (ai === 21) return true;
    if (ai === 22) return null;
    if (ai >= 25 && ai <= 27) {
      const size = 1 << (ai - 24);
      const raw = r.take(size, "a float");
      const view = new DataView(raw.buffer, raw.byteOffset, size);
      let value;
      if (size === 2) value = halves()[view.getUint16(0)];
      else if (size === 4) value = view.getFloat32(0);
      else value = view.getFloat64(0);
      const shortest = floatBytes(value);
      if (compareBytes(shortest, r.data.subarray(start, r.pos)) !== 0) {
        throw new DecodeError("float is not in its shortest form", start);
      }
      return value;
    }
    throw new DecodeError("simple value " + ai + " is not supported", start);
  }

  function asBytes(data) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    throw new TypeError("CBOR input must be a Uint8Array or an ArrayBuffer");
  }

  // The one item that starts at `offset`: [value, end offset]. `end` bounds the input.
  function decodeItem(data, offset = 0, end = -1, maxDepth = MAX_DEPTH) {
    const bytes = asBytes(data);
    const r = new Reader(bytes, offset, end < 0 ? bytes.length : end, maxDepth);
    const value = decode(r, 0);
    return [value, r.pos];
  }

  // `data` must be exactly one deterministic data item.
  function loads(data, maxDepth = MAX_DEPTH) {
    const bytes = asBytes(data);
    const [value, end] = decodeItem(bytes, 0, -1, maxDepth);
    if (end !== bytes.length) throw new DecodeError(bytes.length - end + " bytes follow the data item", end);
    return value;
  }

  // The shortest head of major type `major` with argument n (a Number or a BigInt), for
  // building Sig_structure and log leaf bytes.
  function head(major, n) {
    const mt = major << 5;
    if (typeof n === "bigint" && n <= BigInt(Number.MAX_SAFE_INTEGER)) n = Number(n);
    if (typeof n === "number" && n < 24) return Uint8Array.of(mt | n);
    if (typeof n === "number" && n < 0x100) return Uint8Array.of(mt | 24, n);
    if (typeof n === "number" && n < 0x10000) return Uint8Array.of(mt | 25, n >> 8, n & 0xff);
    if (typeof n === "number" && n < 0x100000000) return Uint8Array.of(mt | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
    const out = new Uint8Array(9);
    out[0] = mt | 27;
    new DataView(out.buffer).setBigUint64(1, BigInt(n));
    return out;
  }

  function hex(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return s;
  }

  // A plain description of a decoded value, the same one the tests build in Python, so the
  // two readers can be compared value for value.
  function describe(v) {
    if (v === null || v === true || v === false) return v;
    if (typeof v === "bigint") return { i: v.toString() };
    if (typeof v === "number") {
      // a number here is a float: integers are described from their bytes (describeItem);
      // its IEEE 754 double bits in hex, so that no conversion on the way rounds it
      if (v !== v) return { f: "nan" };
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v);
      return { f: hex(b) };
    }
    if (typeof v === "string") return { s: v };
    if (v instanceof Uint8Array) return { b: hex(v) };
    if (Array.isArray(v)) return { a: v.map(describe) };
    if (v instanceof Map) return { m: Array.from(v, ([k, x]) => [describe(k), describe(x)]) };
    if (v instanceof Tag) return { tag: String(v.tag), v: describe(v.value) };
    return { unknown: String(v) };
  }

  // describe() cannot tell the integer 1 from the float 1.0 once decoded (both are the
  // Number 1), so this walks the checked bytes again, their major type deciding.
  function describeItem(data) {
    const bytes = asBytes(data);
    loads(bytes);
    return describeTyped(bytes, 0)[0];
  }

  // A typed walk over already-validated bytes: gives the description with the CBOR major
  // type deciding between integer and float.
  function describeTyped(bytes, pos) {
    const ib = bytes[pos];
    const major = ib >> 5;
    const r = new Reader(bytes, pos, bytes.length, 1 << 30);
    if (major === 0 || major === 1) {
      const v = decode(r, 0);
      return [{ i: String(v) }, r.pos];
    }
    if (major === 4) {
      const [, , n] = r.head();
      let p = r.pos;
      const out = [];
      for (let i = 0; i < n; i++) {
        const [d, q] = describeTyped(bytes, p);
        out.push(d);
        p = q;
      }
      return [{ a: out }, p];
    }
    if (major === 5) {
      const [, , n] = r.head();
      let p = r.pos;
      const out = [];
      for (let i = 0; i < n; i++) {
        const [k, q] = describeTyped(bytes, p);
        const [x, s] = describeTyped(bytes, q);
        out.push([k, x]);
        p = s;
      }
      return [{ m: out }, p];
    }
    if (major === 6) {
      const [, , tag] = r.head();
      if (tag === 2 || tag === 3) {
        const v = decode(new Reader(bytes, pos, bytes.length, 1 << 30), 0);
        const end = decodeItem(bytes, pos)[1];
        return [{ i: v.toString() }, end];
      }
      const [d, q] = describeTyped(bytes, r.pos);
      return [{ tag: String(tag), v: d }, q];
    }
    const v = decode(r, 0);
    return [describe(v), r.pos];
  }

  return { DecodeError, Tag, decodeItem, loads, head, hex, describe, describeItem, floatBytes, MAX_DEPTH };
})();
