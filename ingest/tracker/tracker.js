/*
 * Sitestream browser tracker. Embed it with the site's id:
 *   <script defer src="https://ingest.example.com/tracker.js" data-site-id="site-abc-123"></script>
 * It sends a page_view on load and on every SPA navigation, and `window.sitestream.track(type, props)` sends a
 * custom event with custom properties. Each event carries the page's hostname and the utm_* parameters of the
 * URL (nothing else of the query string); the first page view of a page load also carries the referrer when it
 * is another host (its origin and path only). Values ingest would refuse are left out rather than sent, so one
 * odd value never costs the event. Written for the host page's safety: every entry point catches, so the
 * tracker never throws into it.
 * Build: `npm run build:tracker -w ingest` minifies this file into src/tracker-script.generated.ts.
 */
(function (window, document, history, navigator) {
  'use strict';
  var STORAGE_KEY = 'sitestream_uid';
  var MAX_PATH = 2048;
  var MAX_TYPE = 50;
  var UTM = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
  var RESERVED = ['__proto__', 'constructor', 'prototype'];
  var CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

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

  // Text ingest accepts: no control characters, no lone surrogates (encodeURIComponent throws on those), at
  // most `max` code points (longer is clipped). Anything else gives undefined: the field is left out.
  function text(s, max) {
    if (typeof s !== 'string' || !s || CONTROL.test(s)) return undefined;
    try {
      encodeURIComponent(s);
    } catch (e) {
      return undefined;
    }
    return clip(s, max);
  }

  // At most 30 properties: string (≤ 2000), finite number or boolean values; other keys and values are dropped.
  function cleanProps(props) {
    var out = {};
    var n = 0;
    for (var key in props) {
      if (n >= 30 || !Object.prototype.hasOwnProperty.call(props, key) || RESERVED.indexOf(key) >= 0 || text(key, 300) !== key) continue;
      var v = props[key];
      if (typeof v === 'string') v = v === '' ? v : text(v, 2000);
      else if (typeof v === 'number' ? !isFinite(v) : typeof v !== 'boolean') v = undefined;
      if (v !== undefined) {
        out[key] = v;
        n++;
      }
    }
    return n ? out : undefined;
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

    // The referrer counts once per page load (SPA navigations are internal), and only from another host.
    var referrer;
    if (document.referrer) {
      var from = new URL(document.referrer);
      if (/^https?:$/.test(from.protocol) && from.hostname !== window.location.hostname) referrer = clip(from.origin + from.pathname, 2048);
    }

    var send = guarded(function (type, props, first) {
      var event = {
        site_id: siteId,
        event_type: type,
        path: currentPath(),
        user_id: anonymousUserId(),
        timestamp: new Date().toISOString(),
      };
      // A lower-case DNS name, as ingest accepts: an IPv6 host ([::1]) is left out.
      var host = window.location.hostname;
      if (/^[a-z0-9._-]{1,253}$/.test(host)) event.hostname = host;
      if (first && referrer) event.referrer = referrer;
      var query = new URLSearchParams(window.location.search);
      UTM.forEach(function (key) {
        var value = text(query.get(key), 255);
        if (value) event[key] = value;
      });
      if (props) event.props = props;
      var body = JSON.stringify(event);
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
      send('page_view', undefined, lastPath === undefined);
      lastPath = path;
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
      track: guarded(function (type, props) {
        if (typeof type === 'string' && type) send(clip(type, MAX_TYPE), props && typeof props === 'object' ? cleanProps(props) : undefined);
      }),
    };
    pageView();
  })();
})(window, document, history, navigator);
