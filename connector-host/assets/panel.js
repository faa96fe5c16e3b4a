// The panel's one script (the pages' Content-Security-Policy allows no inline script).
(function () {
  'use strict';
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var CHANNEL = 'connector-host-signin';

  function send(method, url, body) {
    var init = { method: method, headers: { 'X-CSRF-Token': csrf }, credentials: 'same-origin' };
    if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (r) {
      if (r.status === 204) return { ok: true, body: null };
      return r.json().then(function (b) { return { ok: r.ok, body: b }; });
    });
  }
  function text(el, s) { if (el) el.textContent = s || ''; }
  function connectionUrl(name) { return '/connections/' + encodeURIComponent(name); }

  // Sign-in results from the window the click opened (BroadcastChannel: the window may have
  // lost its opener; postMessage only from this origin).
  function onSignIn(handler) {
    var done = false;
    function take(msg) {
      if (done || !msg || msg.kind !== 'connector-host-signin') return;
      done = true;
      handler(msg);
    }
    try { new BroadcastChannel(CHANNEL).onmessage = function (e) { take(e.data); }; } catch (e) {}
    window.addEventListener('message', function (e) { if (e.origin === window.location.origin) take(e.data); });
  }

  // The window is opened in the click itself, before any request: pop-up blockers allow that.
  function openSignInWindow() {
    return window.open('about:blank', 'connector-host-signin', 'popup,width=520,height=720');
  }

  function pickers() {
    document.querySelectorAll('.picker').forEach(function (picker) {
      var available = picker.querySelector('.available');
      var chosen = picker.querySelector('.chosen');
      var filter = picker.querySelector('.filter');
      function has(value) { return Array.prototype.some.call(chosen.options, function (o) { return o.value === value; }); }
      function add(options) {
        options.forEach(function (o) { if (!o.hidden && !has(o.value)) chosen.add(new Option(o.value, o.value)); });
      }
      picker.querySelector('.add-all').addEventListener('click', function () { add(Array.prototype.slice.call(available.options)); });
      picker.querySelector('.add').addEventListener('click', function () { add(Array.prototype.slice.call(available.selectedOptions)); });
      picker.querySelector('.remove').addEventListener('click', function () {
        Array.prototype.slice.call(chosen.selectedOptions).forEach(function (o) { o.remove(); });
      });
      filter.addEventListener('input', function () {
        var q = filter.value.toLowerCase();
        Array.prototype.forEach.call(available.options, function (o) { o.hidden = q !== '' && o.text.toLowerCase().indexOf(q) < 0; });
      });
      var fetchButton = picker.querySelector('.fetch');
      if (fetchButton) fetchButton.addEventListener('click', function () {
        fetch('/panel/api/scopes', { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (list) {
          available.innerHTML = '';
          (list.scopes || []).forEach(function (s) {
            if (s.kind === 'application') return;
            var o = new Option(s.value + ': ' + s.description, s.value);
            available.add(o);
          });
          text(picker.querySelector('.source'), list.source === 'live' ? 'Live from Microsoft Graph' : 'Built-in catalog');
          filter.dispatchEvent(new Event('input'));
        });
      });
    });
  }

  function settingsOf(form) {
    var settings = {};
    form.querySelectorAll('.setting').forEach(function (s) {
      var key = s.dataset.key;
      var chosen = s.querySelector('select.chosen');
      if (chosen) { settings[key] = Array.prototype.map.call(chosen.options, function (o) { return o.value; }); return; }
      var input = s.querySelector('input, select, textarea');
      if (input && input.value !== '') settings[key] = input.value;
    });
    return settings;
  }

  // A PKCS#12 file chosen for a private key: its bytes, base64, go in the key's field (the
  // platform opens the bundle with the password field's value when it saves the connection).
  function bundles(form) {
    form.querySelectorAll('input.pkcs12').forEach(function (input) {
      input.addEventListener('change', function () {
        var file = input.files && input.files[0];
        if (!file) return;
        var reader = new FileReader();
        reader.onload = function () {
          var bytes = new Uint8Array(reader.result);
          var binary = '';
          for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
          document.getElementById(input.dataset.target).value = window.btoa(binary);
          input.dataset.loaded = 'yes';
        };
        reader.readAsArrayBuffer(file);
      });
    });
  }

  function createPage() {
    var form = document.getElementById('create');
    if (!form) return;
    pickers();
    bundles(form);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors(form);
      var popup = openSignInWindow();
      var blocked = document.getElementById('popup-blocked');
      blocked.hidden = !!popup;
      var settings = settingsOf(form);
      onSignIn(function (msg) {
        if (msg.ok && msg.name) { window.location.href = connectionUrl(msg.name) + '?signed_in=1'; }
        else { text(document.getElementById('form-error'), msg.text); }
      });
      send('POST', '/panel/api/connections', { settings: settings }).then(function (r) {
        if (!r.ok) { if (popup) popup.close(); fieldError(r.body); return; }
        if (popup) { popup.location.href = r.body.url; }
        else { document.getElementById('same-window').href = r.body.url; }
      });
    });
    // Save, then sign in with a device code on the connection's page.
    document.getElementById('save-device').addEventListener('click', function () {
      clearErrors(form);
      send('POST', '/panel/api/connections', { settings: settingsOf(form), device: true }).then(function (r) {
        if (!r.ok) { fieldError(r.body); return; }
        var name = r.body.connection.name;
        send('POST', '/panel/api/connections/' + encodeURIComponent(name) + '/device').then(function (d) {
          window.location.href = connectionUrl(name) + (d.ok ? '?device=1' : '');
        });
      });
    });
  }

  function clearErrors(form) {
    form.querySelectorAll('.field-error').forEach(function (p) { text(p, ''); });
    text(document.getElementById('form-error'), '');
  }

  // A refusal shown beside its field, or above the form.
  function fieldError(body) {
    var err = (body && body.error) || {};
    var key = (err.field || '').replace(/^settings\./, '').replace(/\[.*$/, '');
    var target = document.getElementById('error-' + key) || document.getElementById('form-error');
    text(target, err.message + (err.remedy ? ' ' + err.remedy : ''));
  }

  function showTest(result) {
    var box = document.getElementById('test-result');
    box.innerHTML = '';
    var summary = document.createElement('p');
    summary.id = 'test-summary';
    summary.textContent = result.summary;
    box.appendChild(summary);
    var t = result.test || {};
    var granted = t.granted_scopes || [];
    var list = document.createElement('ul');
    list.id = 'scopes';
    (t.requested_scopes || []).forEach(function (s) {
      var li = document.createElement('li');
      var missing = (t.missing_scopes || []).indexOf(s) >= 0;
      li.className = missing ? 'missing' : 'granted';
      li.textContent = s + (missing ? ': not granted' : ': granted');
      list.appendChild(li);
    });
    box.appendChild(list);
    if (granted.length) {
      var g = document.createElement('p');
      g.id = 'granted';
      g.textContent = 'Granted: ' + granted.join(', ');
      box.appendChild(g);
    }
  }

  function showError(body) {
    var err = (body && body.error) || {};
    var support = err.classification && err.classification.support ? Object.keys(err.classification.support).map(function (k) { return k + ' ' + err.classification.support[k]; }).join(', ') : '';
    text(document.getElementById('action-result'), (err.message || '') + ' ' + (err.remedy || '') + (support ? ' Support: ' + support : ''));
  }

  function connectionPage() {
    var section = document.getElementById('connection');
    if (!section) return;
    var name = section.dataset.name;
    var base = '/panel/api/connections/' + encodeURIComponent(name);
    function test() {
      text(document.getElementById('action-result'), 'Testing...');
      send('POST', base + '/test').then(function (r) {
        if (r.ok) { text(document.getElementById('action-result'), ''); showTest(r.body); } else { showError(r.body); }
      });
    }
    function signIn(path) {
      var popup = openSignInWindow();
      onSignIn(function (msg) {
        // The page reloads to show the new state; the sign-in's own words survive the reload.
        try { window.sessionStorage.setItem('signin-result', msg.text); } catch (e) {}
        window.location.href = connectionUrl(name) + (msg.ok ? '?signed_in=1' : '');
      });
      send('POST', base + path).then(function (r) {
        if (!r.ok) { if (popup) popup.close(); showError(r.body); return; }
        if (popup) popup.location.href = r.body.url; else window.location.href = r.body.url;
      });
    }
    document.getElementById('test').addEventListener('click', test);
    document.getElementById('refresh').addEventListener('click', function () {
      send('POST', base + '/refresh').then(function (r) { if (r.ok) window.location.reload(); else showError(r.body); });
    });
    document.getElementById('reauthorize').addEventListener('click', function () { signIn('/authorize'); });
    document.getElementById('admin-consent').addEventListener('click', function () { signIn('/admin-consent'); });
    document.getElementById('delete').addEventListener('click', function () {
      if (!window.confirm('Delete the connection ' + name + '? Flows that use it will stop.')) return;
      send('DELETE', base).then(function (r) { if (r.ok) window.location.href = '/'; else showError(r.body); });
    });
    try {
      var said = window.sessionStorage.getItem('signin-result');
      window.sessionStorage.removeItem('signin-result');
      text(document.getElementById('signin-result'), said);
    } catch (e) {}
    devicePanel(base, name);
    if (window.location.search.indexOf('signed_in=1') >= 0) test();
  }

  // Device code sign-in: the server waits for the person; this page shows the address, the code
  // and the time left, and asks how it stands until it ends.
  function devicePanel(base, name) {
    var box = document.getElementById('device');
    function show(v) {
      box.hidden = false;
      var link = document.getElementById('device-uri');
      link.href = v.verification_uri;
      link.textContent = v.verification_uri;
      text(document.getElementById('device-user-code'), v.user_code);
      text(document.getElementById('device-message'), v.state === 'waiting' ? '' : v.message);
      var left = Math.max(0, v.seconds_left || 0);
      text(document.getElementById('device-left'), v.state === 'waiting' ? 'Waiting for the sign-in: ' + Math.floor(left / 60) + ':' + ('0' + (left % 60)).slice(-2) + ' left' : '');
      document.getElementById('device-cancel').hidden = v.state !== 'waiting';
    }
    function watch() {
      send('GET', base + '/device').then(function (r) {
        if (!r.ok) return;
        show(r.body);
        if (r.body.state === 'connected') { window.location.href = connectionUrl(name) + '?signed_in=1'; return; }
        if (r.body.state === 'waiting') window.setTimeout(watch, 1000);
      });
    }
    document.getElementById('device-sign-in').addEventListener('click', function () {
      send('POST', base + '/device').then(function (r) {
        if (!r.ok) { showError(r.body); return; }
        show(r.body);
        window.setTimeout(watch, 1000);
      });
    });
    document.getElementById('device-cancel').addEventListener('click', function () {
      send('DELETE', base + '/device').then(function () { window.setTimeout(watch, 400); });
    });
    if (window.location.search.indexOf('device=1') >= 0) watch();
  }

  function signOut() {
    var link = document.getElementById('sign-out');
    if (link) link.addEventListener('click', function (e) {
      e.preventDefault();
      send('POST', '/panel/api/signout').then(function () { window.location.href = '/'; });
    });
  }

  document.addEventListener('DOMContentLoaded', function () { signOut(); createPage(); connectionPage(); });
})();
