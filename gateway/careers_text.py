"""The careers site's words, in English and Simplified Chinese (gateway/routes/careers.py).

The language is the one the page asks for (`?lang=`, or the form's hidden `lang`), else the browser's
(Accept-Language), else English: `portal_text.pick_locale`. Every string the site shows is here, in both
languages (gateway/tests/test_careers.py checks that the two tables have the same keys).
"""

from __future__ import annotations

from gateway.portal_text import LOCALES, pick_locale

__all__ = ["EMPLOYMENT", "LOCALES", "PERIOD", "TEXT", "pick_locale"]

EMPLOYMENT = {
    "en": {"full_time": "Full time", "part_time": "Part time", "contract": "Contract", "internship": "Internship",
           "temporary": "Temporary"},
    "zh-CN": {"full_time": "全职", "part_time": "兼职", "contract": "合同工", "internship": "实习",
              "temporary": "临时"},
}

PERIOD = {
    "en": {"year": "a year", "month": "a month", "hour": "an hour"},
    "zh-CN": {"year": "每年", "month": "每月", "hour": "每小时"},
}

TEXT = {
    "en": {
        "site": "Careers", "skip": "Skip to content", "language": "中文", "language_code": "zh-CN",
        "open_roles": "Open roles", "search": "Find a role", "q": "Keyword", "location": "Location",
        "division": "Division", "all_divisions": "All divisions", "find": "Search",
        "none": "No open role matches. Try fewer words, or another location.",
        "more": "More roles", "count": "{n} open roles", "remote": "Remote", "on_site": "On site",
        "employment_type": "Employment type", "salary": "Salary", "closes": "Apply by", "posted": "Posted",
        "department": "Department", "required": "What you need", "nice": "Nice to have",
        "min_years": "At least {n} years of experience", "apply": "Apply now", "all_roles": "All open roles",
        "about": "About the role", "facts": "At a glance",
        # the form
        "apply_for": "Apply for {title}", "required_note": "Fields marked * are required.",
        "you": "About you", "name": "Full name", "email": "Email", "phone": "Phone (optional)",
        "where": "Where you live (optional)", "years": "Years of experience",
        "skills": "Skills (optional)", "skills_hint": "Separate them with commas, e.g. Python, SQL, customer service.",
        "cv": "Your CV", "cv_hint": "PDF, Word (.docx) or plain text, up to 10 MB.",
        "cv_again": "Please choose your CV again.",
        "cover_note": "Cover note (optional)", "questions": "A few questions", "yes": "Yes", "no": "No",
        "consent_legend": "Privacy", "pool_consent": "Keep me in your talent community: you may contact me "
                                                     "about other roles that fit me.",
        "privacy_ack": "I have read the privacy notice.", "privacy_link": "Read the privacy notice",
        "honeypot": "Leave this field empty", "send": "Send application",
        "fix": "Please correct the fields marked below.",
        # what went wrong, next to the field
        "err_required": "This is required.", "err_name": "Please enter your name (up to 200 characters).",
        "err_email": "Please enter a valid email address.",
        "err_phone": "Please enter a phone number: digits, spaces and + ( ) - . only.",
        "err_location": "Please keep this under 200 characters.",
        "err_years": "Please enter a number of years from 0 to 80.",
        "err_skills": "Please list at most 100 skills, each under 80 characters.",
        "err_cv_missing": "Please attach your CV.",
        "err_cv_type": "This file is not a PDF, Word (.docx) or text file. Please choose another.",
        "err_cv_size": "This file is over 10 MB. Please choose a smaller one.",
        "err_cover_note": "Please keep your cover note under 5,000 characters.",
        "err_answer": "Please answer this question.", "err_privacy_ack": "Please confirm you read the privacy notice.",
        "err_invalid": "Please check this field.",
        # pages
        "done_title": "Thank you for applying", "done_text": "We have your application for {title}.",
        "done_email": "We have emailed you a link where you can follow your application. If it has not "
                      "arrived in a few minutes, please check your spam folder.",
        "done_generic": "We have your application.",
        "dup_title": "You have already applied for this role",
        "dup_text": "We already have your application for {title}. Your candidate portal shows where it stands: "
                    "open it from the link in the email we sent you when you applied.",
        "gone_title": "This role is not open",
        "gone_text": "It may have been filled or closed, or the link is not right.",
        "page_gone_title": "Page not found", "page_gone_text": "There is no such page on our careers site.",
        "busy_title": "Please try again later",
        "busy_text": "We have received many applications from your connection. Please try again in {n} minutes.",
        "down_title": "Please try again in a moment",
        "down_text": "We cannot take your application right now. Nothing was sent; please try again shortly.",
        "expired_title": "This form has expired",
        "expired_text": "For your security, forms expire after a while. Please open the form again and resend it.",
        "refused_title": "We could not accept this form",
        "refused_text": "The form was not filled in the way a person would fill it. Nothing was stored. If you are "
                        "a person, please open the form again and leave hidden fields empty.",
        "too_big_title": "The upload is too large",
        "too_big_text": "Files up to 10 MB are accepted. Please choose a smaller file and try again.",
        "back_to_form": "Back to the form", "back_to_role": "Back to the role",
        "privacy_title": "Privacy notice for applicants",
        "privacy_text": [
            "We use what you send us (your name, contact details, CV, answers and cover note) only to consider "
            "you for the role you apply for and to tell you how your application goes.",
            "Your CV is stored encrypted. Recruiters and the interviewers of your application can read it; the "
            "skills and years of experience in it are read automatically to match them with the role.",
            "If you join our talent community, we keep your details so that we can tell you about other roles; "
            "you can leave at any time from the link in our emails.",
            "We keep your application for as long as our retention policy allows, then erase it. You can ask "
            "for a copy of your data or for its erasure at any time by writing to our HR team.",
        ],
    },
    "zh-CN": {
        "site": "招聘", "skip": "跳到正文", "language": "English", "language_code": "en",
        "open_roles": "开放职位", "search": "查找职位", "q": "关键词", "location": "地点",
        "division": "事业部", "all_divisions": "全部事业部", "find": "搜索",
        "none": "没有符合条件的开放职位。请减少关键词，或换一个地点。",
        "more": "更多职位", "count": "{n} 个开放职位", "remote": "远程", "on_site": "现场办公",
        "employment_type": "雇佣类型", "salary": "薪资", "closes": "截止日期", "posted": "发布日期",
        "department": "部门", "required": "任职要求", "nice": "加分项",
        "min_years": "至少 {n} 年工作经验", "apply": "立即申请", "all_roles": "全部开放职位",
        "about": "职位介绍", "facts": "概览",
        "apply_for": "申请「{title}」", "required_note": "带 * 的为必填项。",
        "you": "您的信息", "name": "姓名", "email": "电子邮箱", "phone": "电话（选填）",
        "where": "所在地（选填）", "years": "工作年限",
        "skills": "技能（选填）", "skills_hint": "用逗号分隔，例如：Python, SQL, 客户服务。",
        "cv": "您的简历", "cv_hint": "PDF、Word（.docx）或纯文本，不超过 10 MB。",
        "cv_again": "请重新选择您的简历。",
        "cover_note": "求职信（选填）", "questions": "几个问题", "yes": "是", "no": "否",
        "consent_legend": "隐私", "pool_consent": "将我加入人才社区：有适合我的其他职位时可以联系我。",
        "privacy_ack": "我已阅读隐私声明。", "privacy_link": "阅读隐私声明",
        "honeypot": "请勿填写此项", "send": "提交申请",
        "fix": "请修改下方标出的内容。",
        "err_required": "此项为必填。", "err_name": "请填写姓名（不超过 200 个字符）。",
        "err_email": "请填写有效的电子邮箱。",
        "err_phone": "请填写电话号码：只能包含数字、空格和 + ( ) - .。",
        "err_location": "请不要超过 200 个字符。",
        "err_years": "请填写 0 到 80 之间的年数。",
        "err_skills": "最多填写 100 项技能，每项不超过 80 个字符。",
        "err_cv_missing": "请上传您的简历。",
        "err_cv_type": "该文件不是 PDF、Word（.docx）或纯文本文件，请另选一个。",
        "err_cv_size": "该文件超过 10 MB，请选择更小的文件。",
        "err_cover_note": "求职信请不要超过 5000 个字符。",
        "err_answer": "请回答此问题。", "err_privacy_ack": "请确认您已阅读隐私声明。",
        "err_invalid": "请检查此项。",
        "done_title": "感谢您的申请", "done_text": "我们已收到您对「{title}」的申请。",
        "done_email": "我们已向您发送一封邮件，内含查看申请进度的链接。如果几分钟内没有收到，请检查垃圾邮件文件夹。",
        "done_generic": "我们已收到您的申请。",
        "dup_title": "您已申请过该职位",
        "dup_text": "我们已收到您对「{title}」的申请。您的候选人门户会显示申请进度："
                    "请打开申请时我们发给您的邮件中的链接。",
        "gone_title": "该职位未开放", "gone_text": "该职位可能已招满或已关闭，或者链接有误。",
        "page_gone_title": "页面不存在", "page_gone_text": "我们的招聘网站上没有这个页面。",
        "busy_title": "请稍后再试",
        "busy_text": "我们从您的网络收到了很多申请。请在 {n} 分钟后再试。",
        "down_title": "请稍后再试", "down_text": "我们暂时无法接收您的申请。申请尚未提交，请稍后重试。",
        "expired_title": "表单已过期",
        "expired_text": "为了您的安全，表单会在一段时间后过期。请重新打开表单并再次提交。",
        "refused_title": "无法接受此表单",
        "refused_text": "该表单的填写方式不像是由人填写的，未保存任何内容。"
                        "如果您不是机器人，请重新打开表单，并将隐藏的字段留空。",
        "too_big_title": "上传内容过大",
        "too_big_text": "文件大小不能超过 10 MB。请选择更小的文件后重试。",
        "back_to_form": "返回表单", "back_to_role": "返回职位",
        "privacy_title": "申请人隐私声明",
        "privacy_text": [
            "您提交的信息（姓名、联系方式、简历、问题回答和求职信）仅用于评估您申请的职位，并告知您申请进展。",
            "您的简历加密存储。招聘人员和您申请的面试官可以查看；系统会自动读取其中的技能和工作年限，以便与职位匹配。",
            "如果您加入我们的人才社区，我们会保留您的信息，以便告诉您其他职位；您可以随时通过我们邮件中的链接退出。",
            "我们会在保留政策允许的期限内保存您的申请，之后将其删除。您可以随时写信给我们的人力资源团队，索取您的数据副本或要求删除。",
        ],
    },
}
