// The candidate portal's actions (answer an offer, ask HR about it, the survey, leaving the talent pool, picking an interview
// time or asking for others): JSON posts to the page's own link. Messages come from the page (data-*), so they
// are in the page's language.
(function () {
  "use strict";
  const main = document.getElementById("content");
  async function post(suffix, body, key) {
    const headers = {"content-type": "application/json"};
    if (key) headers["Idempotency-Key"] = key;
    const response = await fetch(location.pathname + suffix, {method: "POST", headers: headers,
      body: JSON.stringify(body)});
    return {ok: response.ok, status: response.status, body: await response.json().catch(function () { return {}; })};
  }
  document.querySelectorAll("[data-answer]").forEach(function (button) {
    button.addEventListener("click", async function () {
      const r = await post("/response", {response: button.dataset.answer});
      document.getElementById("result").textContent = r.ok ? main.dataset.thanks + " " + r.body.status : r.body.error.message;
      if (r.ok) setTimeout(function () { location.reload(); }, 800);
    });
  });
  // An offer with terms: accept by choosing a start date, then a confirmation step; decline with an optional
  // reason; or a question to HR (the offer stays open).
  function said(text) { document.getElementById("result").textContent = text; }
  function answered(r) {
    said(r.ok ? main.dataset.thanks + " " + r.body.status : r.body.error.message);
    if (r.ok) setTimeout(function () { location.reload(); }, 800);
  }
  const accept = document.getElementById("accept-offer");
  const confirmBox = document.getElementById("confirm-accept");
  let chosen = null;
  if (accept) accept.addEventListener("submit", function (event) {
    event.preventDefault();
    chosen = new FormData(accept).get("start_date");
    if (!chosen) { said(accept.dataset.pick); return; }
    document.getElementById("confirm-text").textContent = accept.dataset.confirm.replace("{date}", chosen);
    accept.hidden = true;
    confirmBox.hidden = false;
    document.getElementById("confirm-yes").focus();
  });
  if (confirmBox) {
    document.getElementById("confirm-back").addEventListener("click", function () {
      confirmBox.hidden = true;
      accept.hidden = false;
    });
    document.getElementById("confirm-yes").addEventListener("click", async function () {
      answered(await post("/response", {response: "accept", start_date: chosen}));
    });
  }
  const decline = document.getElementById("decline-offer");
  if (decline) decline.addEventListener("submit", async function (event) {
    event.preventDefault();
    const reason = (new FormData(decline).get("reason") || "").trim();
    answered(await post("/response", reason ? {response: "decline", reason: reason} : {response: "decline"}));
  });
  const ask = document.getElementById("ask-hr");
  if (ask) ask.addEventListener("submit", async function (event) {
    event.preventDefault();
    const r = await post("/response", {response: "question", message: new FormData(ask).get("message")});
    said(r.ok ? ask.dataset.asked : r.body.error.message);
    if (r.ok) ask.reset();
  });
  const survey = document.getElementById("survey");
  if (survey) survey.addEventListener("submit", async function (event) {
    event.preventDefault();
    const form = new FormData(survey);
    const r = await post("/survey", {score: Number(form.get("score")), comment: form.get("comment") || ""});
    document.getElementById("survey-result").textContent = r.ok ? main.dataset.surveyThanks : r.body.error.message;
    if (r.ok) survey.hidden = true;
  });
  const withdraw = document.getElementById("withdraw-consent");
  if (withdraw) withdraw.addEventListener("click", async function () {
    const r = await post("/consent", {talent_pool: false});
    document.getElementById("consent-result").textContent = r.ok ? main.dataset.poolDone : r.body.error.message;
  });
  // The interview: one Idempotency-Key per answer (getRandomValues works on a plain-http link too), kept until
  // the answer is through, so a second tap or a retry after a lost connection is the same request.
  const interview = document.getElementById("interview");
  function newKey() {
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  async function send(form, suffix, body, out, done, conflict) {
    const button = form.querySelector("button[type=submit]");
    const same = JSON.stringify(body);
    if (form.dataset.keyFor !== same) { form.dataset.key = newKey(); form.dataset.keyFor = same; }
    button.disabled = true;
    try {
      const r = await post(suffix, body, form.dataset.key);
      delete form.dataset.keyFor;  // answered: the next answer is a new request
      if (r.ok) {
        out.textContent = done;
        form.hidden = true;
        setTimeout(function () { location.reload(); }, 800);
        return;
      }
      out.textContent = (r.status === 409 && conflict) || (r.body.error || {}).message || interview.dataset.failed;
    } catch (error) {
      out.textContent = interview.dataset.failed;
    }
    button.disabled = false;
  }
  const pick = document.getElementById("slot-pick");
  if (pick) pick.addEventListener("submit", function (event) {
    event.preventDefault();
    const out = document.getElementById("slot-result");
    const chosen = pick.querySelector("input[name=starts_at]:checked");
    if (!chosen) { out.textContent = interview.dataset.choose; pick.querySelector("input[name=starts_at]").focus(); return; }
    send(pick, "/slot", {starts_at: chosen.value}, out, interview.dataset.picked, interview.dataset.taken);
  });
  const other = document.getElementById("other-times");
  if (other) other.addEventListener("submit", function (event) {
    event.preventDefault();
    send(other, "/other-times", {note: new FormData(other).get("note") || ""}, document.getElementById("other-result"),
         interview.dataset.asked, null);
  });
})();
