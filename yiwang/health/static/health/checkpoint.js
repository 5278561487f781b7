// Checking health codes on the checkpoint page (health/checkpoint.html), in the browser.
//
// The page downloads a trust bundle (the keys the platform accepts for health codes) and
// keeps it in localStorage; a service worker keeps the page and its scripts. Each code is
// then checked here, without network, in the same steps and with the same verdicts as the
// server (yiwang.certificates.signedqr.verify and yiwang.health.codes):
// prefix, Base45, zlib, CBOR, COSE_Sign1, the key, the ECDSA P-256 signature (WebCrypto),
// the CWT's validity against this phone's clock, the key's allowed types, the claims.
// A photo, or a browser without what this needs, goes to the server as before.
(function () {
  "use strict";
  var form = document.getElementById("verify-form");
  var area = document.getElementById("checkpoint-result");
  var box = document.getElementById("checkpoint-bundle");
  var messagesNode = document.getElementById("checkpoint-messages");
  if (!form || !area || !box || !messagesNode || !window.isSecureContext || !window.crypto ||
      !window.crypto.subtle || !window.DecompressionStream || !window.TextDecoder ||
      !window.fetch || !window.Promise) {
    return;
  }
  var M = JSON.parse(messagesNode.textContent);
  var STORE = "yiwang.health.checkpoint.trust";
  var CACHE = "yiwang-health-checkpoint-v1";
  var CODE_TYPE = "health-code";
  var MAX_TEXT_LENGTH = 8192;
  var MAX_DECOMPRESSED = 256 * 1024;
  var MAX_DEPTH = 64;
  // A phone's clock may run a little behind the platform's: a code shown a moment ago
  // is not "not valid yet" for that.
  var CLOCK_SKEW_SECONDS = 60;
  // Python's datetime range: a timestamp outside it is a bad claim on the server too.
  var MIN_TIMESTAMP = -62135596800;
  var MAX_TIMESTAMP = 253402300799;
  var ACTIONS = {green: "pass", yellow: "flag", red: "refuse"};
  var ES256 = -7;
  var status = document.getElementById("checkpoint-bundle-status");
  var warning = document.getElementById("checkpoint-bundle-warning");
  var timeZone = box.dataset.timeZone || undefined;
  var bundle = null;
  var cryptoKeys = {};
  var checks = 0;  // results shown so far, on each result as data-sequence

  function Fail(verdict, detail) {
    this.verdict = verdict;
    this.detail = detail;
  }
  function fail(verdict, detail) { throw new Fail(verdict, detail); }
  function format(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (all, name) {
      return name in values ? String(values[name]) : all;
    });
  }
  function clock(moment) {
    var options = {hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false};
    try {
      return new Intl.DateTimeFormat("en-GB", Object.assign({timeZone: timeZone}, options))
        .format(moment);
    } catch (error) {
      return new Intl.DateTimeFormat("en-GB", options).format(moment);
    }
  }
  function dayAndClock(moment) {
    var options = {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", hour12: false, timeZone: timeZone};
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-GB", options).formatToParts(moment).forEach(function (part) {
        parts[part.type] = part.value;
      });
    } catch (error) {
      return moment.toISOString();
    }
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }

  // -------------------------------------------------------------------------------------
  // The layers, outside in

  function unprefix(text) {
    if (!text) { fail("not_a_qr", "no QR code text"); }
    if (text.length > MAX_TEXT_LENGTH) { fail("not_a_qr", "too long for a QR code"); }
    var prefixes = bundle.prefixes || [];
    for (var i = 0; i < prefixes.length; i += 1) {
      if (text.indexOf(prefixes[i]) === 0) { return text.slice(prefixes[i].length); }
    }
    return fail("wrong_prefix", "the code does not start with " + prefixes.join(" or "));
  }

  var BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  function base45(text) {
    text = text.replace(/\n+$/, "");
    if (!text) { fail("bad_base45", "nothing after the prefix"); }
    var values = [];
    for (var i = 0; i < text.length; i += 1) {
      var value = BASE45.indexOf(text.charAt(i));
      if (value < 0) { fail("bad_base45", "not valid Base45"); }
      values.push(value);
    }
    var rest = values.length % 3;
    if (rest === 1) { fail("bad_base45", "not valid Base45"); }
    var out = new Uint8Array(Math.floor(values.length / 3) * 2 + (rest ? 1 : 0));
    var at = 0;
    for (var j = 0; j + 2 < values.length; j += 3) {
      var group = values[j] + 45 * values[j + 1] + 2025 * values[j + 2];
      if (group > 0xFFFF) { fail("bad_base45", "not valid Base45"); }
      out[at++] = group >> 8;
      out[at++] = group & 0xFF;
    }
    if (rest) {
      var last = values[values.length - 2] + 45 * values[values.length - 1];
      if (last > 0xFF) { fail("bad_base45", "not valid Base45"); }
      out[at] = last;
    }
    return out;
  }

  function inflate(data) {
    var stream = new DecompressionStream("deflate");
    var writer = stream.writable.getWriter();
    writer.write(data).catch(function () {});
    writer.close().catch(function () {});
    var reader = stream.readable.getReader();
    var chunks = [];
    var total = 0;
    function pump() {
      return reader.read().then(function (step) {
        if (step.done) {
          var out = new Uint8Array(total);
          var at = 0;
          chunks.forEach(function (chunk) { out.set(chunk, at); at += chunk.length; });
          return out;
        }
        total += step.value.length;
        if (total > MAX_DECOMPRESSED) {
          reader.cancel().catch(function () {});
          fail("bad_compression", "the content is too large");
        }
        chunks.push(step.value);
        return pump();
      });
    }
    return pump().catch(function (error) {
      if (error instanceof Fail) { throw error; }
      throw new Fail("bad_compression", "not zlib-compressed data, or truncated or padded");
    });
  }

  // A small strict CBOR decoder (RFC 8949): one item, no trailing bytes, no duplicate map
  // keys, UTF-8 text checked. Maps become JavaScript Maps keyed "i:<int>", "s:<text>" or
  // "x:<the key's bytes>", so that integer and text keys never meet.
  var utf8 = new TextDecoder("utf-8", {fatal: true});
  function Tagged(tag, value) { this.tag = tag; this.value = value; }
  function cborDecode(bytes) {
    var at = 0;
    function need(count) {
      if (at + count > bytes.length) { fail("bad_cbor", "not valid CBOR"); }
    }
    function uint(info) {
      if (info < 24) { return info; }
      var size = {24: 1, 25: 2, 26: 4, 27: 8}[info];
      if (!size) { fail("bad_cbor", "not valid CBOR"); }
      need(size);
      var value = 0;
      for (var i = 0; i < size; i += 1) { value = value * 256 + bytes[at + i]; }
      at += size;
      return value;  // above 2^53 it is inexact: no claim this page reads is that large
    }
    function chunked(major, depth) {
      var parts = [];
      var total = 0;
      for (;;) {
        need(1);
        if (bytes[at] === 0xFF) { at += 1; break; }
        var part = item(depth + 1);
        if ((major === 2 && !(part instanceof Uint8Array)) ||
            (major === 3 && typeof part !== "string")) {
          fail("bad_cbor", "not valid CBOR");
        }
        parts.push(part);
        total += part.length;
      }
      if (major === 3) { return parts.join(""); }
      var out = new Uint8Array(total);
      var offset = 0;
      parts.forEach(function (part) { out.set(part, offset); offset += part.length; });
      return out;
    }
    function keyOf(key, start) {
      if (typeof key === "number" && Number.isInteger(key)) { return "i:" + key; }
      if (typeof key === "string") { return "s:" + key; }
      return "x:" + Array.prototype.join.call(bytes.subarray(start, at), ",");
    }
    function half(bits) {
      var exponent = (bits >> 10) & 0x1F;
      var fraction = bits & 0x3FF;
      var sign = bits & 0x8000 ? -1 : 1;
      if (exponent === 0) { return sign * Math.pow(2, -14) * (fraction / 1024); }
      if (exponent === 31) { return fraction ? NaN : sign * Infinity; }
      return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024);
    }
    function item(depth) {
      if (depth > MAX_DEPTH) { fail("bad_cbor", "nested too deeply"); }
      need(1);
      var head = bytes[at];
      at += 1;
      var major = head >> 5;
      var info = head & 0x1F;
      var length;
      var i;
      if (major === 7) {
        if (info === 20) { return false; }
        if (info === 21) { return true; }
        if (info === 22) { return null; }
        if (info === 23) { return undefined; }
        var view;
        if (info === 25) {
          need(2);
          var bits = (bytes[at] << 8) | bytes[at + 1];
          at += 2;
          return half(bits);
        }
        if (info === 26 || info === 27) {
          var size = info === 26 ? 4 : 8;
          need(size);
          view = new DataView(bytes.buffer, bytes.byteOffset + at, size);
          at += size;
          return size === 4 ? view.getFloat32(0) : view.getFloat64(0);
        }
        if (info < 20) { return {simple: info}; }
        if (info === 24) { need(1); at += 1; return {simple: bytes[at - 1]}; }
        return fail("bad_cbor", "not valid CBOR");
      }
      if (info === 31 && (major === 2 || major === 3)) { return chunked(major, depth); }
      if (info === 31 && (major === 4 || major === 5)) {
        var list = [];
        var entries = new Map();
        for (;;) {
          need(1);
          if (bytes[at] === 0xFF) { at += 1; break; }
          if (major === 4) { list.push(item(depth + 1)); continue; }
          var start = at;
          var key = item(depth + 1);
          var name = keyOf(key, start);
          if (entries.has(name)) { fail("bad_cbor", "a map has a key twice"); }
          entries.set(name, item(depth + 1));
        }
        return major === 4 ? list : entries;
      }
      length = uint(info);
      switch (major) {
        case 0: return length;
        case 1: return -1 - length;
        case 2:
          need(length);
          at += length;
          return bytes.slice(at - length, at);
        case 3:
          need(length);
          at += length;
          try {
            return utf8.decode(bytes.subarray(at - length, at));
          } catch (error) {
            return fail("bad_cbor", "text that is not UTF-8");
          }
        case 4:
          if (length > bytes.length - at) { fail("bad_cbor", "not valid CBOR"); }
          var array = [];
          for (i = 0; i < length; i += 1) { array.push(item(depth + 1)); }
          return array;
        case 5:
          if (length > bytes.length - at) { fail("bad_cbor", "not valid CBOR"); }
          var map = new Map();
          for (i = 0; i < length; i += 1) {
            var from = at;
            var mapKey = keyOf(item(depth + 1), from);
            if (map.has(mapKey)) { fail("bad_cbor", "a map has a key twice"); }
            map.set(mapKey, item(depth + 1));
          }
          return map;
        default:  // 6: a tag
          return new Tagged(length, item(depth + 1));
      }
    }
    var value = item(0);
    if (at !== bytes.length) { fail("bad_cbor", "trailing bytes after the CBOR item"); }
    return value;
  }

  function byteStringHead(length) {
    if (length < 24) { return [0x40 | length]; }
    if (length <= 0xFF) { return [0x58, length]; }
    if (length <= 0xFFFF) { return [0x59, length >> 8, length & 0xFF]; }
    return [0x5A, (length >>> 24) & 0xFF, (length >> 16) & 0xFF, (length >> 8) & 0xFF,
      length & 0xFF];
  }
  // ["Signature1", protected, h'', payload], as the signer wrote it (RFC 9052 §4.4).
  function toBeSigned(protectedBytes, payload) {
    var head = [0x84, 0x6A].concat(Array.prototype.map.call("Signature1", function (c) {
      return c.charCodeAt(0);
    }));
    var parts = [head, byteStringHead(protectedBytes.length), protectedBytes, [0x40],
      byteStringHead(payload.length), payload];
    var total = parts.reduce(function (sum, part) { return sum + part.length; }, 0);
    var out = new Uint8Array(total);
    var at = 0;
    parts.forEach(function (part) { out.set(part, at); at += part.length; });
    return out;
  }

  function isMap(value) { return value instanceof Map; }
  function header(protectedHeader, unprotected, label) {
    var name = "i:" + label;
    if (protectedHeader.has(name)) { return protectedHeader.get(name); }
    return unprotected.get(name);
  }
  function cose(data) {
    var value = cborDecode(data);
    if (value instanceof Tagged && value.tag === 61) { value = value.value; }
    if (value instanceof Tagged && value.tag === 18) { value = value.value; }
    if (!Array.isArray(value) || value.length !== 4) { fail("bad_cbor", "not a COSE_Sign1 structure"); }
    var protectedBytes = value[0];
    var unprotected = value[1];
    var payload = value[2];
    var signature = value[3];
    if (!(protectedBytes instanceof Uint8Array) || !isMap(unprotected) ||
        !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
      fail("bad_cbor", "not a COSE_Sign1 structure");
    }
    var protectedHeader = protectedBytes.length ? cborDecode(protectedBytes) : new Map();
    if (!isMap(protectedHeader)) { fail("bad_cbor", "the protected header is not a map"); }
    var kid = header(protectedHeader, unprotected, 4);
    if (kid !== undefined && kid !== null && !(kid instanceof Uint8Array)) {
      fail("bad_cbor", "the kid is not a byte string");
    }
    return {
      protectedBytes: protectedBytes,
      kid: kid instanceof Uint8Array ? kid : null,
      alg: header(protectedHeader, unprotected, 1),
      payload: payload,
      signature: signature
    };
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }
  function publicKey(entry) {
    if (!cryptoKeys[entry.kid]) {
      cryptoKeys[entry.kid] = crypto.subtle.importKey(
        "jwk", Object.assign({ext: true}, entry.jwk), {name: "ECDSA", namedCurve: "P-256"},
        false, ["verify"]);
    }
    return cryptoKeys[entry.kid];
  }
  function signatureCheck(parts, entry) {
    if (parts.alg !== ES256) {
      return Promise.reject(new Fail("bad_signature", "unsupported signature algorithm " + parts.alg));
    }
    if (parts.signature.length !== 64) {
      return Promise.reject(new Fail("bad_signature", "the signature does not verify"));
    }
    return publicKey(entry).then(function (key) {
      // COSE carries r || s, which is what WebCrypto verifies.
      return crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, key, parts.signature,
        toBeSigned(parts.protectedBytes, parts.payload));
    }, function () {
      throw new Fail("bad_signature", "the key cannot be used");
    }).then(function (good) {
      if (!good) { throw new Fail("bad_signature", "the signature does not verify"); }
    });
  }

  function timestamp(claims, label, name) {
    var value = claims.get("i:" + label);
    if (typeof value !== "number" || !isFinite(value)) {
      fail("bad_cbor", "the CWT has no numeric " + name + " claim");
    }
    if (value < MIN_TIMESTAMP || value > MAX_TIMESTAMP) {
      fail("bad_cbor", "the " + name + " claim is out of range");
    }
    return value;
  }
  function claimsRead(payload) {
    var claims = cborDecode(payload);
    if (!isMap(claims)) { fail("bad_cbor", "the payload is not a CWT claims map"); }
    var hcert = claims.get("i:-260");
    var data = isMap(hcert) ? hcert.get("i:1") : null;
    if (!isMap(data)) { fail("bad_cbor", "the CWT holds no certificate data"); }
    return {
      issuedAt: timestamp(claims, 6, "iat"),
      expiresAt: timestamp(claims, 4, "exp"),
      data: data
    };
  }
  function validityCheck(claims, entry, now) {
    if (now + CLOCK_SKEW_SECONDS < claims.issuedAt) {
      fail("expired", "not valid yet: issued after the validation time");
    }
    if (now > claims.expiresAt) { fail("expired", "expired"); }
    if (entry.not_before && claims.issuedAt < Date.parse(entry.not_before) / 1000) {
      fail("expired", "issued before the signing certificate became valid");
    }
    if (entry.not_after && claims.expiresAt > Date.parse(entry.not_after) / 1000) {
      fail("expired", "valid longer than its signing certificate");
    }
  }
  function healthClaims(data) {
    if (data.get("s:t") !== CODE_TYPE) { fail("bad_cbor", "not a health code: its type is not health-code"); }
    var colour = data.get("s:c");
    if (!Object.prototype.hasOwnProperty.call(ACTIONS, colour)) {
      fail("bad_cbor", "not a health code: no known colour");
    }
    var name = data.get("s:n");
    if (typeof name !== "string") { fail("bad_cbor", "not a health code: no name"); }
    var region = data.get("s:r");
    return {colour: colour, name: name, region: typeof region === "string" ? region : ""};
  }

  function verify(text) {
    var parts;
    var entry;
    var now = Date.now() / 1000;
    return Promise.resolve().then(function () {
      return inflate(base45(unprefix(text)));
    }).then(function (data) {
      parts = cose(data);
      entry = parts.kid ? bundle.keysByKid[hex(parts.kid)] : null;
      if (!entry) { fail("unknown_key", "signed with a key this checkpoint does not trust"); }
      return signatureCheck(parts, entry);
    }).then(function () {
      var claims = claimsRead(parts.payload);
      validityCheck(claims, entry, now);
      if (entry.types && entry.types.length && entry.types.indexOf(CODE_TYPE) < 0) {
        fail("key_not_allowed", "the key may sign only " + entry.types.join(", "));
      }
      var health = healthClaims(claims.data);
      return {
        verdict: null,
        colour: health.colour,
        action: ACTIONS[health.colour],
        name: health.name,
        region: health.region,
        issuer: entry.issuer || "",
        validUntil: new Date(claims.expiresAt * 1000)
      };
    }).catch(function (error) {
      if (error instanceof Fail) { return {verdict: error.verdict, detail: error.detail}; }
      return {verdict: "bad_cbor", detail: String(error)};
    });
  }

  // -------------------------------------------------------------------------------------
  // Showing a result: the markup of health/checkpoint_result.html

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function show(result) {
    var valid = result.verdict === null;
    var section = element("section", "card checkpoint-result " +
      (valid ? "checkpoint-" + result.action + " colour-" + result.colour : "checkpoint-invalid"));
    section.id = "checkpoint-outcome";
    section.dataset.verdict = valid ? "valid" : result.verdict;
    section.dataset.action = valid ? result.action : "";
    section.dataset.checked = "phone";
    checks += 1;
    section.dataset.sequence = String(checks);
    section.setAttribute("aria-labelledby", "checkpoint-outcome-heading");
    var heading = element("h2", "checkpoint-action",
      valid ? M.actions[result.action] : M.invalid);
    heading.id = "checkpoint-outcome-heading";
    section.appendChild(heading);
    if (valid) {
      section.appendChild(element("p", "checkpoint-colour", M.colours[result.colour]));
      var facts = element("dl", "facts checkpoint-facts");
      [[M.name, "checkpoint-name", result.name],
       [M.validUntil, "checkpoint-valid-until", clock(result.validUntil)],
       [M.issuedBy, "checkpoint-issuer",
        (result.issuer || "—") + (result.region ? " (" + result.region + ")" : "")]
      ].forEach(function (row) {
        facts.appendChild(element("dt", "", row[0]));
        facts.appendChild(element("dd", row[1], row[2]));
      });
      section.appendChild(facts);
    } else {
      section.appendChild(element("p", "checkpoint-message", M.verdicts[result.verdict] || ""));
      var reason = element("p", "muted checkpoint-verdict", M.reason + ": ");
      reason.appendChild(element("code", "", result.verdict));
      section.appendChild(reason);
    }
    section.appendChild(element("p", "muted checkpoint-checked", M.checkedOnPhone));
    area.replaceChildren(section);
    area.focus();
  }
  function showProblem(message) {
    var section = element("section", "card checkpoint-result checkpoint-invalid");
    section.id = "checkpoint-outcome";
    section.dataset.verdict = "none";
    checks += 1;
    section.dataset.sequence = String(checks);
    section.appendChild(element("p", "checkpoint-message", message));
    area.replaceChildren(section);
    area.focus();
  }

  // -------------------------------------------------------------------------------------
  // The trust bundle

  function bundleUse(data) {
    var byKid = {};
    (data.keys || []).forEach(function (entry) {
      if (entry && typeof entry.kid === "string" && entry.jwk) { byKid[entry.kid] = entry; }
    });
    data.keysByKid = byKid;
    bundle = data;
    cryptoKeys = {};
    bundleShow();
  }
  function bundleShow() {
    box.hidden = false;
    if (!bundle) {
      box.dataset.state = "missing";
      status.textContent = M.bundleMissing;
      return;
    }
    var generated = new Date(bundle.generated_at);
    var next = Date.parse(bundle.next_update);
    status.textContent = format(M.bundleStatus, {
      count: Object.keys(bundle.keysByKid).length,
      time: dayAndClock(generated)
    });
    var warnings = [];
    if (Date.now() > next) {
      warnings.push(format(M.bundleStale, {time: dayAndClock(new Date(next))}));
    }
    if (bundle.clock_skew_minutes && Math.abs(bundle.clock_skew_minutes) >= 5) {
      warnings.push(format(M.clockSkew, {minutes: Math.round(Math.abs(bundle.clock_skew_minutes))}));
    }
    warning.textContent = warnings.join(" ");
    warning.hidden = !warnings.length;
    box.dataset.state = Date.now() > next ? "stale" : (bundle.fresh ? "fresh" : "stored");
  }
  function bundleLoad() {
    try {
      var stored = window.localStorage.getItem(STORE);
      if (stored) {
        var data = JSON.parse(stored);
        data.fresh = false;
        bundleUse(data);
      }
    } catch (error) { /* no storage, or a damaged copy: fetch a new one */ }
    if (!bundle) { bundleShow(); }
    return fetch(box.dataset.trustUrl, {cache: "no-store", credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json().then(function (data) {
          if (!data || data.format !== 1 || data.type !== CODE_TYPE ||
              !Array.isArray(data.keys)) {
            throw new Error("not a trust bundle");
          }
          return {data: data, offline: response.headers.get("X-Checkpoint-Offline") === "1"};
        });
      })
      .then(function (answer) {
        var data = answer.data;
        if (answer.offline) {
          // The service worker's copy, without network: the one in storage is as good.
          if (!bundle) {
            data.fresh = false;
            bundleUse(data);
          }
          return;
        }
        // Minutes this phone's clock is ahead of the platform's (network time included).
        data.clock_skew_minutes = (Date.now() - Date.parse(data.generated_at)) / 60000;
        try {
          window.localStorage.setItem(STORE, JSON.stringify(data));
        } catch (error) { /* kept for this visit only */ }
        data.fresh = true;
        bundleUse(data);
      })
      .catch(function () { bundleShow(); });
  }

  // The page, its scripts and styles, and the bundle, for the service worker to serve
  // when there is no network.
  function offlineKeep() {
    if (!("serviceWorker" in navigator) || !window.caches) { return Promise.resolve(); }
    navigator.serviceWorker.register(box.dataset.workerUrl, {scope: box.dataset.scope})
      .catch(function () {});
    var urls = [box.dataset.scope, box.dataset.trustUrl];
    document.querySelectorAll("script[src], link[rel=stylesheet]").forEach(function (node) {
      var url = new URL(node.src || node.href, location.href);
      if (url.origin === location.origin) { urls.push(url.pathname + url.search); }
    });
    return caches.open(CACHE).then(function (cache) { return cache.addAll(urls); })
      .then(function () { box.dataset.kept = "yes"; }, function () { box.dataset.kept = "no"; });
  }

  form.addEventListener("submit", function (event) {
    var photo = form.querySelector("input[name=image]");
    if (photo && photo.files && photo.files.length) { return; }  // the server reads photos
    if (!bundle) {
      if (navigator.onLine === false) {
        event.preventDefault();
        showProblem(M.bundleMissing);
      }
      return;  // no trust list on this phone yet: the server checks the code
    }
    event.preventDefault();
    var text = form.querySelector("textarea[name=text]").value.trim();
    if (!text) {
      showProblem(M.empty);
      return;
    }
    verify(text).then(show);
  });

  bundleLoad().then(offlineKeep);
})();
