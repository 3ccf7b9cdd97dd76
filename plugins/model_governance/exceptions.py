"""The one exception hierarchy of the model governance package.

Every error says what went wrong, names the input at fault and says what to do about it. Callers
catch the branch they can act on::

    ModelGovernanceError                 anything raised on purpose by this package
    |-- ConfigurationError               a deployment setting is missing or malformed
    |-- InvalidInputError                bad input from a user, a DAG param, a file or a record
    |   |-- UnknownStatusError           a governance status / SageMaker stage pair not in the table
    |   |-- IllegalTransitionError       a status change the life cycle graph does not allow
    |   |-- DuplicateUseCaseError        a use case name already taken within a business entity
    |   |-- InvalidArnError              an ARN of the wrong shape
    |   |-- RiskTestInputError           risk test data or schema that cannot be tested
    |   `-- PinnedDataChangedError       data a snapshot pinned is gone or changed since
    |-- NotFoundError                    a record the caller named does not exist
    |-- ApprovalRejectedError            a reviewer rejected an approval (carries the decision)
    |-- ApprovalMissingError             a gated step found no verified approval of its run
    |-- RiskTestJobError                 the standard risk tests failed to run, re-runs used up
    |-- ConflictError                    a concurrent writer got there first; re-read and retry
    |   |-- StatusConflictError          the model's status changed under the caller
    |   `-- ArchivedModelCardError       the package's model card is Archived: final
    `-- ExternalServiceError             a call to AWS or Jira failed after its retries
        |-- RegistryError                SageMaker Model Registry, S3, SQS
        `-- JiraError                    Jira REST

Domain modules raise these without importing Airflow; the Airflow surface lets them propagate so the
task fails with the message below.
"""

from __future__ import annotations


class ModelGovernanceError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(ModelGovernanceError):
    """A deployment setting is missing or malformed; the message names the setting and its expected form."""


class InvalidInputError(ModelGovernanceError, ValueError):
    """Input that cannot be accepted; nothing was written."""


class UnknownStatusError(InvalidInputError):
    """A governance status, or SageMaker (Stage, StageStatus) pair, that the mapping table does not know."""


class IllegalTransitionError(InvalidInputError):
    """A status change the model life cycle does not allow from the model's current status."""


class DuplicateUseCaseError(InvalidInputError):
    """A use case with this name already exists in the business entity."""


class InvalidArnError(InvalidInputError):
    """An ARN that is not of the expected resource type or shape."""


class RiskTestInputError(InvalidInputError):
    """Risk test data, schema or thresholds that cannot be tested as given."""


class PinnedDataChangedError(InvalidInputError):
    """Data a snapshot pinned is gone or changed (version deleted, SHA-256 differs): nothing is tested on
    it. Not transient: restore the version, or register a new version / take a new snapshot."""


class NotFoundError(ModelGovernanceError, LookupError):
    """A record named by the caller does not exist."""


class ConflictError(ModelGovernanceError):
    """Another writer changed the record first. Re-read it and decide again; nothing was lost."""


class StatusConflictError(ConflictError):
    """The model's status changed between reading it and writing the new one."""


class ArchivedModelCardError(ConflictError):
    """The package's model card is Archived: SageMaker refuses any change to it. Register a new version."""


class ModelCardTooLargeError(InvalidInputError):
    """The model card content would exceed SageMaker's 100,000 characters; shorten its sections."""


class ExternalServiceError(ModelGovernanceError):
    """A call to an external service failed after the retries it is allowed."""


class RegistryError(ExternalServiceError):
    """SageMaker Model Registry, S3 or SQS answered with an error."""


class JiraError(ExternalServiceError):
    """Jira answered with an error."""


class ApprovalRejectedError(ModelGovernanceError):
    """A reviewer rejected the approval. ``decision`` (a dict: issue_key, status, decided_by, decided_at)
    says who and when; the DAG stops here unless it asked to branch on rejection."""

    def __init__(self, message: str, decision: dict[str, object]) -> None:
        super().__init__(message)
        self.decision = decision


class ApprovalMissingError(ModelGovernanceError):
    """A step that acts on approvals (the status a gate grants) found no verified approval recorded for its
    run: the gate was walked around (an approval task marked success by hand, an edited XCom). Nothing was
    written; clear the approval task so it waits for the Jira decision."""


class RiskTestJobError(ModelGovernanceError):
    """The standard risk tests could not run and their re-runs are used up; fix the cause, start a new run."""
