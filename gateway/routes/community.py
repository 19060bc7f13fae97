"""The talent community (issue 18): `GET/POST /careers/community` (join: a form or JSON), `GET/POST
/careers/community/confirm/{token}` (the emailed double opt-in link: the GET shows a button and only the POST
confirms, since mail scanners prefetch links), and the member's portal (`/portal/{token}` for a token of kind
`m`, with `POST /portal/{token}/leave`). No API key: talent_pool is called as `Caller.system("careers")`, the
member's token (shared/tokens.py) being their only credential. The answer to joining never says whether the
address was known (no account enumeration)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic_core import to_jsonable_python

from gateway import careers, portal_text
from gateway.console.session import same_origin
from gateway.deps import Rpc, ok
from gateway.openapi import REF
from gateway.rpc import ServiceCalls
from gateway.templating import SECURITY_HEADERS, TEMPLATES
from shared.contracts import sourcing, talent_pool
from shared.contracts.caller import Caller
from shared.contracts.commands import CommunitySignupIn
from shared.errors import Forbidden, Invalid, NotFound
from shared.signing import BadSignature
from shared.tokens import read_portal_token
from shared.validation import parse

CAREERS = Caller.system("careers")
HONEYPOT = "website"  # a field people never see (hidden by the stylesheet); bots fill it in
TRUE_WORDS = ("on", "true", "1", "yes")
router = APIRouter(tags=["careers"])

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Join our talent community",
        "intro": "Tell us what you do and where you would like to work: our recruiters will contact you when a "
                 "role matches. We ask you to confirm by email first.",
        "name": "Your name", "email": "Email", "skills": "Your skills (comma-separated)",
        "divisions": "Divisions you are interested in (none: all)", "website": "Leave this empty",
        "consent": "I agree that my name, email and skills are kept in the talent pool so recruiters can contact "
                   "me about roles. I can leave at any time from the link in every email.",
        "join": "Join", "sent_title": "Check your email",
        "sent": "If this address can join, an email with a confirmation link is on its way. The link is valid for "
                "14 days. Nothing is kept in the talent pool until you confirm.",
        "confirm_title": "Confirm your membership",
        "confirm_text": "Press the button to join the talent community with the details you sent.",
        "confirm": "Confirm", "member_title": "You are in our talent community",
        "member_text": "Recruiters may contact you about roles that match your skills.",
        "expired": "This confirmation link has expired. Join again to get a fresh one.",
        "left_title": "You left the talent community",
        "left_text": "We deleted your details. You will get no more emails about the talent community.",
        "your_skills": "Skills", "your_divisions": "Divisions", "all_divisions": "All divisions",
        "kept_until": "Kept until", "leave": "Leave the talent community", "portal": "Your member page",
        "language": "中文", "language_code": "zh-CN",
    },
    "zh-CN": {
        "title": "加入我们的人才社区",
        "intro": "告诉我们您的专长和希望加入的事业部：有匹配的岗位时，招聘人员会与您联系。我们会先请您通过邮件确认。",
        "name": "姓名", "email": "邮箱", "skills": "技能（用逗号分隔）",
        "divisions": "感兴趣的事业部（不选即全部）", "website": "请留空",
        "consent": "我同意将我的姓名、邮箱和技能保存在人才库中，以便招聘人员就岗位与我联系。"
                   "我可以随时通过每封邮件中的链接退出。",
        "join": "加入", "sent_title": "请查收邮件",
        "sent": "如果该邮箱可以加入，一封带有确认链接的邮件正在发送中。链接 14 天内有效。"
                "确认之前，我们不会将任何信息放入人才库。",
        "confirm_title": "确认加入",
        "confirm_text": "点击按钮，以您提交的信息加入人才社区。",
        "confirm": "确认", "member_title": "您已加入我们的人才社区",
        "member_text": "招聘人员可能会就与您技能相符的岗位与您联系。",
        "expired": "此确认链接已过期。请重新加入以获取新的链接。",
        "left_title": "您已退出人才社区",
        "left_text": "我们已删除您的信息。您将不会再收到有关人才社区的邮件。",
        "your_skills": "技能", "your_divisions": "事业部", "all_divisions": "全部事业部",
        "kept_until": "保留至", "leave": "退出人才社区", "portal": "我的会员页面",
        "language": "English", "language_code": "en",
    },
}


def _locale(request: Request, chosen: str | None = None) -> str:
    """`?lang=` first, then the language the person chose when joining, then their browser's."""
    return portal_text.pick_locale(request.query_params.get("lang") or chosen, request.headers.get("accept-language"))


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or request.headers.get(
        "content-type", "").startswith("application/json")


def _page(mode: str, locale: str, status: int = 200, **view: Any) -> HTMLResponse:
    html = TEMPLATES.get_template("community.html").render(mode=mode, locale=locale, t=TEXT[locale], **view)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _member_id(request: Request, token: str) -> str:
    try:
        kind, member_id = read_portal_token(token, request.app.state.settings.portal_secret)
    except BadSignature:
        raise NotFound("this link is not valid") from None
    if kind != "m":
        raise NotFound("this link is not valid")
    return member_id


async def _divisions(request: Request, rpc: ServiceCalls) -> list[dict]:
    answer = await rpc(sourcing.ListDivisions, CAREERS, request)
    return [{"id": d.id, "name": d.name} for d in answer.items]


def _split(value: Any) -> list[str]:
    """A form's comma-separated (or repeated) values as a list; a JSON list as it is."""
    values = value if isinstance(value, list) else [value]
    return [part.strip() for v in values if isinstance(v, str) for part in v.split(",") if part.strip()]


async def _submitted(request: Request) -> dict[str, Any]:
    """The join request's fields, from JSON or a form (skills comma-separated, divisions repeated)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise Invalid("body: not a readable JSON document", field="body") from None
        if not isinstance(body, dict):
            raise Invalid("body: a JSON object is expected", field="body")
        if isinstance(body.get("skills"), str):
            body["skills"] = _split(body["skills"])
        return body
    form = await request.form()
    return {
        "name": form.get("name") or "", "email": form.get("email") or "", "skills": _split(form.getlist("skills")),
        "divisions": _split(form.getlist("divisions")),
        "consent": (form.get("consent") or "").lower() in TRUE_WORDS or None,
        "locale": form.get("locale") or _locale(request), HONEYPOT: form.get(HONEYPOT) or "",
        "csrf": form.get("csrf"),
    }


def guard(request: Request, fields: dict[str, Any]) -> None:
    """The form's abuse controls, in one place: the honeypot must be empty, and a form post (a browser's)
    must come from our own page with the careers site's CSRF token bound to its cookie (gateway/careers.py).
    A JSON post needs no token: a browser cannot send one cross-site without CORS, which we do not allow.
    The per-address rate limit of routes without a key applies before this."""
    if fields.pop(HONEYPOT, ""):
        raise Invalid(f"{HONEYPOT}: must be empty", field=HONEYPOT)
    token = fields.pop("csrf", None)
    if request.headers.get("content-type", "").startswith("application/json"):
        return
    if not same_origin(request) or not careers.csrf_valid(
            token if isinstance(token, str) else None, request.cookies.get(careers.CSRF_COOKIE),
            request.app.state.settings.context_secret):
        raise Forbidden("csrf: this form has expired or did not come from this site; open it again",
                        field="csrf")


@router.get("/careers/community", response_class=HTMLResponse, include_in_schema=False)
async def community_form(request: Request, rpc: Rpc):
    locale = _locale(request)
    settings = request.app.state.settings
    cookie = request.cookies.get(careers.CSRF_COOKIE)
    if not cookie or len(cookie) > 100:
        cookie = careers.new_csrf_cookie()
    response = _page("form", locale, divisions=await _divisions(request, rpc),
                     csrf=careers.csrf_token(cookie, settings.context_secret))
    secure = request.url.scheme == "https" or settings.public_url.startswith("https://")
    response.set_cookie(careers.CSRF_COOKIE, cookie, max_age=careers.CSRF_SECONDS, path="/careers", httponly=True,
                        samesite="strict", secure=secure)
    return response


# The body is read by hand (a JSON document, or the page's form with its CSRF token), so the document says what
# it takes; a form post without the page's token is a 403 naming `csrf`.
def _json_schema() -> dict:
    schema = CommunitySignupIn.model_json_schema()
    # `skills` may also come as one comma-separated string, as the form sends it.
    skills = schema["properties"]["skills"]
    schema["properties"]["skills"] = {"anyOf": [skills, {"type": "string", "maxLength": 8000}],
                                      "default": skills.pop("default", []), "title": skills.pop("title", "Skills")}
    return schema


_JOIN_BODY = {"required": True, "content": {
    "application/json": {"schema": _json_schema()},
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 200}, "email": {"type": "string", "maxLength": 320},
        "skills": {"type": "string", "maxLength": 8000, "description": "comma-separated"},
        "divisions": {"type": "array", "maxItems": 50, "items": {"type": "string", "maxLength": 80}},
        "consent": {"type": "string", "maxLength": 10}, "locale": {"type": "string", "maxLength": 10},
        "csrf": {"type": "string", "maxLength": 400}}}}}}


@router.post("/careers/community", status_code=202, openapi_extra={"requestBody": _JOIN_BODY},
             responses={**ok(talent_pool.CommunitySignupAccepted, 202),
                        403: {"description": "A form post without the careers page's CSRF token (`field`: csrf)",
                              "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}})
async def community_join(request: Request, rpc: Rpc):
    """Join: 202 `{status: "pending"}` (JSON) or 303 to the "check your email" page, whether the address is
    new, pending or already a member. Bad input: 422 naming the field, nothing stored."""
    fields = await _submitted(request)
    guard(request, fields)
    data = parse(CommunitySignupIn, fields)
    await rpc(talent_pool.JoinCommunity, CAREERS, request, **data.model_dump(mode="json"))
    if _wants_json(request):
        return JSONResponse({"status": "pending"}, status_code=202)
    return RedirectResponse(f"/careers/community/sent?lang={data.locale}", status_code=303)


@router.get("/careers/community/sent", response_class=HTMLResponse, include_in_schema=False)
async def community_sent(request: Request):
    return _page("sent", _locale(request))


def _member(answer: Any) -> dict[str, Any]:
    return to_jsonable_python(answer)


@router.get("/careers/community/confirm/{token}", responses=ok(talent_pool.CommunityMember))
async def community_confirm_page(request: Request, rpc: Rpc, token: str):
    """The emailed link: a page with the confirm button (this GET changes nothing)."""
    member = _member(await rpc(talent_pool.GetCommunityMember, CAREERS, request, signup_id=_member_id(request, token)))
    if _wants_json(request):
        return JSONResponse(member)
    mode = {"pending": "confirm", "member": "member", "left": "left"}[member["status"]]
    return _page(mode, _locale(request, member["locale"]), member=member, token=token)


@router.post("/careers/community/confirm/{token}", responses=ok(talent_pool.CommunityMember))
async def community_confirm(request: Request, rpc: Rpc, token: str):
    """The button: the member is in the pool (confirming twice changes nothing)."""
    member = _member(await rpc(talent_pool.ConfirmCommunity, CAREERS, request, signup_id=_member_id(request, token)))
    if _wants_json(request):
        return JSONResponse(member)
    locale = _locale(request, member["locale"])
    if member["status"] == "pending":  # a stale request: nothing confirmed
        return _page("expired", locale, status=410, member=member, token=token)
    return _page("member" if member["status"] == "member" else "left", locale, member=member, token=token)


async def member_portal(request: Request, rpc: ServiceCalls, token: str, member_id: str):
    """`/portal/{token}` for a member's token (gateway/routes/portal.py hands it here): their membership and a
    leave button; JSON with Accept: application/json."""
    member = _member(await rpc(talent_pool.GetCommunityMember, CAREERS, request, signup_id=member_id))
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"kind": "member", **member})
    mode = {"pending": "confirm", "member": "member", "left": "left"}[member["status"]]
    return _page(mode, _locale(request, member["locale"]), member=member, token=token)


@router.post("/portal/{token}/leave", responses=ok(talent_pool.CommunityMember))
async def member_leave(request: Request, rpc: Rpc, token: str):
    """The member leaves: out of the pool at once, their details deleted. Leaving twice changes nothing."""
    member = _member(await rpc(talent_pool.LeaveCommunity, CAREERS, request, signup_id=_member_id(request, token)))
    if _wants_json(request):
        return JSONResponse(member)
    return _page("left", _locale(request, member["locale"]), member=member, token=token)
