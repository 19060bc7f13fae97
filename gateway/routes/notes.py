"""Staff notes on applications (issue 20): internal (never in the portal or a candidate's email), kept by
sourcing with the application; their mentions resolved here against the users (gateway/notes.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic_core import to_jsonable_python

from gateway.audit import Read, personal_fields
from gateway.deps import AnswerRoute, CallerOf, IdemKey, Rpc, gw, idempotent_answer, ok
from gateway.notes import resolve
from shared.contracts import commands as cmd
from shared.contracts import sourcing

router = APIRouter(route_class=AnswerRoute, tags=["applications"])


@router.post("/v1/applications/{application_id}/notes", status_code=201, responses=ok(sourcing.Note, 201))
async def add_note(request: Request, rpc: Rpc, application_id: str, body: cmd.NoteIn,
                   caller: CallerOf[sourcing.AddNote], idem: IdemKey = None):
    """An internal note (staff of the application's division). `@` and a user's email or id mentions them:
    users of the application's division are listed in `mentions` and notified (email, the division's chat);
    others are neither."""
    async def produce():
        # The application first: its division decides who may be mentioned (and a 404 sends nothing).
        app = await rpc(sourcing.GetApplication, caller, request, application_id=application_id)
        mentions = await resolve(gw(request).users, body.body, app.division)
        note = await rpc(sourcing.AddNote, caller, request, application_id=application_id, body=body.body,
                         mentions=mentions)
        return JSONResponse(status_code=201, content=to_jsonable_python(note))
    return await idempotent_answer(request, caller, idem, body, produce)


@router.get("/v1/applications/{application_id}/notes", responses=ok(sourcing.NoteList))
async def list_notes(request: Request, rpc: Rpc, application_id: str, caller: CallerOf[sourcing.ListNotes]):
    found = await rpc(sourcing.ListNotes, caller, request, application_id=application_id)
    await gw(request).audit.record(request, caller, [
        Read(n.candidate_id, n.division, personal_fields("note", n.model_dump())) for n in found.items])
    return found
