// Reload the dev outbox every 5 s unless the reader has a message open other than the newest.
setInterval(function () {
  var open = document.querySelectorAll("details.mail[open]");
  if (open.length <= 1 && !document.hidden) { window.location.reload(); }
}, 5000);
