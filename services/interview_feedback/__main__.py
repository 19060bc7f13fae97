import eventlet

eventlet.monkey_patch()

from services.interview_feedback.service import InterviewFeedbackService  # noqa: E402
from shared.bus.runner import run_service  # noqa: E402

run_service(InterviewFeedbackService)
