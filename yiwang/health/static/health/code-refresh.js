// The person's health code page (health/code.html): a live countdown, and a new code from
// the API shortly before the shown one expires. Without JavaScript the page reloads itself
// (a <meta refresh> in <noscript>).
(function () {
  "use strict";
  var box = document.getElementById("health-code");
  if (!box || !window.fetch || !window.Promise) { return; }
  var image = document.getElementById("health-code-image");
  var colourText = document.getElementById("health-code-colour");
  var nameText = document.getElementById("health-code-name");
  var validUntil = document.getElementById("health-code-valid-until");
  var countdown = document.getElementById("health-code-countdown");
  var status = document.getElementById("health-code-status");
  var before = (parseInt(box.dataset.refreshBefore, 10) || 30) * 1000;
  // The platform's clock, as the page was served: the phone's may be off.
  var offset = Date.parse(box.dataset.now) - Date.now();
  var expires = Date.parse(box.dataset.expires);
  var fetching = false;
  var retryAt = 0;
  var stopped = false;

  function format(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (all, name) {
      return name in values ? String(values[name]) : all;
    });
  }
  function clock(moment) {
    var options = {hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false};
    try {
      return new Intl.DateTimeFormat(
        "en-GB", Object.assign({timeZone: box.dataset.timeZone || undefined}, options)
      ).format(moment);
    } catch (error) {
      return new Intl.DateTimeFormat("en-GB", options).format(moment);
    }
  }
  function now() { return Date.now() + offset; }
  function say(message) { status.textContent = message; }

  function shown(code) {
    box.classList.remove("colour-" + box.dataset.colour, "expired");
    box.classList.add("colour-" + code.colour);
    box.dataset.colour = code.colour;
    image.src = code.image;
    image.alt = format(box.dataset.msgImage, {colour: code.colour_label});
    colourText.textContent = code.colour_label;
    nameText.textContent = code.masked_name;
    expires = Date.parse(code.expires_at);
    box.dataset.expires = code.expires_at;
    validUntil.textContent = format(box.dataset.msgValidUntil, {time: clock(new Date(expires))});
    say(box.dataset.msgRefreshed);
  }

  function refresh() {
    fetching = true;
    fetch(box.dataset.api, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            // Switched off, identity or colour gone: the page says why and stops asking.
            stopped = response.status === 503 ||
              (response.status >= 400 && response.status < 500 && response.status !== 429);
            throw new Error(body && body.message ? body.message : "HTTP " + response.status);
          }
          return body;
        });
      })
      .then(shown, function (error) {
        retryAt = Date.now() + 10000;
        say(stopped && error.message ? error.message
          : format(box.dataset.msgOffline, {time: clock(new Date(expires))}));
      })
      .then(function () { fetching = false; });
  }

  function tick() {
    var left = expires - now();
    if (left <= 0) {
      box.classList.add("expired");
      countdown.textContent = "";
      if (!stopped && !fetching && Date.now() >= retryAt) { refresh(); }
      if (!stopped && !fetching && status.textContent !== box.dataset.msgExpired) {
        say(box.dataset.msgExpired);
      }
      return;
    }
    var seconds = Math.ceil(left / 1000);
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    countdown.textContent = format(box.dataset.msgLeft, {
      time: minutes + ":" + (rest < 10 ? "0" : "") + rest
    });
    if (left <= before && !stopped && !fetching && Date.now() >= retryAt) { refresh(); }
  }

  tick();
  window.setInterval(tick, 1000);
})();
