// COSE_Sign1 (RFC 9052 §4.2) with EdDSA, as protocol/cose.py writes it: the message is
// 18([protected, {}, payload, signature]), protected the encoded map {1: -8, 4: kid}, and
// the signature covers the Sig_structure ["Signature1", protected, h'', payload].
"use strict";
var SC = globalThis.SC || (globalThis.SC = {});

SC.cose = (function () {
  const TAG_SIGN1 = 18;
  const ALG_EDDSA = -8;
  const enc = new TextEncoder();
  const CONTEXT = enc.encode("Signature1");

  class CoseError extends Error {}

  // The decoded message's parts: {protected, kid, payload, signature}; CoseError if the
  // shape is not ours. An empty signature is allowed: entries between two signatures under
  // the signing cadence carry none and are covered by the next signed entry's chain.
  function decodeSign1(item) {
    if (!(item instanceof SC.cbor.Tag) || item.tag !== TAG_SIGN1) throw new CoseError("not a COSE_Sign1 message (tag 18)");
    const parts = item.value;
    if (!Array.isArray(parts) || parts.length !== 4) throw new CoseError("COSE_Sign1 must be an array of 4 items");
    const [prot, unprot, payload, signature] = parts;
    if (!(prot instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
      throw new CoseError("COSE_Sign1 protected header, payload and signature must be byte strings");
    }
    if (!(unprot instanceof Map)) throw new CoseError("COSE_Sign1 unprotected header must be a map");
    let header;
    try {
      header = SC.cbor.loads(prot);
    } catch (e) {
      throw new CoseError("protected header is not deterministic CBOR: " + e.message);
    }
    if (!(header instanceof Map) || header.get(1) !== ALG_EDDSA) throw new CoseError("protected header must name algorithm EdDSA (-8)");
    const kid = header.get(4);
    if (!(kid instanceof Uint8Array)) throw new CoseError("protected header must carry a kid");
    if (signature.length !== 0 && signature.length !== 64) throw new CoseError("an Ed25519 signature is 64 bytes, not " + signature.length);
    return { protected: prot, kid, payload, signature };
  }

  function toBeSigned(prot, payload, externalAad = new Uint8Array(0)) {
    const h = SC.cbor.head;
    return SC.crypto.concat([
      Uint8Array.of(0x84),
      h(3, CONTEXT.length),
      CONTEXT,
      h(2, prot.length),
      prot,
      h(2, externalAad.length),
      externalAad,
      h(2, payload.length),
      payload,
    ]);
  }

  // Whether a decoded message's signature is `publicKey`'s.
  function verify(msg, publicKey) {
    if (msg.signature.length !== 64) return Promise.resolve(false);
    return SC.crypto.verifyEd25519(publicKey, msg.signature, toBeSigned(msg.protected, msg.payload));
  }

  return { CoseError, decodeSign1, toBeSigned, verify, TAG_SIGN1 };
})();
