/* The offline outbox, shared by the page and the service worker. A report is written to
   IndexedDB before anything is sent, sent through POST /api/v1/submissions (idempotent on
   submission_id, so two senders do no harm) and deleted once the server has it. */
'use strict';
var OUT = 'outbox';
function gdDb() {
  return new Promise(function (ok, ko) {
    var r = indexedDB.open('gd', 1);
    r.onupgradeneeded = function () { r.result.createObjectStore(OUT, {keyPath: 'id'}); };
    r.onsuccess = function () { ok(r.result); };
    r.onerror = function () { ko(r.error); };
  });
}
function gdTx(mode, fn) {
  return gdDb().then(function (db) {
    return new Promise(function (ok, ko) {
      var t = db.transaction(OUT, mode), req = fn(t.objectStore(OUT));
      t.oncomplete = function () { db.close(); ok(req && req.result); };
      t.onerror = t.onabort = function () { db.close(); ko(t.error); };
    });
  });
}
function gdPut(rec) { return gdTx('readwrite', function (s) { s.put(rec); }); }
function gdAll() { return gdTx('readonly', function (s) { return s.getAll(); }); }
function gdDel(id) { return gdTx('readwrite', function (s) { s.delete(id); }); }

/* Results go to this context's hook and, through a BroadcastChannel, to every other page
   and the worker. */
var gdChan = self.BroadcastChannel ? new BroadcastChannel('gd') : null;
var gdHook = function () {};
function gdDone(m) { gdHook(m); if (gdChan) gdChan.postMessage(m); return m; }

function gdSend(rec) {
  var h = {'Content-Type': 'application/json'};
  if (rec.field) h['X-CSRF-Token'] = rec.csrf;
  return fetch('/api/v1/submissions', {
    method: 'POST', headers: h, body: JSON.stringify(rec.data), credentials: 'same-origin'
  }).then(function (res) {
    return res.json().catch(function () { return {}; }).then(function (body) {
      if (res.ok) {
        return gdDel(rec.id).then(function () {
          return gdDone({id: rec.id, state: 'sent', reference: body.reference, ack: body.acknowledge_by});
        });
      }
      if (res.status === 401 || res.status === 403) return gdDone({id: rec.id, state: 'login'});
      if (res.status === 429 || res.status >= 500) return gdDone({id: rec.id, state: 'waiting'});
      /* The server will never take it as it is: keep it, marked, so nothing is lost. */
      rec.state = 'failed';
      rec.answer = body;
      return gdPut(rec).then(function () {
        return gdDone({id: rec.id, state: 'failed', answer: body});
      });
    });
  }, function () { return gdDone({id: rec.id, state: 'waiting'}); });
}

/* Sends every waiting report, one at a time, under a lock shared by all pages and the
   worker; resolves to how many are still waiting. */
function gdRun() {
  return gdAll().then(function (list) {
    var left = 0;
    return list.reduce(function (p, rec) {
      return p.then(function () {
        if (rec.state !== 'waiting') return;
        return gdSend(rec).then(function (m) { if (m.state !== 'sent' && m.state !== 'failed') left++; });
      });
    }, Promise.resolve()).then(function () { return left; });
  });
}
function gdSync() {
  return self.navigator.locks ? navigator.locks.request('gd-sync', gdRun) : gdRun();
}
