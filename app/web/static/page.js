/* The page: everything works without this script; it adds the offline outbox, the receipt
   made on the device, and a 'leave quickly' that leaves no way back. */
(function () {
  var d = document, nav = navigator;
  function $(id) { return d.getElementById(id); }
  var exit = $('exit');
  if (exit) {
    exit.addEventListener('click', function (e) {
      e.preventDefault();
      location.replace(exit.href);
    });
  }
  /* The receipt code, copied in one press where the browser allows it. */
  var copy = $('copy'), codeEl = $('code');
  if (copy && codeEl && nav.clipboard) {
    copy.hidden = !codeEl.textContent.trim();
    copy.addEventListener('click', function () {
      nav.clipboard.writeText(codeEl.textContent.trim()).then(function () {
        copy.textContent = copy.dataset.copied;
      }, function () {});
    });
  }
  function showCode(text) {
    /* Groups that never break inside, as the server writes them. */
    codeEl.textContent = '';
    text.split('-').forEach(function (g, i) {
      if (i) { codeEl.appendChild(d.createTextNode('-')); codeEl.appendChild(d.createElement('wbr')); }
      codeEl.appendChild(d.createElement('span')).textContent = g;
    });
    if (copy && nav.clipboard) copy.hidden = false;
  }
  var form = $('report'), box = $('receipt');
  if (!form || !box || !self.indexedDB) return;
  var T = box.dataset, field = !!form.dataset.field, current = null, shown = false;

  if ('serviceWorker' in nav) {
    nav.serviceWorker.register('/sw.js').then(function () {
      return nav.serviceWorker.ready;
    }).then(function (reg) {
      reg.active.postMessage({keep: location.pathname + location.search});
    }).catch(function () {});
  }

  function pending() {
    gdAll().then(function (list) {
      var n = list.filter(function (r) { return r.state === 'waiting'; }).length, p = $('pending');
      p.textContent = T.pending.replace('%(n)s', n);
      p.hidden = !n;
    });
  }
  function run() { gdSync().then(pending, pending); }
  gdHook = function (m) {
    if (m.id !== current) return pending();
    if (m.state === 'sent') { acknowledgeBy(m.ack); return receipt(T.sent.replace('%(reference)s', m.reference)); }
    if (m.state === 'failed' && !shown) return problems(m.answer);
    if (m.state === 'failed') return receipt(T.failed + ' ' + (m.answer.detail || ''));
    receipt(m.state === 'login' ? T.login : T.waiting);
  };
  if (gdChan) gdChan.onmessage = function (e) { gdHook(e.data); };
  addEventListener('online', run);
  /* A monitor who signed in again gives waiting field records the new session's token. */
  var ready = field ? gdAll().then(function (list) {
    return Promise.all(list.filter(function (r) { return r.field; }).map(function (r) {
      r.csrf = form.dataset.csrf;
      return gdPut(r);
    }));
  }) : Promise.resolve();
  ready.then(run, run).then(restore);

  /* A report the server refused after it was saved offline comes back into the form with
     the reasons, so nothing is lost; it is replaced when the reporter sends it again. */
  var restored = null;
  function restore() {
    gdAll().then(function (list) {
      var rec = list.filter(function (r) { return r.state === 'failed' && r.field === field; })[0];
      if (!rec || shown) return;
      restored = rec.id;
      ['narrative', 'workplace', 'contact', 'country', 'language'].forEach(function (name) {
        if (form.elements[name] && rec.data[name]) form.elements[name].value = rec.data[name];
      });
      var cat = form.querySelector('input[name=category][value="' + rec.data.category + '"]');
      if (cat) cat.checked = true;
      showProblems(rec.answer || {});
    });
  }

  function acknowledgeBy(day) {
    var el = $('ack');
    if (!el || !day) return;
    var when = new Date(day + 'T12:00:00Z');
    try { when = when.toLocaleDateString(d.documentElement.lang, {dateStyle: 'medium'}); } catch (e) { when = day; }
    el.textContent = el.dataset.ack.replace('%(date)s', when);
    el.hidden = false;
  }
  function receipt(text) {
    $('formbox').hidden = true;
    box.hidden = false;
    $('state').textContent = text;
    if (!shown) { shown = true; form.reset(); box.focus(); }
  }
  function showError(name, text) {
    var el = $('e-' + name), input = form.elements[name];
    if (!el) { el = $('errsum'); text = el.textContent + ' ' + text; }
    el.textContent = text;
    el.hidden = false;
    if (input && input.setAttribute) input.setAttribute('aria-invalid', 'true');
  }
  function clearErrors() {
    [].forEach.call(form.querySelectorAll('.err,.err-sum'), function (el) { el.hidden = true; el.textContent = ''; });
    [].forEach.call(form.querySelectorAll('[aria-invalid]'), function (el) { el.removeAttribute('aria-invalid'); });
  }
  function problems(answer) {
    gdDel(current);
    current = null;
    form.querySelector('button[type=submit]').disabled = false;
    showProblems(answer);
  }
  function showProblems(answer) {
    var sum = $('errsum');
    sum.textContent = answer.detail || '';
    sum.hidden = false;
    (answer.problems || []).forEach(function (p) { showError(p.field, p.problem); });
    sum.focus();
  }
  var ABC = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  function random(n) { return crypto.getRandomValues(new Uint8Array(n)); }
  function receiptCode() {
    /* 16 characters of 5 bits each (256 is a multiple of 32, so & 31 is unbiased). */
    var b = random(16), s = '';
    for (var i = 0; i < 16; i++) s += (i && i % 4 === 0 ? '-' : '') + ABC[b[i] & 31];
    return s;
  }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = random(16), h = [];
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    h = h.join('');
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  }
  function value(name) {
    var el = form.elements[name];
    return el ? (el.value || '').trim() || null : null;
  }

  form.addEventListener('submit', function (e) {
    if (value('website')) return; /* the server answers the honeypot */
    e.preventDefault();
    clearErrors();
    if (!value('narrative')) {
      showError('narrative', T.required);
      $('errsum').hidden = false;
      $('errsum').textContent = T.required;
      form.elements.narrative.focus();
      return;
    }
    var code = receiptCode(), id = uuid();
    var rec = {id: id, state: 'waiting', field: field, csrf: form.dataset.csrf, at: Date.now(), data: {
      submission_id: id, language: field ? value('language') : form.dataset.lang,
      country: value('country'), workplace: value('workplace'), category: value('category'),
      narrative: value('narrative'), contact: value('contact'), receipt_code: code,
      danger: !!(form.elements.danger && form.elements.danger.checked)
    }};
    form.querySelector('button[type=submit]').disabled = true;
    showCode(code);
    gdPut(rec).then(function () {
      current = id;
      if (restored) gdDel(restored);
      restored = null;
      if ('serviceWorker' in nav) {
        nav.serviceWorker.ready.then(function (reg) {
          if (reg.sync) return reg.sync.register('gd');
        }).catch(function () {});
      }
      if (!nav.onLine) return receipt(T.waiting);
      /* On a slow network the receipt does not wait for the server. */
      setTimeout(function () { if (current === id && !shown) receipt(T.sending); }, 4000);
      run();
    }, function () {
      form.querySelector('button[type=submit]').disabled = false;
      form.submit(); /* no storage on this device: the plain form post still works */
    });
  });
})();
