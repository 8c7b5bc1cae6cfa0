"""Errors the domain raises. Each carries a stable code that the HA glue maps to a
translated message, plus placeholders that never hold names or secret values."""

from __future__ import annotations

from typing import Any


class CoreError(Exception):
    """Base class: ``code`` is a translation key, ``placeholders`` fill its message."""

    code = "core_error"

    def __init__(self, message: str = "", **placeholders: str) -> None:
        self.placeholders = {k: str(v) for k, v in placeholders.items()}
        super().__init__(message or self.code)

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses have their own __init__ signatures: rebuild from state, so an
        # error raised in the face worker process arrives whole (code, placeholders).
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(cls: type[CoreError], args: tuple[Any, ...], state: dict[str, Any]) -> CoreError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class NotFoundError(CoreError):
    code = "not_found"


class UnknownUnitError(NotFoundError):
    code = "unknown_unit"


class UnknownPersonError(NotFoundError):
    code = "unknown_person"


class UnknownCredentialError(NotFoundError):
    code = "unknown_credential"


class UnknownGateError(NotFoundError):
    code = "unknown_gate"


class DuplicateError(CoreError):
    code = "duplicate"


class DuplicateUnitError(DuplicateError):
    code = "duplicate_unit"


class DuplicatePersonError(DuplicateError):
    code = "duplicate_person"


class DuplicateCredentialError(DuplicateError):
    code = "duplicate_credential"


class InvalidValueError(CoreError):
    """A credential value or field that fails validation."""

    code = "invalid_value"


class InvalidCredentialValueError(InvalidValueError):
    code = "invalid_credential_value"


class PinTooShortError(InvalidValueError):
    """A PIN shorter than the estate's minimum (the placeholder is the minimum, never
    the PIN or its length)."""

    code = "pin_too_short"


class InvalidScheduleError(InvalidValueError):
    code = "invalid_schedule"

    def __init__(self, why: str) -> None:
        # ``why`` is ours (never user data): safe to show, and it makes HA format the
        # message, so the example's escaped braces render as single ones.
        super().__init__(f"invalid schedule: {why}", why=why)


class InvalidValidityError(InvalidValueError):
    code = "invalid_validity"


class VisitorPassTooLongError(InvalidValueError):
    code = "visitor_pass_too_long"


class InvalidIdError(InvalidValueError):
    code = "invalid_id"


class CredentialAlreadyRevokedError(CoreError):
    code = "credential_already_revoked"


class UnitInUseError(CoreError):
    code = "unit_in_use"


class StoreError(CoreError):
    """The database cannot be used."""

    code = "database_error"


class StoreUnavailableError(StoreError):
    code = "database_unavailable"


class StoreCorruptError(StoreError):
    code = "database_corrupt"


class StoreTooNewError(StoreError):
    code = "database_too_new"


class ConsentRequiredError(CoreError):
    """No active consent for face data: enrollment is refused."""

    code = "consent_required"


class FaceDuplicateError(CoreError):
    """The face already belongs to another enrolled person (1:N check at enrollment)."""

    code = "face_duplicate"


class UnknownStrangerError(NotFoundError):
    """No unknown-face cluster with that id (expired, merged or already assigned)."""

    code = "unknown_stranger"


class UnknownSnapshotError(NotFoundError):
    """No snapshot kept of that stranger (the option is off, it expired, or none yet)."""

    code = "unknown_stranger_snapshot"


class FaceUnavailableError(CoreError):
    """Face recognition is not running (models missing or still loading)."""

    code = "face_unavailable"


class FaceEngineFailedError(FaceUnavailableError):
    """The face engine failed to load for a reason no other code names (a broken
    install, a crash in the models): face access stays off until the estate reloads."""

    code = "face_engine_failed"


class UnknownDeviceError(NotFoundError):
    code = "unknown_device"


class DeviceInUseError(CoreError):
    """A gate's relay is this device: removing it would leave the gate unable to open."""

    code = "device_in_use"


class UnknownAlertError(NotFoundError):
    code = "unknown_alert"


class AlertAlreadyResolvedError(CoreError):
    code = "alert_already_resolved"


class InvalidRuleParameterError(InvalidValueError):
    """A rule parameter outside its range (e.g. a negative number of hours)."""

    code = "invalid_rule_parameter"


class InvalidReadingError(InvalidValueError):
    """A sensor reading that cannot be real (e.g. a body temperature of 80 °C)."""

    code = "invalid_reading"


class EstateClosedError(CoreError):
    """The estate was unloaded (or Home Assistant is stopping): its database is closed."""

    code = "estate_closed"
