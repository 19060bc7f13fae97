"""The console's words, in English and Simplified Chinese (issue 20), and the zone its times are shown in.

A signed-in user's language is their account's `locale`; an API-key session (no account) takes the one the
page asks for (`?lang=`), else the browser's (Accept-Language), else English, as the portal does. Times are
shown in the user's `timezone`, UTC for a key session. A word missing from zh-CN reads in English, so a
page half translated still reads.
"""

from __future__ import annotations

from gateway.portal_text import STATUS_NAME, pick_locale

LOCALES = ("en", "zh-CN")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        # the header
        "skip": "Skip to content", "nav_label": "Console", "nav_requisitions": "Requisitions",
        "nav_interviews": "Interviews", "nav_approvals": "Approvals", "nav_policies": "Policies",
        "nav_people": "People", "nav_reports": "Reports", "search_label": "Search candidates and applications",
        "search_placeholder": "Name, email, phone or skill", "search": "Search", "account": "Account",
        "sign_out": "Sign out", "console": "hireloop console",
        # sign-in
        "signin_title": "Sign in", "signin_heading": "Sign in to the hireloop console",
        "session_ended": "Your session ended. Please sign in again.",
        "password_set": "Your password is set. Sign in with your email and password.",
        "email": "Email", "password": "Password", "forgot": "Forgot your password?",
        "keys_legend": "Or, while keys still sign in people", "api_key": "API key",
        "api_key_hint": "Instead of email and password: the key your administrator gave you. It stays on the "
                        "server; the browser keeps only a session cookie.",
        "sign_in": "Sign in", "sso": "Sign in with your company account (single sign-on)",
        # requisitions
        "requisitions": "Requisitions", "filter_requisitions": "Filter requisitions", "status": "Status",
        "any": "any", "urgent": "Urgent", "urgent_only": "urgent only", "not_urgent": "not urgent",
        "division": "Division", "filter": "Filter", "requisitions_caption": "Requisitions matching the filters",
        "title": "Title", "department": "Department", "tier": "Tier", "opened": "Opened",
        "urgent_badge": "urgent", "no_requisitions": "No requisitions match.", "next_page": "Next page",
        "open_requisition_heading": "Open a requisition", "required_skills": "Required skills",
        "nice_skills": "Nice-to-have skills", "skills_hint": "Separate skills with commas.",
        "min_years": "Minimum years", "location": "Location", "headcount": "Headcount",
        "open_requisition": "Open requisition", "status_open": "open", "status_closed": "closed",
        # the board
        "board": "Board", "pipeline": "Pipeline", "board_live": "Updates live as applications move.",
        "col_ended": "ended", "show_more": "Show more", "applications_count": "applications",
        # the application page
        "applying_for": "for", "screening": "Screening", "result": "Result", "override": "Override",
        "interview": "Interview", "competency": "Competency", "mean": "Mean", "spread": "Spread",
        "schedule_interview": "Schedule interview", "decision": "Decision",
        "outcome_pass": "Pass", "outcome_fail": "Fail",
        "approvals": "Approvals", "step": "Step", "expected_by": "Expected by", "decided": "Decided",
        "action": "Action", "approve": "Approve", "reject": "Reject", "approve_step": "Approve step {n}",
        "reject_step": "Reject step {n}", "offer_terms": "Offer terms",
        "candidate_questions": "Questions from the candidate", "offer_follow_up": "Offer follow-up",
        "confirmed_by_phone": "Confirmed by phone", "unreachable": "Unreachable", "hired": "Hired",
        "no_show": "No-show", "withdrawn": "Withdrawn", "documents": "Documents", "file": "File", "kind": "Kind",
        "size": "Size", "reading": "Reading", "skills_found": "Skills found",
        "notices": "Notices to the candidate and HR", "channel": "Channel", "scheduled_for": "Scheduled for",
        "sent": "Sent", "subject": "Subject", "timeline": "Timeline",
        # the interviews list (an interviewer's first page)
        "interviews": "Interviews", "my_interviews": "My interviews", "when": "When", "competencies": "Competencies",
        "panel": "Panel", "my_scorecard": "My scorecard", "scorecard_submitted": "submitted", "scorecard_due": "due",
        "no_interviews": "No interviews.",
        # the account page
        "your_account": "Your account", "preferences": "Language and time zone", "language": "Language",
        "timezone": "Time zone", "timezone_hint": "An IANA zone name, such as Europe/Berlin or Asia/Shanghai. "
                                                  "The console shows every time in it.",
        "save": "Save", "preferences_saved": "Language and time zone saved.",
    },
    "zh-CN": {
        "skip": "跳到正文", "nav_label": "控制台", "nav_requisitions": "招聘需求", "nav_interviews": "面试",
        "nav_approvals": "审批", "nav_policies": "通知策略", "nav_people": "人员", "nav_reports": "报表",
        "search_label": "搜索候选人和申请", "search_placeholder": "姓名、邮箱、电话或技能", "search": "搜索",
        "account": "账户", "sign_out": "退出登录", "console": "hireloop 控制台",
        "signin_title": "登录", "signin_heading": "登录 hireloop 控制台",
        "session_ended": "您的会话已结束，请重新登录。",
        "password_set": "密码已设置，请使用邮箱和密码登录。",
        "email": "邮箱", "password": "密码", "forgot": "忘记密码？",
        "keys_legend": "或者（在密钥仍可登录期间）", "api_key": "API 密钥",
        "api_key_hint": "代替邮箱和密码：管理员给您的密钥。密钥只保存在服务器上，浏览器只保留会话 Cookie。",
        "sign_in": "登录", "sso": "使用公司账户登录（单点登录）",
        "requisitions": "招聘需求", "filter_requisitions": "筛选招聘需求", "status": "状态", "any": "全部",
        "urgent": "紧急", "urgent_only": "仅紧急", "not_urgent": "非紧急", "division": "事业部", "filter": "筛选",
        "requisitions_caption": "符合筛选条件的招聘需求", "title": "职位", "department": "部门", "tier": "级别",
        "opened": "创建时间", "urgent_badge": "紧急", "no_requisitions": "没有符合条件的招聘需求。",
        "next_page": "下一页", "open_requisition_heading": "新建招聘需求", "required_skills": "必备技能",
        "nice_skills": "加分技能", "skills_hint": "多个技能用逗号分隔。", "min_years": "最低年限",
        "location": "地点", "headcount": "招聘人数", "open_requisition": "创建招聘需求",
        "status_open": "进行中", "status_closed": "已关闭",
        "status_scheduled": "已安排", "status_complete": "已完成", "status_cancelled": "已取消",
        "status_awaiting_candidate": "待候选人选时间",
        "board": "看板", "pipeline": "招聘流程", "board_live": "申请状态变化时实时更新。", "col_ended": "已结束",
        "show_more": "显示更多",
        "applications_count": "份申请",
        "applying_for": "应聘", "screening": "筛选", "result": "结果", "override": "人工改判", "interview": "面试",
        "competency": "能力项", "mean": "平均分", "spread": "分差", "schedule_interview": "安排面试",
        "decision": "决定", "outcome_pass": "通过", "outcome_fail": "不通过", "approvals": "审批", "step": "步骤",
        "expected_by": "预计完成", "decided": "决定时间", "action": "操作", "approve": "批准", "reject": "驳回",
        "approve_step": "批准第 {n} 步",
        "reject_step": "驳回第 {n} 步",
        "offer_terms": "录用条件", "candidate_questions": "候选人的问题", "offer_follow_up": "录用跟进",
        "confirmed_by_phone": "已电话确认", "unreachable": "联系不上", "hired": "已入职", "no_show": "未入职",
        "withdrawn": "已撤回", "documents": "文件", "file": "文件名", "kind": "类型", "size": "大小",
        "reading": "解析", "skills_found": "识别出的技能", "notices": "发给候选人和 HR 的通知", "channel": "渠道",
        "scheduled_for": "计划发送", "sent": "已发送", "subject": "主题", "timeline": "时间线",
        "interviews": "面试", "my_interviews": "我的面试", "when": "时间", "competencies": "考察能力",
        "panel": "面试官", "my_scorecard": "我的评分表", "scorecard_submitted": "已提交", "scorecard_due": "待提交",
        "no_interviews": "暂无面试。",
        "your_account": "我的账户", "preferences": "语言和时区", "language": "语言", "timezone": "时区",
        "timezone_hint": "IANA 时区名，例如 Asia/Shanghai 或 Europe/Berlin。控制台中的所有时间都按此时区显示。",
        "save": "保存", "preferences_saved": "语言和时区已保存。",
    },
}
LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}


class Words(dict):
    """One locale's words for a template (`{{ t.sign_in }}`); a word it lacks reads in English."""

    def __missing__(self, key: str) -> str:
        return WORDS["en"].get(key, key)

    def state_name(self, status: str | None) -> str:
        """An application's or requisition's status, as the board's columns and badges name it."""
        if not status:
            return ""
        return self.get(f"status_{status}") or STATUS_NAME.get(self.locale, {}).get(status, status.replace("_", " "))

    locale = "en"


def words(locale: str) -> Words:
    found = Words(WORDS.get(locale, WORDS["en"]))
    found.locale = locale if locale in WORDS else "en"
    return found


def choose_locale(user_locale: str | None, asked: str | None, accept_language: str | None) -> str:
    """The account's locale when signed in as a user; else `?lang=`, else the browser's, else English."""
    if user_locale in LOCALES:
        return user_locale
    return pick_locale(asked, accept_language)
