"""Named exceptions. Each one speaks to the user: what is wrong, where, and how to fix it."""

from __future__ import annotations


class WorkbookError(Exception):
    """An error the user can fix; printed on one screen without a traceback by the CLI.

    Args:
        message (str): What is wrong, naming the file, key or line.
        fix (str): What to do about it.
    """

    def __init__(self, message: str, *, fix: str = "") -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"{message}\n  fix: {fix}" if fix else message)


class ParamsError(WorkbookError):
    """A round file, profile or overlay is missing or malformed."""


class DatasetError(WorkbookError):
    """A dataset (its data.yaml or its folders) cannot be used."""


class WeightsError(WorkbookError):
    """Model weights cannot be found, downloaded or built."""


class WeightsFromNotRunError(WorkbookError):
    """A round starts from another round's weights (its ``model.from``), but that round has not run yet."""


class PredictError(WorkbookError):
    """A prediction source or option cannot be used."""


class RoundFailedError(WorkbookError):
    """A round's notebook raised an error; its executed notebook shows where."""


class RoundChangedError(WorkbookError):
    """A finished round would be trained again with other inputs (needs ``--force``)."""


class BusyError(WorkbookError):
    """Another live process is running the same round, prediction job, merge or journal."""


class TruthError(WorkbookError):
    """A video's ground truth (MOTChallenge ``gt.txt``, ``classes.txt``, ``counts.csv``) cannot be used."""


class DeploymentError(WorkbookError):
    """A round cannot be exported, or its export cannot be used (not exported, damaged, a package missing)."""


class SweepError(WorkbookError):
    """A sweep round cannot run its trials (its backend is missing or unreachable, its objective unknown)."""


class RayClusterError(WorkbookError):
    """Ray is not installed, or the Ray cluster named does not answer or cannot be attached to."""
