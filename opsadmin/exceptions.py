"""Domain errors of the ops console."""

from rdk.exceptions import RdkError


class OpsError(RdkError):
    code = "ops_error"


class EnrolmentError(OpsError):
    code = "enrolment_error"


class UserNotFound(OpsError):
    code = "user_not_found"


class SessionScopeError(OpsError):
    code = "session_scope"


class IncidentError(OpsError):
    code = "incident_error"


class IncidentTransitionRefused(IncidentError):
    code = "incident_transition"


class SnapshotError(OpsError):
    code = "snapshot_error"


class TagInvalid(OpsError):
    code = "tag_invalid"


class JobError(OpsError):
    code = "job_error"
