/* Service worker: keeps the form and its files for use with no network, and sends saved
   reports with Background Sync where the browser has it. (SHELL is written in front of
   this file by the server: the versioned URLs of the CSS and the script.) */
var FILES = 'gd-files-' + SHELL.join('|'), PAGES = 'gd-pages';
var FORMS = ['/report', '/field'];

self.addEventListener('install', function (e) {
  e.waitUntil(caches.open(FILES).then(function (c) { return c.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});
self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf('gd-files-') === 0 && k !== FILES;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function keep(path, res) {
  return caches.open(PAGES).then(function (c) {
    var bare = path.split('?')[0];
    return Promise.all([c.put(path, res.clone()), c.put(bare, res)]);
  });
}
function cached(url) {
  return caches.open(PAGES).then(function (c) {
    return c.match(url.pathname + url.search).then(function (r) { return r || c.match(url.pathname); });
  });
}
function fetchKeep(path) {
  return fetch(path, {credentials: 'same-origin'}).then(function (res) {
    if (res.ok && !res.redirected) return keep(path, res);
  }).catch(function () {});
}

/* The form: network first (so it stays current), the kept copy when there is no network
   or the network is too slow to be useful. */
function page(req, url) {
  var net = fetch(req).then(function (res) {
    if (res.ok && !res.redirected) keep(url.pathname + url.search, res.clone());
    return res;
  });
  var fallback = net.catch(function () {
    return cached(url).then(function (r) { return r || Response.error(); });
  });
  var slow = new Promise(function (ok) { setTimeout(ok, 6000); }).then(function () {
    return cached(url).then(function (r) { return r || fallback; });
  });
  return Promise.race([fallback, slow]);
}
/* Files: their URLs change with their content, so a kept copy is always right; an older
   copy of the same file serves a kept page that still names it. */
function file(req, url) {
  return caches.match(req).then(function (r) {
    return r || fetch(req).catch(function () {
      var plain = function (path) { return path.replace(/\.[0-9a-f]{10}\./, '.'); };
      var wanted = plain(url.pathname);
      return caches.keys().then(function (keys) {
        return Promise.all(keys.map(function (k) {
          return caches.open(k).then(function (c) { return c.keys(); });
        }));
      }).then(function (lists) {
        var all = [].concat.apply([], lists).filter(function (q) {
          return plain(new URL(q.url).pathname) === wanted;
        });
        return all.length ? caches.match(all[0]) : Response.error();
      });
    });
  });
}
self.addEventListener('fetch', function (e) {
  var req = e.request, url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.indexOf('/assets/') === 0) e.respondWith(file(req, url));
  else if (req.mode === 'navigate' && FORMS.indexOf(url.pathname) >= 0) e.respondWith(page(req, url));
});
self.addEventListener('message', function (e) {
  var d = e.data || {};
  if (d.keep && FORMS.indexOf(d.keep.split('?')[0]) >= 0) e.waitUntil(fetchKeep(d.keep));
  if (d.sync) e.waitUntil(gdSync());
});
self.addEventListener('sync', function (e) {
  if (e.tag === 'gd') {
    e.waitUntil(gdSync().then(function (left) { if (left) throw new Error('still offline'); }));
  }
});
