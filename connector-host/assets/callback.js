// The sign-in window's last page: tell the panel how the sign-in ended, then close.
// login.microsoftonline.com sends Cross-Origin-Opener-Policy, so window.opener may be gone:
// a BroadcastChannel reaches the panel either way (same origin), postMessage when it can.
(function () {
  var p = document.getElementById('outcome');
  if (!p) return;
  var msg = { kind: 'connector-host-signin', ok: p.dataset.ok === 'true', name: p.dataset.name, text: p.textContent };
  try { new BroadcastChannel('connector-host-signin').postMessage(msg); } catch (e) {}
  try { if (window.opener) window.opener.postMessage(msg, window.location.origin); } catch (e) {}
  setTimeout(function () { window.close(); }, 400);
})();
