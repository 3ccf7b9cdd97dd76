"""Governance actions (hold, resume, model change, decommission, the early stages): the request with who
asked and why, what it did, and the questions other steps ask about them (is this model on hold? which
Deployed version does this new version challenge?).

Each action row is chained in the audit chain of its model (of its use case when it is about a use case),
when it is requested and again when it completes, in the transaction that writes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from model_governance.exceptions import InvalidInputError, NotFoundError
from model_governance.inventory.audit import model_chain, use_case_chain
from model_governance.inventory.base import InventoryBase, in_registry, require, status_events
from model_governance.inventory.models import (
    ActionKind,
    ActionState,
    GovernanceAction,
    Model,
    ModelGroup,
    utcnow,
)
from model_governance.lifecycle import ON_HOLD, GovernanceStatus

_HOLD_VALUES = frozenset(s.value for s in ON_HOLD)
_HOLD_OR_RESUME = (ActionKind.HOLD.value, ActionKind.RESUME.value)


def _action_chain(action: GovernanceAction) -> str:
    if action.model_id is not None:
        return model_chain(action.model_id)
    return use_case_chain(int(action.use_case_id or 0))


class GovernanceActions(InventoryBase):
    """Governance actions requested and done, and the holds and changes they leave in force."""

    def record_action_requested(
        self,
        *,
        request_key: str,
        action: ActionKind | str,
        requested_by: str,
        reason: str,
        model_id: int | None = None,
        use_case_id: int | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
    ) -> tuple[GovernanceAction, bool]:
        """Record an action request (idempotent by ``request_key``); ``(action, created)``."""
        kind = ActionKind(action)
        if (model_id is None) == (use_case_id is None):
            raise InvalidInputError(f"A governance action ({kind.value}) is about one model or one use case.")
        with self._transaction() as session:
            existing = session.scalar(
                select(GovernanceAction).where(GovernanceAction.request_key == request_key)
            )
            if existing is not None:
                return existing, False
            row = GovernanceAction(
                request_key=require(request_key, "request key"),
                action=kind.value,
                model_id=model_id,
                use_case_id=use_case_id,
                requested_by=require(requested_by, "requested_by (who asked)"),
                reason=require(reason, "reason"),
                state=ActionState.REQUESTED.value,
                dag_id=dag_id,
                run_id=run_id,
                detail="",
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            link = self._chain_link(session, _action_chain(row), "governance_action", "requested", row)
        self._anchor(link)
        return row, True

    def complete_action(
        self,
        action_id: int,
        *,
        failed: bool = False,
        detail: str = "",
        from_status: str | None = None,
        to_status: str | None = None,
    ) -> GovernanceAction:
        """Record what the action did (or why it failed); a finished action is returned unchanged."""
        with self._transaction() as session:
            row = self._get(session, GovernanceAction, action_id, "Governance action")
            if row.state == ActionState.DONE.value:
                return row  # a retry of a finished action (a failed one may be tried again)
            row.state = (ActionState.FAILED if failed else ActionState.DONE).value
            row.detail = detail[:8000]
            row.from_status = from_status or row.from_status
            row.to_status = to_status or row.to_status
            row.completed_at = utcnow()
            session.flush()
            link = self._chain_link(
                session, _action_chain(row), "governance_action", "failed" if failed else "done", row
            )
        self._anchor(link)
        return row

    def governance_action(self, request_key: str) -> GovernanceAction | None:
        with self._transaction() as session:
            return session.scalar(select(GovernanceAction).where(GovernanceAction.request_key == request_key))

    def governance_actions(
        self, *, model_id: int | None = None, use_case_id: int | None = None, limit: int = 100
    ) -> Sequence[GovernanceAction]:
        """Actions about a model (as champion too) or a use case, newest first."""
        query = select(GovernanceAction).order_by(GovernanceAction.id.desc()).limit(limit)
        if model_id is not None:
            query = query.where(
                or_(GovernanceAction.model_id == model_id, GovernanceAction.challenger_model_id == model_id)
            )
        if use_case_id is not None:
            query = query.where(GovernanceAction.use_case_id == use_case_id)
        with self._transaction() as session:
            return session.scalars(query).all()

    # -- holds --------------------------------------------------------------------------------------------

    def current_hold(
        self, *, model_id: int | None = None, use_case_id: int | None = None
    ) -> GovernanceAction | None:
        """The hold in force on a model (its status is On Hold, or its use case is held) or on a use case
        (its latest hold/resume action is a hold); None when nothing is held."""
        with self._transaction() as session:
            model = None
            if model_id is not None:
                model = self._model(session, model_id)
                use_case_id = session.scalar(
                    select(ModelGroup.use_case_id).where(ModelGroup.id == model.model_group_id)
                )
            use_case_hold = (
                self._latest_hold_or_resume(session, use_case_id=use_case_id) if use_case_id else None
            )
            if use_case_hold is not None and use_case_hold.action == ActionKind.HOLD.value:
                return use_case_hold
            if model is None or model.status not in _HOLD_VALUES:
                return None
            own = self._latest_hold_or_resume(session, model_id=model.id)
            return own if own is not None and own.action == ActionKind.HOLD.value else None

    @staticmethod
    def _latest_hold_or_resume(
        session: Session, *, model_id: int | None = None, use_case_id: int | None = None
    ) -> GovernanceAction | None:
        query = select(GovernanceAction).where(
            GovernanceAction.action.in_(_HOLD_OR_RESUME),
            GovernanceAction.state == ActionState.DONE.value,
        )
        if model_id is not None:
            query = query.where(GovernanceAction.model_id == model_id)
        else:
            query = query.where(
                GovernanceAction.use_case_id == use_case_id, GovernanceAction.model_id.is_(None)
            )
        return session.scalar(query.order_by(GovernanceAction.id.desc()).limit(1))

    def models_of_use_case(self, use_case_id: int) -> Sequence[Model]:
        with self._transaction() as session:
            return session.scalars(
                select(Model)
                .join(ModelGroup, Model.model_group_id == ModelGroup.id)
                .where(ModelGroup.use_case_id == use_case_id)
                .order_by(Model.id)
            ).all()

    # -- model changes: champion and challenger -----------------------------------------------------------

    def link_challenger(self, model: int | str | Model) -> GovernanceAction | None:
        """The model change a new version belongs to, linked once: the newest done ``start_change`` of a
        lower version of its group not linked to another version yet (idempotent). None: not a change."""
        with self._transaction() as session:
            challenger = self._model(session, model)
            linked = session.scalar(
                select(GovernanceAction).where(GovernanceAction.challenger_model_id == challenger.id)
            )
            if linked is not None:
                return linked
            change = session.scalar(
                select(GovernanceAction)
                .join(Model, GovernanceAction.model_id == Model.id)
                .where(
                    GovernanceAction.action == ActionKind.START_CHANGE.value,
                    GovernanceAction.state == ActionState.DONE.value,
                    GovernanceAction.challenger_model_id.is_(None),
                    Model.model_group_id == challenger.model_group_id,
                    Model.version < challenger.version,
                )
                .order_by(GovernanceAction.id.desc())
                .limit(1)
            )
            if change is None:
                return None
            change.challenger_model_id = challenger.id
            session.flush()
            link = self._chain_link(session, _action_chain(change), "governance_action", "linked", change)
        self._anchor(link)
        return change

    def champion_of(self, model: int | str | Model) -> Model | None:
        """The Deployed version (when the change started) that ``model`` challenges, or None."""
        with self._transaction() as session:
            challenger = self._model(session, model)
            champion_id = session.scalar(
                select(GovernanceAction.model_id).where(
                    GovernanceAction.challenger_model_id == challenger.id,
                    GovernanceAction.action == ActionKind.START_CHANGE.value,
                )
            )
            return self._model(session, champion_id) if champion_id is not None else None

    def changing_champions(self, business_entity: str) -> set[str]:
        """Package ARNs (lower case) of a registry's versions in Model Change in Progress by a done
        ``start_change``: still served while their challenger is built, so no endpoint finding."""
        query = in_registry(
            select(Model.package_arn)
            .join(GovernanceAction, GovernanceAction.model_id == Model.id)
            .where(
                Model.status == GovernanceStatus.MODEL_CHANGE_IN_PROGRESS.value,
                GovernanceAction.action == ActionKind.START_CHANGE.value,
                GovernanceAction.state == ActionState.DONE.value,
            ),
            business_entity,
        )
        with self._transaction() as session:
            return {arn.lower() for arn in session.scalars(query)}

    def status_before_hold(self, model: int | str | Model) -> GovernanceStatus:
        """The status a held model left for its hold (where a resume takes it back)."""
        with self._transaction() as session:
            current = self._model(session, model)
            if current.status not in _HOLD_VALUES:
                raise InvalidInputError(
                    f"Model {current.package_arn!r} is {current.status!r}, not on hold; nothing to resume."
                )
            for event in reversed(status_events(session, current.id)):
                if event.to_status == current.status and event.from_status:
                    return GovernanceStatus(event.from_status)
        raise NotFoundError(f"Model {current.package_arn!r}: no status event shows where its hold began.")
