// hireloop console: the live pipeline board (paged columns, cards selectable for bulk actions), and a posting
// description's length as it is typed. The stream says only which application moved; the board is then fetched
// again through the console (and so through the API, with the viewer's own permissions).
(function () {
  "use strict";
  const board = document.getElementById("board");
  if (!board || !window.EventSource) return;
  const state = document.getElementById("live-state");
  let pending = null;
  async function refresh(change) {
    const response = await fetch(board.dataset.fragment, {credentials: "same-origin", headers: {"Accept": "text/html"}});
    if (!response.ok) return;
    const picked = new Set(Array.from(board.querySelectorAll("input.pick:checked")).map(function (x) { return x.value; }));
    board.innerHTML = await response.text();
    board.querySelectorAll("input.pick").forEach(function (x) { x.checked = picked.has(x.value); });  // keep the selection
    board.dispatchEvent(new Event("board-refreshed"));
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
  // The board's "Show more": a column's next cards fetched and added in place (the link works without script,
  // as the board from that card on); the bulk form says how many cards are selected.
  const board = document.getElementById("board");
  if (!board) return;
  const count = document.getElementById("bulk-count");
  function counted() {
    if (!count) return;
    const n = board.querySelectorAll("input.pick:checked").length;
    count.textContent = n ? "(" + n + " selected)" : "(none selected)";
  }
  board.addEventListener("change", function (event) { if (event.target.matches("input.pick")) counted(); });
  board.addEventListener("board-refreshed", counted);
  board.addEventListener("click", async function (event) {
    const link = event.target.closest("a[data-more]");
    if (!link) return;
    event.preventDefault();
    const item = link.closest("li");
    const response = await fetch(link.dataset.more, {credentials: "same-origin", headers: {"Accept": "text/html"}});
    if (!response.ok) { location.assign(link.href); return; }
    const holder = document.createElement("ul");
    holder.innerHTML = await response.text();
    const added = Array.from(holder.children);
    item.replaceWith.apply(item, added);
    const first = added.find(function (li) { return li.querySelector("a"); });
    if (first) first.querySelector("a").focus();  // the keyboard goes on from the first new card
  });
  counted();
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
(function () {
  "use strict";
  // An interview's time in the viewer's own zone (the browser's), written as the page writes the interview's own:
  // "Mon 4 Jan 2027, 09:00–10:00 (Europe/London, UTC+00:00)".
  const spots = document.querySelectorAll("[data-your-time]");
  if (!spots.length || !window.Intl) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];  // as the server's
  const format = new Intl.DateTimeFormat("en-GB", {timeZone: zone, weekday: "short", day: "numeric", month: "numeric",
    year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "longOffset"});
  function parts(date) {
    const p = {};
    format.formatToParts(date).forEach(function (x) { p[x.type] = x.value; });
    p.date = p.weekday + " " + Number(p.day) + " " + months[Number(p.month) - 1] + " " + p.year;
    p.time = p.hour + ":" + p.minute;
    p.offset = p.timeZoneName === "GMT" ? "UTC+00:00" : p.timeZoneName.replace("GMT", "UTC");
    return p;
  }
  spots.forEach(function (spot) {
    const start = new Date(spot.dataset.start), end = new Date(spot.dataset.end);
    if (isNaN(start) || isNaN(end)) return;
    const a = parts(start), b = parts(end);
    const span = a.date === b.date ? a.date + ", " + a.time + "–" + b.time
                                   : a.date + ", " + a.time + " – " + b.date + ", " + b.time;
    const offsets = a.offset === b.offset ? a.offset : a.offset + "/" + b.offset;
    spot.querySelector("[data-your-time-text]").textContent = span + " (" + zone + ", " + offsets + ")";
    spot.hidden = false;
  });
})();
