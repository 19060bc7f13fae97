// hireloop console: the live pipeline board, and a posting description's length as it is typed. The stream says
// only which application moved; the board is then fetched again through the console (and so through the API,
// with the viewer's own permissions).
(function () {
  "use strict";
  const board = document.getElementById("board");
  if (!board || !window.EventSource) return;
  const state = document.getElementById("live-state");
  let pending = null;
  async function refresh(change) {
    const response = await fetch(board.dataset.fragment, {credentials: "same-origin", headers: {"Accept": "text/html"}});
    if (!response.ok) return;
    board.innerHTML = await response.text();
    if (state && change) state.textContent = "Updated: an application moved to " + change.status.replace(/_/g, " ") + ".";
  }
  const source = new EventSource(board.dataset.stream);
  source.addEventListener("ready", function () {
    board.dataset.live = "on";
    if (state) state.textContent = "Live.";
  });
  source.addEventListener("application", function (event) {
    const change = JSON.parse(event.data);
    clearTimeout(pending);  // a burst of moves is one refresh
    pending = setTimeout(function () { refresh(change); }, 150);
  });
  source.addEventListener("signed-out", function () {  // the key was revoked or the session signed out
    source.close();
    board.dataset.live = "off";
    location.assign("/console/login?expired=1");
  });
  source.onerror = function () { board.dataset.live = "off"; if (state) state.textContent = "Reconnecting…"; };
})();
(function () {
  "use strict";
  // A textarea with data-counter names the element that says how much of its maxlength is used.
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    const out = document.getElementById(area.dataset.counter);
    if (!out) return;
    function show() { out.textContent = area.value.length + " / " + area.maxLength + " characters"; }
    area.addEventListener("input", show);
    show();
  });
})();
