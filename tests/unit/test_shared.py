import time

import pytest

from shared.context import sign_caller, verify_caller
from shared.contracts.caller import Caller
from shared.contracts.commands import ApiKeyIn, ConsentIn, NewApplication, NewInterview, NewRequisition, ScorecardIn
from shared.contracts.common import normalize_email, normalize_skill
from shared.contracts.events import EVENT_MODELS
from shared.errors import Forbidden, Invalid, Unauthenticated
from shared.signing import BadSignature, sign, verify
from shared.storage import decode_cursor, encode_cursor
from shared.tokens import portal_token, read_portal_token
from shared.validation import parse


def test_signed_caller_round_trips_and_rejects_forgery():
    caller = Caller(key_id="k1", name="hana", role="hr", divisions=("retail",))
    call = ("sourcing", "get_application", {"application_id": "app_1"})
    token = sign_caller(caller, *call, secret="s3cret")
    assert verify_caller(token, *call, secret="s3cret").caller == caller
    with pytest.raises(Unauthenticated):
        verify_caller(token, *call, secret="other-secret")
    payload, mac = token.split(".")
    forged = sign_caller(Caller(key_id="k1", name="hana", role="admin", divisions=("*",)), *call, secret="guess")
    with pytest.raises(Unauthenticated):
        verify_caller(forged.split(".")[0] + "." + mac, *call, secret="s3cret")
    with pytest.raises(Unauthenticated):
        verify_caller(None, *call, secret="s3cret")


def test_signed_tokens_expire():
    token = sign({"a": 1}, "k", "p", ttl=-1)
    with pytest.raises(BadSignature):
        verify(token, "k", "p")
    assert verify(sign({"a": 1}, "k", "p", ttl=60), "k", "p") == {"a": 1}
    assert time.time() > 0


def test_portal_tokens_are_bound_to_kind_and_id():
    t = portal_token("a", "app_1", secret="x")
    assert read_portal_token(t, secret="x") == ("a", "app_1")
    assert portal_token("a", "app_2", secret="x") != t
    with pytest.raises(BadSignature):
        read_portal_token(t, secret="y")
    with pytest.raises(BadSignature):
        read_portal_token("not.a-token", secret="x")
    # a caller-context token is not a portal token, even with the same secret
    with pytest.raises(BadSignature):
        read_portal_token(sign({"k": "a", "id": "app_1"}, "x", "caller"), secret="x")


def test_caller_scope():
    hr = Caller(key_id="k", name="h", role="hr", divisions=("retail",))
    assert hr.can_see("retail") and not hr.can_see("logistics") and hr.division_filter() == ["retail"]
    admin = Caller(key_id="a", name="a", role="admin")
    assert admin.can_see("anything") and admin.division_filter() is None
    with pytest.raises(Forbidden):
        hr.require_role("admin")
    hr.require_role("hr", "admin")
    Caller.system("x").require_role("admin")


def test_normalisation():
    assert normalize_email("  Lin.Wei@Example.COM ") == "lin.wei@example.com"
    assert normalize_skill("  Customer   SERVICE ") == "customer service"


def test_commands_refuse_unknown_fields_and_name_the_field():
    good = {"title": "t", "division": "retail", "department": "d", "tier": "basic", "required_skills": ["A", "a "]}
    assert parse(NewRequisition, good).required_skills == ["A"]  # de-duplicated case-insensitively
    with pytest.raises(Invalid) as e:
        parse(NewRequisition, {**good, "id": "req_mine"})
    assert e.value.field == "id"
    with pytest.raises(Invalid) as e:
        parse(NewApplication, {"requisition_id": "r", "source": "web",
                               "candidate": {"name": "n", "email": "not-an-email", "years_experience": 1}})
    assert e.value.field == "candidate.email"
    with pytest.raises(Invalid) as e:
        parse(ScorecardIn, {"interviewer": "a", "ratings": {"x": 4.5}, "recommendation": "yes"})
    assert e.value.field == "ratings.x"


def test_cursor_round_trip_and_garbage():
    assert decode_cursor(encode_cursor("app_0001")) == "app_0001"
    assert decode_cursor(None) is None
    with pytest.raises(Invalid):
        decode_cursor("%%%")


def test_every_subscription_names_a_known_event():
    from shared.bus.topology import SUBSCRIPTIONS, queues

    for consumer, subs in SUBSCRIPTIONS.items():
        for producer, event_type in subs:
            assert (producer, event_type) in EVENT_MODELS, (consumer, producer, event_type)
    names = [q.name for q in queues()]
    assert len(names) == len(set(names))
    assert "screening.dlq" in names and "rpc-screening" in names and "notification.inbox" in names


def test_policies_repeat_each_queues_limits_and_match_only_service_queues():
    import re

    from shared.bus import topology

    policies = topology.policies()
    definitions = topology.definitions()
    assert definitions["policies"] == [{"vhost": "/", **p} for p in policies]
    for spec in topology.queues():
        matching = [p for p in policies if re.search(p["pattern"], spec.name)]
        if spec.name.endswith(".dlq"):
            assert matching == [], spec.name  # dead letters stay until someone looks: no limits
            continue
        assert len(matching) == 1, spec.name
        limits = {f"x-{k}": v for k, v in matching[0]["definition"].items()}
        assert limits == {k: v for k, v in spec.arguments.items() if k != "x-queue-type"}, spec.name
    # reply queues (nameko's, the gateway's, broker-named) and look-alikes are left alone
    for name in ("rpc.reply-gateway-1f2e", "rpc-sourcing-extra", "amq.gen-abc", "xsourcing.inbox", "sourcing.inbox2"):
        assert not any(re.search(p["pattern"], name) for p in policies), name
    assert {q["name"] for q in definitions["queues"]} == {q.name for q in topology.queues()}
    assert all(q["arguments"]["x-queue-type"] == "quorum" for q in definitions["queues"])


def test_domain_errors_survive_namekos_stringified_arguments():
    from shared.errors import NotFound

    # nameko sends exc_args through str(): None becomes "None"
    rebuilt = NotFound(*[str(a) for a in NotFound("gone", code="not_a_match").args])
    assert rebuilt.field is None and rebuilt.code == "not_a_match"
    assert rebuilt.as_dict() == {"code": "not_a_match", "message": "gone"}
    assert Invalid("x", field="limit").field == "limit"


def test_rate_limit_settings_parse_strictly(monkeypatch):
    from shared.config import Rate, Settings, parse_rate

    assert parse_rate("X", "20/100") == Rate(20, 100) and str(Rate(20, 100)) == "20/100"
    assert parse_rate("X", " 0.5/10 ") == Rate(0.5, 10)
    assert parse_rate("X", "off") is None and parse_rate("X", "OFF") is None
    for bad in ("", "20", "20/", "/100", "0/10", "20/0", "-1/5", "20/100/3", "1e3/5", "twenty/100", "20 / 100",
                "20/10.5", "on"):
        with pytest.raises(ValueError, match=r"^X=.*expected '<requests per second>/<burst>'.*'off'"):
            parse_rate("X", bad)

    monkeypatch.delenv("RATE_LIMIT_KEY", raising=False)
    monkeypatch.delenv("RATE_LIMIT_DIVISION", raising=False)
    defaults = Settings.from_env()
    assert (defaults.rate_limit_key, defaults.rate_limit_division) == (Rate(20, 100), Rate(100, 500))
    monkeypatch.setenv("RATE_LIMIT_KEY", "5/7")
    monkeypatch.setenv("RATE_LIMIT_DIVISION", "off")
    assert (Settings.from_env().rate_limit_key, Settings.from_env().rate_limit_division) == (Rate(5, 7), None)
    monkeypatch.setenv("RATE_LIMIT_DIVISION", "lots")
    with pytest.raises(ValueError, match="RATE_LIMIT_DIVISION='lots'"):
        Settings.from_env()


def test_numbers_and_times_in_commands_are_what_json_says_not_what_lax_parsing_makes_of_them():
    # found by the API fuzz test: `min_years: false` made a requisition, `expires_at: 0` a key expired in 1970
    good = {"title": "t", "division": "retail", "department": "d", "tier": "basic", "required_skills": ["a"]}
    assert parse(NewRequisition, {**good, "min_years": 2}).min_years == 2.0
    for bad in (False, "3", None):
        with pytest.raises(Invalid) as e:
            parse(NewRequisition, {**good, "min_years": bad})
        assert e.value.field == "min_years"
    candidate = {"name": "n", "email": "n@example.com", "years_experience": True}
    with pytest.raises(Invalid) as e:
        parse(NewApplication, {"requisition_id": "r", "source": "web", "candidate": candidate})
    assert e.value.field == "candidate.years_experience"
    assert parse(ApiKeyIn, {"name": "k", "role": "admin", "expires_at": "2030-01-01T00:00:00Z"}).expires_at.year == 2030
    for bad in (0, 1_900_000_000, True):
        with pytest.raises(Invalid) as e:
            parse(ApiKeyIn, {"name": "k", "role": "admin", "expires_at": bad})
        assert e.value.field == "expires_at" and "ISO-8601" in e.value.message
    with pytest.raises(Invalid) as e:
        parse(NewInterview, {"interviewers": ["a"], "scheduled_at": 1_800_000_000, "competencies": ["c"]})
    assert e.value.field == "scheduled_at"
    assert parse(ConsentIn, {"talent_pool": False}).talent_pool is False
    for bad in (0, 0.0, "false", None, True):
        with pytest.raises(Invalid) as e:
            parse(ConsentIn, {"talent_pool": bad})
        assert e.value.field == "talent_pool"


def test_keys_of_free_form_maps_are_bounded_like_the_strings_they_stand_for():
    application = {"requisition_id": "r", "source": "web",
                   "candidate": {"name": "n", "email": "n@example.com", "years_experience": 1}}
    assert parse(NewApplication, {**application, "answers": {"permit": True}}).answers == {"permit": True}
    with pytest.raises(Invalid) as e:
        parse(NewApplication, {**application, "answers": {"q" * 41: True}})
    assert e.value.field.startswith("answers") and "40" in e.value.message
    with pytest.raises(Invalid) as e:
        parse(NewApplication, {**application, "answers": {f"q{n}": True for n in range(21)}})
    assert e.value.field == "answers" and "20" in e.value.message
    card = {"interviewer": "a", "recommendation": "yes"}
    with pytest.raises(Invalid) as e:
        parse(ScorecardIn, {**card, "ratings": {"c" * 81: 3}})
    assert e.value.field.startswith("ratings") and "80" in e.value.message


def test_one_page_limit_for_every_list():
    from pydantic import TypeAdapter, ValidationError

    from shared.contracts import interview_feedback, queries
    from shared.contracts.common import MAX_PAGE, PAGE_LIMIT_MESSAGE, PageLimit, RpcPageLimit, page_limit
    from shared.errors import from_validation_error
    from shared.storage import MAX_PAGE as STORE_PAGE

    assert MAX_PAGE == 500 and page_limit(1) == 1 and page_limit(500) == 500
    for bad in (0, 501, -1, True, "5", None, 5.0):
        with pytest.raises(Invalid) as info:
            page_limit(bad)
        assert (info.value.field, info.value.code, str(info.value)) == ("limit", "validation_error",
                                                                         PAGE_LIMIT_MESSAGE)
    assert PAGE_LIMIT_MESSAGE == "limit: must be an integer from 1 to 500"
    adapter = TypeAdapter(PageLimit)  # what the gateway's `?limit=` uses
    assert adapter.validate_python(500) == 500
    for bad in (0, 501):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
    # Every list RPC's declaration takes the one type, and refuses in the same words as page_limit.
    assert queries.Limit is RpcPageLimit and STORE_PAGE is MAX_PAGE is queries.MAX_PAGE
    for bad in (0, 501, True, "5"):
        with pytest.raises(ValidationError) as info:
            interview_feedback.ListInterviewsArgs.model_validate({"limit": bad})
        assert (from_validation_error(info.value).message, from_validation_error(info.value).field) == (
            PAGE_LIMIT_MESSAGE, "limit")


def test_domain_errors_name_no_http_status_and_the_gateway_maps_each_kind_in_one_place():
    import ast
    from pathlib import Path

    from gateway.errors import http_status
    from shared.errors import ERRORS_BY_NAME, Conflict, DomainError, NotFound

    assert all(not hasattr(cls, "status") for cls in (DomainError, *ERRORS_BY_NAME.values()))
    statuses = {name: http_status(cls("x")) for name, cls in ERRORS_BY_NAME.items()}
    assert statuses == {"NotFound": 404, "Conflict": 409, "Invalid": 422, "Forbidden": 403, "Unauthenticated": 401}

    class NoSuchStep(NotFound):
        pass

    assert http_status(NoSuchStep("x")) == 404 and http_status(DomainError("x")) == 400
    assert Conflict("x", code="invalid_transition").as_dict() == {"code": "invalid_transition", "message": "x"}
    # Domains refuse with the shared family: no refusal class of their own, nothing of HTTP. (A broken
    # template file is a deployment fault that fails the handler, not an answer to anyone: not a refusal.)
    faults = {"TemplateError"}
    root = Path(__file__).resolve().parents[2]
    for path in sorted(root.glob("services/*/domain.py")):
        tree = ast.parse(path.read_text())
        own = [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)
               and any(isinstance(b, ast.Name) and b.id.endswith(("Error", "Exception", "Violation")) for b in n.bases)]
        assert set(own) <= faults, f"{path}: {own}"
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and m.split(".")[0] in ("fastapi", "starlette", "gateway", "http")}, path


def test_a_policy_delay_is_the_answer_when_usable_else_the_contract_default():
    from shared.contracts.commands import NotificationPolicy
    from shared.policy import policy_seconds

    default = NotificationPolicy().approval_sla
    assert policy_seconds({"approval_sla": 60}, "approval_sla") == 60
    assert policy_seconds({"approval_sla": 0}, "approval_sla") == 0
    assert policy_seconds(NotificationPolicy(approval_sla=60), "approval_sla") == 60  # the declared answer
    for unusable in (None, "down", {}, {"approval_sla": -1}, {"approval_sla": True}, {"approval_sla": "60"},
                     {"approval_sla": 60.5}):
        assert policy_seconds(unusable, "approval_sla") == default
    assert policy_seconds(None, "reuse_interview_within") == NotificationPolicy().reuse_interview_within
