// The candidate portal's three actions (answer an offer, the survey, leaving the talent pool): JSON posts to
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
