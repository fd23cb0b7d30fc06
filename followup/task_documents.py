"""What a task for a person shows, recovery task or proactive one: its title and assignee, its
due time with the time left (negative when overdue), and how it was completed."""

from datetime import datetime

from followup.models import ProactiveTask, RecoveryTask


def task_document(task: RecoveryTask | ProactiveTask, now: datetime) -> dict:
    """A task with the time left against its due time (negative when overdue)."""
    return {
        "id": task.id,
        "title": task.title,
        "assignee": task.assignee,
        "due_at": task.due_at.isoformat(),
        "seconds_left": None if task.completed_at else int((task.due_at - now).total_seconds()),
        "overdue": task.completed_at is None and task.due_at < now,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "completed_by": task.completed_by,
        "outcome": task.outcome,
    }
