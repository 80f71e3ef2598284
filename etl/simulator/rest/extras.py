"""Read endpoints other Zoom clients call and zoom-etl does not: registrants, registration questions, polls,
poll results, Q&A, panelists and tracking sources of meetings and webinars.

Each answer is derived from the account model, never stored in it, so serving these changes nothing the
other endpoints return for a seed: registrants are the people who registered for the held instances
(a meeting's: its participants' registrant ids, so none in the generated accounts, where no meeting
takes registration; a webinar's: ``Account.webinar_registrants``); polls, Q&A,
panelists and tracking sources are drawn from an RNG named after the meeting or instance (its own stream,
not the generator's). Lookups fail as the neighbouring endpoints do (3001 for an unknown or expired id).
"""

from __future__ import annotations

import random
from datetime import timedelta

from etl.simulator.model import Meeting, MeetingInstance, Participant, Registrant, WebinarInstance
from etl.simulator.rest.common import (
    Request,
    envelope,
    full_name,
    iso,
    meeting_definition,
    meeting_instance,
    registrant_item,
    webinar_definition,
    webinar_instance,
)
from etl.simulator.rest.errors import ApiError

REGISTRANT_STATUSES = ("approved", "pending", "denied")
QUESTIONS = [
    {"field_name": "last_name", "required": True},
    {"field_name": "org", "required": False},
    {"field_name": "job_title", "required": False},
]
POLL_QUESTIONS = (
    ("How useful was this session?", ("Very", "Somewhat", "Not really")),
    ("Which topic should come next?", ("Roadmap", "Hiring", "Budget", "Security")),
    ("Did the recording start on time?", ("Yes", "No")),
)
QA_QUESTIONS = (
    ("Will the slides be shared?", "Yes, after the session."),
    ("Is there a recording?", "It will be in the cloud recordings."),
    ("When is the next one?", ""),
)


def _status(req: Request) -> str:
    status = req.query.get("status", "") or "approved"
    if status not in REGISTRANT_STATUSES:
        raise ApiError(400, 300, f"Invalid field: status {status!r}; expected approved, pending or denied.")
    return status


def _meeting_registrants(req: Request, meeting: Meeting) -> list[Registrant]:
    """Who registered: each participant of a held instance that carries a registrant id, once."""
    seen: dict[str, Registrant] = {}
    for instance in req.account.instances_of_meeting(meeting.id, req.now):
        for p in req.account.participants(instance, req.now):
            if p.registrant_id and p.registrant_id not in seen:
                first, _, last = p.name.partition(" ")
                email = p.user_email or f"{p.registrant_id.lower()}@guest.example.com"
                seen[p.registrant_id] = Registrant(
                    p.registrant_id,
                    email,
                    first,
                    last,
                    "approved",
                    instance.start_time - timedelta(days=1),
                    True,
                )
    return sorted(seen.values(), key=lambda r: (r.create_time, r.id))


def meeting_registrants(req: Request) -> tuple[int, dict]:
    meeting = meeting_definition(req)
    status = _status(req)
    found = [r for r in _meeting_registrants(req, meeting) if r.status == status]
    page = req.page(found)
    items = [{**registrant_item(r, meeting.join_url), "custom_questions": []} for r in page.items]
    return 200, envelope(page, "registrants", items, legacy=True)


def webinar_registrants(req: Request) -> tuple[int, dict]:
    webinar = webinar_definition(req)
    status = _status(req)
    seen: dict[str, Registrant] = {}
    for instance in req.account.webinar_instances_of(webinar.id, req.now):
        for r in req.account.webinar_registrants(instance, req.now):
            seen.setdefault(r.id, r)
    found = sorted((r for r in seen.values() if r.status == status), key=lambda r: (r.create_time, r.id))
    page = req.page(found)
    items = [{**registrant_item(r, webinar.join_url), "custom_questions": []} for r in page.items]
    return 200, envelope(page, "registrants", items, legacy=True)


def meeting_questions(req: Request) -> tuple[int, dict]:
    meeting_definition(req)
    return 200, {"questions": QUESTIONS, "custom_questions": []}


def webinar_questions(req: Request) -> tuple[int, dict]:
    webinar_definition(req)
    custom = [{"title": "How did you hear about us?", "type": "short", "required": False, "answers": []}]
    return 200, {"questions": QUESTIONS, "custom_questions": custom}


def _polls(key: str) -> list[dict[str, object]]:
    rng = random.Random(f"polls:{key}")
    polls = []
    for n in range(rng.choice((0, 0, 1, 2))):
        chosen = rng.sample(POLL_QUESTIONS, rng.randint(1, 2))
        questions = [
            {"name": name, "type": "single", "answer_required": False, "answers": list(answers)}
            for name, answers in chosen
        ]
        poll_id = f"{rng.getrandbits(64):016x}"[:22]
        polls.append(
            {
                "id": poll_id,
                "status": "ended",
                "anonymous": False,
                "poll_type": 1,
                "title": f"Poll {n + 1}",
                "questions": questions,
            }
        )
    return polls


def meeting_polls(req: Request) -> tuple[int, dict]:
    polls = _polls(f"meeting:{meeting_definition(req).id}")
    return 200, {"total_records": len(polls), "polls": polls}


def webinar_polls(req: Request) -> tuple[int, dict]:
    polls = _polls(f"webinar:{webinar_definition(req).id}")
    return 200, {"total_records": len(polls), "polls": polls}


def _answers(key: str, polls: list[dict[str, object]], people: list[Participant]) -> list[dict[str, object]]:
    """Poll results: some signed-in participants answered each question of each (definition's) poll."""
    rng = random.Random(f"poll-results:{key}")
    out: list[dict[str, object]] = []
    for p in sorted({p.user_email: p for p in people if p.user_email}.values(), key=lambda p: p.user_email):
        details = []
        for poll in polls:
            for q in poll["questions"]:  # type: ignore[attr-defined]
                if rng.random() < 0.6:
                    details.append(
                        {
                            "polling_id": poll["id"],
                            "question": q["name"],
                            "answer": rng.choice(q["answers"]),
                            "date_time": iso(p.join_time + timedelta(minutes=5)),
                        }
                    )
        if details:
            out.append({"name": p.name, "email": p.user_email, "question_details": details})
    return out


def _qa(key: str, people: list[Participant]) -> list[dict[str, object]]:
    rng = random.Random(f"qa:{key}")
    out: list[dict[str, object]] = []
    for p in sorted({p.user_email: p for p in people if p.user_email}.values(), key=lambda p: p.user_email):
        if rng.random() < 0.2:
            question, answer = rng.choice(QA_QUESTIONS)
            out.append(
                {
                    "name": p.name,
                    "email": p.user_email,
                    "question_details": [{"question": question, "answer": answer}],
                }
            )
    return out


def _past(i: MeetingInstance | WebinarInstance, questions: list[dict[str, object]]) -> dict[str, object]:
    return {"id": i.id, "uuid": i.uuid, "start_time": iso(i.start_time), "questions": questions}


def past_meeting_polls(req: Request) -> tuple[int, dict]:
    i = meeting_instance(req)
    polls = _polls(f"meeting:{i.id}")
    return 200, _past(i, _answers(i.uuid, polls, req.account.participants(i, req.now)))


def past_webinar_polls(req: Request) -> tuple[int, dict]:
    i = webinar_instance(req)
    polls = _polls(f"webinar:{i.id}")
    return 200, _past(i, _answers(i.uuid, polls, req.account.webinar_participants(i, req.now)))


def past_meeting_qa(req: Request) -> tuple[int, dict]:
    i = meeting_instance(req)
    return 200, _past(i, _qa(i.uuid, req.account.participants(i, req.now)))


def past_webinar_qa(req: Request) -> tuple[int, dict]:
    i = webinar_instance(req)
    return 200, _past(i, _qa(i.uuid, req.account.webinar_participants(i, req.now)))


def webinar_panelists(req: Request) -> tuple[int, dict]:
    """Panelists: up to three active users of the account other than the host, chosen per webinar."""
    webinar = webinar_definition(req)
    others = [u for u in req.account.users(req.now, "active") if u.id != webinar.host_id]
    rng = random.Random(f"panelists:{webinar.id}")
    chosen = rng.sample(others, min(len(others), rng.randint(0, 3)))
    panelists = [
        {"id": u.id, "email": u.email, "name": full_name(u), "join_url": f"{webinar.join_url}?tk=p{u.pmi}"}
        for u in sorted(chosen, key=lambda u: u.email)
    ]
    return 200, {"total_records": len(panelists), "panelists": panelists}


def webinar_tracking_sources(req: Request) -> tuple[int, dict]:
    webinar = webinar_definition(req)
    registered = sum(i.registrants_count for i in req.account.webinar_instances_of(webinar.id, req.now))
    rng = random.Random(f"tracking:{webinar.id}")
    names = rng.sample(("Newsletter", "LinkedIn", "Website"), rng.randint(0, 2))
    sources = []
    for n, name in enumerate(names):
        count = registered // (n + 2)
        sources.append(
            {
                "id": f"{rng.getrandbits(64):016x}",
                "source_name": name,
                "tracking_url": f"{webinar.join_url}?tracking_source={n + 1}",
                "registration_count": count,
                "visitor_count": count * 3,
            }
        )
    return 200, {"total_records": len(sources), "tracking_sources": sources}
