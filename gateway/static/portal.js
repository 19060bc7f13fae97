// The candidate portal's actions (answer an offer, the survey, leaving the talent pool): JSON posts to
// the page's own link. Messages come from the page (data-*), so they are in the page's language.
(function () {
  "use strict";
  const main = document.getElementById("content");
  async function post(suffix, body) {
    const response = await fetch(location.pathname + suffix, {method: "POST",
      headers: {"content-type": "application/json"}, body: JSON.stringify(body)});
    return {ok: response.ok, body: await response.json()};
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
})();
