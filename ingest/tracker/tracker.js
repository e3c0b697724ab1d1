/*
 * Sitestream browser tracker. Embed it with the site's id:
 *   <script defer src="https://ingest.example.com/tracker.js" data-site-id="site-abc-123"></script>
 * It sends a page_view on load and on every SPA navigation, and `window.sitestream.track(type)` sends a custom
 * event. Written for the host page's safety: every entry point catches, so the tracker never throws into it.
 * Build: `npm run build:tracker -w ingest` minifies this file into src/tracker-script.generated.ts.
 */
(function (window, document, history, navigator) {
  'use strict';
  var STORAGE_KEY = 'sitestream_uid';
  var MAX_PATH = 2048;
  var MAX_TYPE = 50;

  function noop() {}

  function guarded(fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (e) {
        return undefined;
      }
    };
  }

  // Lengths are code points, as ingest counts them; Array.from splits by code point, never inside a pair.
  function clip(s, max) {
    var points = Array.from(s);
    return points.length > max ? points.slice(0, max).join('') : s;
  }

  // crypto.randomUUID needs a secure context; getRandomValues works on plain http pages too.
  function randomId() {
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    var id = '';
    for (var i = 0; i < bytes.length; i++) id += (bytes[i] + 256).toString(16).slice(1);
    return id;
  }

  // Even set-up runs guarded: a strange host page (no URL support, frozen history) just gets no tracking.
  guarded(function () {
    var script = document.currentScript;
    // Loaded twice, or not as a classic <script src>: keep the first instance, do nothing here.
    if (!script || !script.src || window.sitestream) return;
    var siteId = script.getAttribute('data-site-id');
    if (!siteId) return;
    var endpoint = script.getAttribute('data-endpoint') || new URL('/event', script.src).href;

    var userId;
    // localStorage can be missing or throw (private modes, blocked storage): then the id lives as long as the page.
    function anonymousUserId() {
      if (userId) return userId;
      try {
        userId = window.localStorage.getItem(STORAGE_KEY);
      } catch (e) {}
      if (!userId) {
        userId = randomId();
        try {
          window.localStorage.setItem(STORAGE_KEY, userId);
        } catch (e) {}
      }
      return userId;
    }

    // The query string and fragment are left out: they often carry tokens and personal data.
    function currentPath() {
      return clip(window.location.pathname || '/', MAX_PATH);
    }

    var send = guarded(function (type) {
      var body = JSON.stringify({
        site_id: siteId,
        event_type: type,
        path: currentPath(),
        user_id: anonymousUserId(),
        timestamp: new Date().toISOString(),
      });
      // A string body goes as text/plain: a CORS "simple" request, so no preflight. sendBeacon survives the
      // page unloading; it returns false when the browser refuses to queue, then fetch(keepalive) tries.
      if (navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
      window.fetch(endpoint, { method: 'POST', body: body, keepalive: true, credentials: 'omit', mode: 'cors' })['catch'](noop);
    });

    var lastPath;
    var pageView = guarded(function () {
      var path = currentPath();
      // replaceState for scroll or query updates, and history.back to the same page, are not new page views.
      if (path === lastPath) return;
      lastPath = path;
      send('page_view');
    });

    function wrap(name) {
      var original = history[name];
      if (typeof original !== 'function') return;
      history[name] = function () {
        var result = original.apply(this, arguments);
        pageView();
        return result;
      };
    }

    wrap('pushState');
    wrap('replaceState');
    window.addEventListener('popstate', pageView);

    window.sitestream = {
      track: guarded(function (type) {
        if (typeof type === 'string' && type) send(clip(type, MAX_TYPE));
      }),
    };
    pageView();
  })();
})(window, document, history, navigator);
