"""Who may sit on an interview panel: the one place the rule is kept (the interviews issue).

A panel names known interviewers of the interview's division only: today the directory of interviewers is the
gateway's API keys (role `interviewer`, active, with the division among theirs; gateway/keys.py), so the
gateway checks a panel before it asks interview_feedback to schedule or re-staff an interview. An unknown
name is a 422 naming `interviewers`, and nothing is stored. The same look-up gives each member's email (the
key's `email`), passed on as the RPC's `panel` so invitations and reminders can reach the panel: the one seam
issue 20's users replace.
"""

from __future__ import annotations

from fastapi import Request

from gateway.deps import gw
from shared.errors import Invalid


async def check_panel(request: Request, division: str, names: list[str]) -> list[dict]:
    """The panel as `[{name, email}]` in the order given, once every name is a known interviewer."""
    known = await gw(request).keys.interviewers_of(division, names)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise Invalid(f"interviewers: {', '.join(unknown)} is not a known interviewer of division {division} "
                      "(an interviewer's API key of that division)", field="interviewers")
    return [{"name": n, "email": known[n]} for n in names]
