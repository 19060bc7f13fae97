"""The candidate portal's words, in English and Simplified Chinese (the locales notices are sent in).

The language is the one the link asks for (`?lang=`), else the browser's (Accept-Language), else English.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCALES = ("en", "zh-CN")

STATUS = {
    "en": {
        "received": "We have received your application.",
        "shortlisted": "Your application passed screening.",
        "screened_out": "Your application did not pass screening for this role.",
        "interviewing": "Your interview is scheduled.",
        "interviewed": "Your interview is complete; a decision is being made.",
        "awaiting_approval": "Your result is going through approval.",
        "offered": "You have an offer. Please accept or decline below.",
        "rejected": "We will not be moving forward this time.",
        "accepted": "You accepted the offer. Welcome!",
        "declined": "You declined the offer.",
        "hired": "You are hired.",
        "no_show": "You did not start on the agreed date.",
        "withdrawn": "This application was withdrawn.",
    },
    "zh-CN": {
        "received": "我们已收到您的申请。",
        "shortlisted": "您的申请已通过筛选。",
        "screened_out": "很遗憾，您的申请未通过该职位的筛选。",
        "interviewing": "您的面试已安排。",
        "interviewed": "您的面试已完成，我们正在做出决定。",
        "awaiting_approval": "您的结果正在审批中。",
        "offered": "恭喜您获得录用通知，请在下方接受或拒绝。",
        "rejected": "很遗憾，这次我们无法继续推进。",
        "accepted": "您已接受录用，欢迎加入！",
        "declined": "您已拒绝录用。",
        "hired": "您已入职。",
        "no_show": "您未在约定日期入职。",
        "withdrawn": "该申请已撤回。",
    },
}

# One line per timeline entry, by the status it reached: what the candidate may know, in their words. The
# staff timeline's details (who scheduled, who decided, interview ids, scores, override reasons) never
# reach the portal.
TIMELINE = {
    "en": {
        "received": "We received your application.",
        "shortlisted": "Your application passed screening.",
        "screened_out": "Your application was not taken further for this role.",
        "interviewing": "Your interview was arranged.",
        "interviewed": "Your interview is complete.",
        "awaiting_approval": "Your result went to approval.",
        "offered": "We made you an offer.",
        "rejected": "We decided not to move forward with your application.",
        "accepted": "You accepted the offer.",
        "declined": "You declined the offer.",
        "hired": "You joined us.",
        "no_show": "The agreed start did not take place.",
        "withdrawn": "The application was withdrawn.",
    },
    "zh-CN": {
        "received": "我们已收到您的申请。",
        "shortlisted": "您的申请已通过筛选。",
        "screened_out": "您的申请未进入该职位的下一步。",
        "interviewing": "已为您安排面试。",
        "interviewed": "您的面试已完成。",
        "awaiting_approval": "您的结果已提交审批。",
        "offered": "我们向您发出了录用通知。",
        "rejected": "我们决定暂不推进您的申请。",
        "accepted": "您已接受录用。",
        "declined": "您已拒绝录用。",
        "hired": "您已入职。",
        "no_show": "约定的入职未能进行。",
        "withdrawn": "该申请已撤回。",
    },
}

STATUS_NAME = {
    "zh-CN": {"received": "已收到", "shortlisted": "通过筛选", "screened_out": "未通过筛选", "interviewing": "面试中",
              "interviewed": "已面试", "awaiting_approval": "审批中", "offered": "已发录用", "rejected": "未录用",
              "accepted": "已接受", "declined": "已拒绝", "hired": "已入职", "no_show": "未入职", "withdrawn": "已撤回",
              "pending": "待处理", "approved": "已批准"},
}

TEXT = {
    "en": {
        "your_application": "Your application", "where": "Where your application stands",
        "approvals": "Approval progress", "step": "Step", "status": "Status", "expected_by": "Expected by",
        "decided": "Decided", "step_hr": "Division HR review", "step_admin": "Group HR approval",
        "timeline": "Timeline", "answer": "Your answer", "accept": "Accept", "decline": "Decline",
        "thanks_status": "Thank you. Status:", "survey": "How was your experience?",
        "survey_legend": "Your rating, from 1 (poor) to 5 (excellent)",
        "survey_comment": "Anything we could do better? (optional)", "survey_send": "Send feedback",
        "survey_thanks": "Thank you for your feedback.", "pool": "Talent pool",
        "pool_withdrawn": "You are not in our talent pool: we will not contact you about other roles.",
        "pool_in": "You are in our talent pool: we may contact you when a role that fits you opens.",
        "pool_maybe": "If you agreed to join our talent pool, we may contact you when a role that fits you opens.",
        "pool_note": "You can withdraw that consent at any time.", "pool_button": "Remove me from the talent pool",
        "pool_done": "Done: you are no longer in our talent pool.", "reengage": "An opening for you",
        "reengage_text": "You did well in a previous interview with us. A new role, {title}, has opened and we "
                         "would like to consider you.",
        "language": "中文", "language_code": "zh-CN", "page_language": "Language",
        "offer": "Your offer", "salary": "Salary", "start_date": "Start date", "choose_start": "Choose your start date",
        "answer_by": "Please answer by", "offer_message": "A note from {company}",
        "letter": "Download the offer letter (PDF)",
        "accept_offer": "Accept the offer", "confirm_title": "Please confirm",
        "confirm_text": "You are accepting the offer, starting on {date}.", "confirm": "Yes, I accept",
        "back": "Go back", "pick_a_date": "Please choose a start date first.",
        "decline_reason": "Why are you declining? (optional)", "decline_offer": "Decline the offer",
        "ask": "A question for HR", "ask_send": "Send my question", "asked": "Sent: HR will answer you by email.",
        "expired": "This offer has expired and can no longer be accepted. Please contact HR.",
        "starting": "You start on {date}.",
        "per": {"year": "per year", "month": "per month", "hour": "per hour"},
    },
    "zh-CN": {
        "your_application": "您的申请", "where": "申请进度", "approvals": "审批进度", "step": "步骤", "status": "状态",
        "expected_by": "预计完成", "decided": "完成时间",
        "step_hr": "事业部人力资源审核", "step_admin": "集团人力资源审批",
        "timeline": "时间线", "answer": "您的答复", "accept": "接受", "decline": "拒绝",
        "thanks_status": "谢谢。状态：",
        "survey": "您对这次招聘体验满意吗？", "survey_legend": "请评分：1（差）到 5（非常好）",
        "survey_comment": "我们还能做得更好吗？（选填）", "survey_send": "提交反馈", "survey_thanks": "感谢您的反馈。",
        "pool": "人才库", "pool_withdrawn": "您不在我们的人才库中：我们不会就其他职位联系您。",
        "pool_in": "您已在我们的人才库中：有合适的职位时我们可能会联系您。",
        "pool_maybe": "如果您同意加入我们的人才库，有合适的职位时我们可能会联系您。",
        "pool_note": "您可以随时撤回此同意。", "pool_button": "将我移出人才库",
        "pool_done": "已完成：您已不在我们的人才库中。",
        "reengage": "有一个适合您的机会",
        "reengage_text": "您在之前的面试中表现出色。新职位「{title}」已开放，我们希望考虑您。",
        "language": "English", "language_code": "en", "page_language": "语言",
        "offer": "您的录用条件", "salary": "薪酬", "start_date": "入职日期", "choose_start": "请选择入职日期",
        "answer_by": "请于以下时间前答复", "offer_message": "{company}的留言", "letter": "下载录用通知书（PDF）",
        "accept_offer": "接受录用", "confirm_title": "请确认",
        "confirm_text": "您将接受录用，入职日期为 {date}。", "confirm": "确认接受", "back": "返回",
        "pick_a_date": "请先选择入职日期。",
        "decline_reason": "婉拒原因（选填）", "decline_offer": "婉拒录用",
        "ask": "向 HR 提问", "ask_send": "发送问题", "asked": "已发送：HR 将通过邮件回复您。",
        "expired": "该录用通知已过期，无法再接受。请联系 HR。",
        "starting": "您的入职日期为 {date}。",
        "per": {"year": "每年", "month": "每月", "hour": "每小时"},
    },
}


def pick_locale(asked: str | None, accept_language: str | None) -> str:
    if asked in LOCALES:
        return asked
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def status_name(locale: str, status: str) -> str:
    return STATUS_NAME.get(locale, {}).get(status, status.replace("_", " "))


def timeline_text(locale: str, status: str) -> str:
    return TIMELINE.get(locale, TIMELINE["en"]).get(status, status_name(locale, status))


def step_name(locale: str, role: str | None) -> str:
    """An approval step by what it is (division HR review, group HR approval), never by who decides it."""
    text = TEXT.get(locale, TEXT["en"])
    return text["step_hr"] if role == "hr" else text["step_admin"]


# The interview section's words (gateway/templates/portal_interview.html): kept apart from TEXT so the pages'
# other sections change without touching them, and merged into it below for the template.
INTERVIEW = {
    "en": {
        "iv_heading": "Your interview", "iv_pick_heading": "Choose a time for your interview",
        "iv_pick_intro": "Pick the time that suits you. Times are shown in {zone}.",
        "iv_pick_legend": "Times offered", "iv_pick_confirm": "Confirm this time",
        "iv_pick_choose": "Please choose a time first.", "iv_pick_done": "Thank you. Your interview is booked.",
        "iv_pick_taken": "That time is no longer available. Please choose another.",
        "iv_none_left": "All the times offered have been taken. Please ask us for other times.",
        "iv_other_summary": "None of these times suit me",
        "iv_other_label": "When would suit you? (optional)", "iv_other_send": "Ask for other times",
        "iv_other_done": "Thank you. We will offer you other times soon.",
        "iv_other_requested": "You asked for other times. We will send you new ones.",
        "iv_when": "When", "iv_format": "Format", "iv_where": "Where", "iv_link": "Video call",
        "iv_join": "Join the video call", "iv_phone_note": "We will call you at this time.",
        "iv_instructions": "Before you come", "iv_failed": "Something went wrong. Please try again.",
        "iv_format_onsite": "In person", "iv_format_video": "Video call", "iv_format_phone": "Phone call",
    },
    "zh-CN": {
        "iv_heading": "您的面试", "iv_pick_heading": "选择面试时间",
        "iv_pick_intro": "请选择适合您的时间。时间均按 {zone} 显示。",
        "iv_pick_legend": "可选时间", "iv_pick_confirm": "确认此时间",
        "iv_pick_choose": "请先选择一个时间。", "iv_pick_done": "谢谢，您的面试已预约。",
        "iv_pick_taken": "该时间已不可选，请选择其他时间。",
        "iv_none_left": "提供的时间都已被选完，请向我们申请其他时间。",
        "iv_other_summary": "这些时间都不合适",
        "iv_other_label": "什么时间适合您？（选填）", "iv_other_send": "申请其他时间",
        "iv_other_done": "谢谢，我们会尽快为您提供其他时间。",
        "iv_other_requested": "您已申请其他时间，我们会尽快发送新的时间给您。",
        "iv_when": "时间", "iv_format": "形式", "iv_where": "地点", "iv_link": "视频会议",
        "iv_join": "加入视频面试", "iv_phone_note": "我们会在此时间给您打电话。",
        "iv_instructions": "面试须知", "iv_failed": "出错了，请重试。",
        "iv_format_onsite": "现场面试", "iv_format_video": "视频面试", "iv_format_phone": "电话面试",
    },
}
for _locale in LOCALES:
    TEXT[_locale].update(INTERVIEW[_locale])


def interview_format(locale: str, format_: str | None) -> str:
    words = INTERVIEW.get(locale, INTERVIEW["en"])
    return words.get(f"iv_format_{format_}", (format_ or "").replace("_", " "))


def salary_text(locale: str, salary: dict) -> str:
    """"EUR 85,000 per year" / "EUR 85,000 每年": grouped, cents only when there are any."""
    amount = float(salary["amount"])
    number = f"{int(amount):,}" if amount.is_integer() else f"{amount:,.2f}"
    per = TEXT.get(locale, TEXT["en"])["per"].get(salary["period"], salary["period"])
    return f"{salary['currency']} {number} {per}"


def local_time(instant: str, zone: str) -> str:
    """An ISO instant as the wall time of `zone` (the division's), with the zone named."""
    try:
        local = datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    except (ValueError, KeyError, OSError):
        return instant
    return f"{local:%Y-%m-%d %H:%M} ({zone})"
