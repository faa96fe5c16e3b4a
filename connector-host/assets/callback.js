// The sign-in window's last page: tell the panel how the sign-in ended, then close.
// login.microsoftonline.com sends Cross-Origin-Opener-Policy, so window.opener may be gone:
// a BroadcastChannel reaches the panel either way (same origin), postMessage when it can.
// A window the panel did not open (the same-window fallback for a blocked pop-up) cannot close
// itself: after a successful sign-in it goes back to the connection; a failure stays readable.
(function () {
  var p = document.getElementById('outcome');
  if (!p) return;
  var msg = { kind: 'connector-host-signin', ok: p.dataset.ok === 'true', name: p.dataset.name, text: p.textContent };
  try { new BroadcastChannel('connector-host-signin').postMessage(msg); } catch (e) {}
  try { if (window.opener) window.opener.postMessage(msg, window.location.origin); } catch (e) {}
  setTimeout(function () { window.close(); }, 400);
  setTimeout(function () {
    var back = document.getElementById('back');
    if (msg.ok && back) window.location.replace(back.href);
  }, 1500);
})();
