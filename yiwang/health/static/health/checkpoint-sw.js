// The checkpoint page's service worker, served at /health/checkpoint/sw.js (its scope).
// Network first, so a checkpoint with network always gets the current page and trust
// bundle; without network, what the page put in the cache (the page, its scripts and
// styles, the bundle: checkpoint.js) is served instead. Copies already in the cache are
// renewed from each answer that comes back.
"use strict";
var CACHE = "yiwang-health-checkpoint-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

// A kept copy, marked as such: the page then knows its trust bundle is not a fresh one.
function offline(kept) {
  var headers = new Headers(kept.headers);
  headers.set("X-Checkpoint-Offline", "1");
  return kept.blob().then(function (body) {
    return new Response(body, {status: kept.status, statusText: kept.statusText, headers: headers});
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && response.type === "basic") {
      var copy = response.clone();
      event.waitUntil(caches.open(CACHE).then(function (cache) {
        return cache.match(request, {ignoreVary: true}).then(function (kept) {
          return kept ? cache.put(request, copy) : undefined;
        });
      }));
    }
    return response;
  }, function () {
    return caches.match(request, {ignoreVary: true}).then(function (kept) {
      if (kept) { return offline(kept); }
      if (request.mode === "navigate") {
        return caches.match(self.registration.scope, {ignoreVary: true, ignoreSearch: true})
          .then(function (page) { return page || Response.error(); });
      }
      return Response.error();
    });
  }));
});
