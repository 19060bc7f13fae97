"""The careers site's formats and rules, with no app (gateway/careers.py): a description's Markdown is safe HTML,
the JobPosting JSON-LD parses and cannot be broken out of, the feed and the sitemap are XML of their formats,
the form's CSRF token is bound to its cookie and expires, sources are slugs, and every word exists in both
languages."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from gateway import careers, careers_text
from shared.contracts.sourcing import PublicJob

PUBLIC = "https://jobs.example.org/"


def public_job(**fields) -> dict:
    """A published role as sourcing answers it (shared/contracts/sourcing.py PublicJob)."""
    return {"id": "req_1", "title": "Barista", "division": "retail", "department": "Cafe", "location": "Shanghai",
            "remote": False, "employment_type": "full_time",
            "salary_range": {"min": 60000.0, "max": 80000.0, "currency": "CNY", "period": "year"},
            "description": "Make **great** coffee.\n\n- espresso\n- latte art",
            "required_skills": ["espresso"], "skills": ["latte art"], "min_years": 2.0,
            "knockout_questions": [{"id": "weekends", "question": "Can you work weekends?"}],
            "published_at": "2026-12-01T09:00:00Z", "closes_at": "2027-01-31T23:59:59Z",
            "updated_at": "2026-12-02T10:00:00Z",
            "division_profile": {"id": "retail", "name": "Retail Cafés", "timezone": "Asia/Shanghai",
                                 "locale": "zh-CN", "careers_blurb": "Coffee for the city.", "colour": "#7a2e0e",
                                 "created_at": None, "updated_at": None},
            **fields}


def job(**fields) -> PublicJob:
    return PublicJob.model_validate(public_job(**fields))


# ------------------------------------------------------------------------------------------- Markdown

def test_markdown_renders_but_raw_html_and_unsafe_links_are_neutralised():
    html = str(careers.description_html(
        "# Role\n\n**bold** [site](https://example.org) [mail](mailto:hr@example.org)\n\n"
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=) [vb](vbscript:x) "
        "[rel](/careers) ![pic](https://example.org/a.png)"))
    assert "<h1>Role</h1>" in html and "<strong>bold</strong>" in html
    assert '<a href="https://example.org">site</a>' in html and 'href="mailto:hr@example.org"' in html
    assert not re.search(r"<(script|img|iframe)\b", html)  # no tag of the description's own
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(2)&gt;" in html  # text
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == ["https://example.org", "mailto:hr@example.org", "https://example.org/a.png"]
    assert "javascript:" not in "".join(hrefs) and "data:" not in "".join(hrefs)


# ------------------------------------------------------------------------------------------- JSON-LD

def test_the_job_posting_json_ld_has_the_fields_search_engines_read():
    ld = json.loads(str(careers.job_posting_script(job(), PUBLIC)))
    assert ld["@context"] == "https://schema.org/" and ld["@type"] == "JobPosting"
    assert ld["title"] == "Barista" and "<strong>great</strong>" in ld["description"]
    assert ld["datePosted"] == "2026-12-01T09:00:00Z" and ld["validThrough"] == "2027-01-31T23:59:59Z"
    assert ld["employmentType"] == "FULL_TIME" and ld["directApply"] is True
    assert ld["hiringOrganization"] == {"@type": "Organization", "name": "Retail Cafés",
                                        "sameAs": "https://jobs.example.org/careers?division=retail"}
    assert ld["jobLocation"]["address"]["addressLocality"] == "Shanghai"
    assert "jobLocationType" not in ld and "applicantLocationRequirements" not in ld
    assert ld["baseSalary"] == {"@type": "MonetaryAmount", "currency": "CNY", "value": {
        "@type": "QuantitativeValue", "minValue": 60000.0, "maxValue": 80000.0, "unitText": "YEAR"}}
    assert ld["identifier"] == {"@type": "PropertyValue", "name": "Retail Cafés", "value": "req_1"}
    assert ld["url"] == "https://jobs.example.org/careers/jobs/req_1"


def test_a_remote_job_is_telecommute_with_where_applicants_may_live_and_no_salary_when_none():
    ld = careers.job_posting(job(remote=True, salary_range=None, employment_type="contract", closes_at=None), PUBLIC)
    assert ld["jobLocationType"] == "TELECOMMUTE"
    assert ld["applicantLocationRequirements"] == {"@type": "AdministrativeArea", "name": "Shanghai"}
    assert "baseSalary" not in ld and "validThrough" not in ld and ld["employmentType"] == "CONTRACTOR"


def test_a_description_cannot_break_out_of_the_json_ld_script():
    evil = "</script><script>alert(1)</script> & 'quotes' <!--"
    script = str(careers.job_posting_script(job(title=evil, description=evil), PUBLIC))
    assert "</script" not in script.lower() and "<script" not in script.lower() and "<!--" not in script
    assert "<" not in script and ">" not in script and "&" not in script
    assert json.loads(script)["title"] == evil  # and it still says what it said


# ------------------------------------------------------------------------------------------- feed, sitemap

def test_the_feed_is_indeeds_xml_format_built_from_the_jobs():
    body = careers.job_feed([job(), job(id="req_2", title="Chef <Sous> & co\x01", remote=True, salary_range=None)],
                            PUBLIC, "hireloop", datetime(2026, 12, 5, 12, tzinfo=UTC))
    root = ET.fromstring(body)  # parses: well-formed, control characters dropped
    assert body.startswith(b"<?xml") and root.tag == "source"
    assert root.findtext("publisherurl") == "https://jobs.example.org/careers"
    assert root.findtext("lastBuildDate") == "Sat, 05 Dec 2026 12:00:00 GMT"
    first, second = root.findall("job")
    assert first.findtext("title") == "Barista" and first.findtext("referencenumber") == "req_1"
    assert first.findtext("url") == "https://jobs.example.org/careers/jobs/req_1?source=indeed"
    assert first.findtext("company") == "Retail Cafés" and first.findtext("city") == "Shanghai"
    assert first.findtext("jobtype") == "fulltime" and first.findtext("salary") == "CNY 60000-80000 per year"
    assert first.findtext("date") == "Tue, 01 Dec 2026 09:00:00 GMT"
    assert first.findtext("expirationdate") == "Sun, 31 Jan 2027 23:59:59 GMT"
    assert "<strong>great</strong>" in first.findtext("description")
    assert second.findtext("title") == "Chef <Sous> & co" and second.findtext("remotetype") == "Fully remote"
    assert second.find("salary") is None


def test_the_sitemap_is_a_sitemaps_org_urlset_with_lastmod():
    body = careers.sitemap([job(), job(id="req_2", division="office", updated_at="2026-12-04T08:00:00+00:00")],
                           PUBLIC)
    root = ET.fromstring(body)
    ns = {"s": careers.SITEMAP_NS}
    assert root.tag == f"{{{careers.SITEMAP_NS}}}urlset"
    entries = {u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns)
               for u in root.findall("s:url", ns)}
    assert entries == {
        "https://jobs.example.org/careers": "2026-12-04T08:00:00Z",
        "https://jobs.example.org/careers?division=office": "2026-12-04T08:00:00Z",
        "https://jobs.example.org/careers?division=retail": "2026-12-02T10:00:00Z",
        "https://jobs.example.org/careers/jobs/req_1": "2026-12-02T10:00:00Z",
        "https://jobs.example.org/careers/jobs/req_2": "2026-12-04T08:00:00Z",
    }


# ------------------------------------------------------------------------------------------- rules

def test_csrf_tokens_are_bound_to_their_cookie_signed_and_short_lived(monkeypatch):
    cookie, other = careers.new_csrf_cookie(), careers.new_csrf_cookie()
    token = careers.csrf_token(cookie, "s3cret")
    assert careers.csrf_valid(token, cookie, "s3cret")
    assert not careers.csrf_valid(token, other, "s3cret")  # another browser's cookie
    assert not careers.csrf_valid(token, cookie, "another-secret")  # not signed by us
    assert not careers.csrf_valid(token[:-2] + "xx", cookie, "s3cret")
    assert not careers.csrf_valid(None, cookie, "s3cret") and not careers.csrf_valid(token, None, "s3cret")
    assert not careers.csrf_valid(cookie, cookie, "s3cret")  # the cookie itself is no token
    later = time.time() + careers.CSRF_SECONDS + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert not careers.csrf_valid(token, cookie, "s3cret")


@pytest.mark.parametrize("given, slug", [(None, "careers"), ("", "careers"), ("LinkedIn Jobs", "linkedin-jobs"),
                                         ("  Indeed!! ", "indeed"), ("<script>", "script"), ("x" * 300, "x" * 40),
                                         ("微信", "careers")])
def test_sources_are_short_slugs(given, slug):
    assert careers.source_slug(given) == slug


def test_division_colours_are_checked_and_their_text_reads_on_them():
    css, source = careers.division_style("#ffee00")
    assert css == ":root{--division:#ffee00;--division-ink:#17202e}" and source.startswith("'sha256-")
    assert careers.division_style("#1f6f5c")[0].endswith("--division-ink:#ffffff}")
    assert "#1f6f5c" in careers.division_style("red;}body{display:none")[0]  # not a colour: the default


def test_a_cv_keeps_its_name_without_folders():
    assert careers.cv_filename("C:\\Users\\ada\\CV Ada.pdf", "application/pdf") == "CV Ada.pdf"
    assert careers.cv_filename("../../etc/passwd", "text/plain") == "passwd"
    assert careers.cv_filename("", "application/pdf") == "cv.pdf"
    assert len(careers.cv_filename("a" * 400 + ".docx", "x")) <= 255


def test_every_word_of_the_site_exists_in_both_languages():
    en, zh = careers_text.TEXT["en"], careers_text.TEXT["zh-CN"]
    assert set(en) == set(zh)
    assert len(en["privacy_text"]) == len(zh["privacy_text"])
    for table in (careers_text.EMPLOYMENT, careers_text.PERIOD):
        assert set(table["en"]) == set(table["zh-CN"])
